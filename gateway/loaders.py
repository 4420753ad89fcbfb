"""DataLoaders: one batched service call per kind of record per query level.

Each loader is made on first use: a request builds only the loaders its fields need.

A loader lives for one GraphQL request; listing 50 shops with their scores costs one call
for the shops and one for the scores, not 51.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from strawberry.dataloader import DataLoader

from gateway.clients import ServiceClient

Record = dict[str, Any]
MAX_BATCH = 100
#: Query parameters frozen into a hashable DataLoader key (lists become tuples).
FrozenParams = tuple[tuple[str, str | int | tuple[str, ...]], ...]


def _by(key: str, records: Sequence[Record], wanted: Sequence[str]) -> list[Record | None]:
    found = {record[key]: record for record in records}
    return [found.get(k) for k in wanted]


@dataclass
class ScoringLoaders:
    """Batched reads from the scoring service."""

    client: ServiceClient

    @cached_property
    def shop(self) -> DataLoader[str, Record | None]:
        """Shops by id, with their current scores."""
        return DataLoader(self._shops, max_batch_size=MAX_BATCH)

    @cached_property
    def shop_summary(self) -> DataLoader[str, Record | None]:
        """Shops by id with the summary of their current scores only (no read of the
        assessments): for selections the summary answers."""
        return DataLoader(self._shop_summaries, max_batch_size=MAX_BATCH)

    @cached_property
    def current_score(self) -> DataLoader[str, Record | None]:
        """Current assessments by shop id."""
        return DataLoader(self._current_scores, max_batch_size=MAX_BATCH)

    @cached_property
    def assessment(self) -> DataLoader[str, Record | None]:
        """Assessments by id."""
        return DataLoader(self._assessments, max_batch_size=MAX_BATCH)

    @cached_property
    def history(self) -> DataLoader[tuple[str, FrozenParams], Record]:
        """Score histories by shop and filters."""
        return DataLoader(self._histories, max_batch_size=MAX_BATCH)

    async def _shops(self, ids: list[str]) -> list[Record | None]:
        # With their current scores: a shop's score is then no second call (one shop, the
        # dashboard), at the price of one read of the assessments by the scoring service.
        answer = await self.client.call("GET", "/shops", params={"ids": ids, "withScore": True})
        self.prime_scores(answer["items"])
        return _by("id", answer["items"], ids)

    async def _shop_summaries(self, ids: list[str]) -> list[Record | None]:
        answer = await self.client.call("GET", "/shops", params={"ids": ids})
        return _by("id", answer["items"], ids)

    def prime_scores(self, shops: Sequence[Record]) -> None:
        """Remember the current scores of shops answered with ``withScore`` (a shop without
        ``currentScore`` has none), so ``Shop.score`` and ``Shop.advice`` call nothing."""
        for shop in shops:
            self.current_score.prime(shop["id"], shop.get("currentScore"))

    async def _current_scores(self, shop_ids: list[str]) -> list[Record | None]:
        answer = await self.client.call("GET", "/scores", params={"shopIds": shop_ids})
        return _by("shopId", answer["items"], shop_ids)

    async def _assessments(self, ids: list[str]) -> list[Record | None]:
        answer = await self.client.call("GET", "/assessments", params={"ids": ids})
        return _by("id", answer["items"], ids)

    async def _histories(self, keys: list[tuple[str, FrozenParams]]) -> list[Record]:
        return await batched_by_shop(self.client, "/histories", keys)


def frozen_params(params: Mapping[str, Any]) -> FrozenParams:
    """Query parameters as a hashable, order-independent part of a DataLoader key."""
    return tuple(
        sorted((k, tuple(v) if isinstance(v, list | tuple) else v) for k, v in params.items())
    )


risk_params = frozen_params
"""The name the risk types use for :func:`frozen_params`."""


async def batched_by_shop(
    client: ServiceClient, route: str, keys: Sequence[tuple[str, FrozenParams]]
) -> list[Record]:
    """One call of ``route`` per distinct parameter set, each for all its shops (``shopIds``);
    the answer's items (one per shop, each naming its ``shopId``) in the order of ``keys``."""
    groups: dict[FrozenParams, list[str]] = {}
    for shop_id, params in keys:
        groups.setdefault(params, []).append(shop_id)
    answers = await asyncio.gather(
        *(
            client.call("GET", route, params={**dict(params), "shopIds": shop_ids})
            for params, shop_ids in groups.items()
        )
    )
    found = {
        (item["shopId"], params): item
        for params, answer in zip(groups, answers, strict=True)
        for item in answer["items"]
    }
    return [found[key] for key in keys]


@dataclass
class RiskLoaders:
    """Batched reads from the risk service: one call per kind of read (and per distinct set
    of filters) for all the shops of a query level."""

    client: ServiceClient

    @cached_property
    def risk(self) -> DataLoader[str, Record | None]:
        """Risks by id."""
        return DataLoader(self._risks, max_batch_size=MAX_BATCH)

    @cached_property
    def shop_risks(self) -> DataLoader[tuple[str, FrozenParams], Record]:
        """Risk pages by shop and filters."""
        return DataLoader(self._shop_risks, max_batch_size=MAX_BATCH)

    @cached_property
    def matrix(self) -> DataLoader[tuple[str, str], Record]:
        """Risk matrices by shop and kind."""
        return DataLoader(self._matrices, max_batch_size=MAX_BATCH)

    @cached_property
    def roadmap(self) -> DataLoader[str, Record]:
        """Roadmaps by shop id."""
        return DataLoader(self._roadmaps, max_batch_size=MAX_BATCH)

    async def _risks(self, ids: list[str]) -> list[Record | None]:
        answer = await self.client.call("GET", "/risks", params={"ids": ids})
        return _by("id", answer["items"], ids)

    async def _shop_risks(self, keys: list[tuple[str, FrozenParams]]) -> list[Record]:
        return await batched_by_shop(self.client, "/risks", keys)

    async def _matrices(self, keys: list[tuple[str, str]]) -> list[Record]:
        frozen = [(shop_id, frozen_params({"kind": kind})) for shop_id, kind in keys]
        return await batched_by_shop(self.client, "/matrix", frozen)

    async def _roadmaps(self, shop_ids: list[str]) -> list[Record]:
        answer = await self.client.call("GET", "/roadmaps", params={"shopIds": shop_ids})
        found = {item["shopId"]: item for item in answer["items"]}
        return [found[s] for s in shop_ids]


@dataclass
class KpiLoaders:
    """Batched reads from the kpi service: one call per kind of read (and per distinct set of
    parameters) for all the shops of a query level."""

    client: ServiceClient

    @cached_property
    def kpi(self) -> DataLoader[str, Record | None]:
        """Catalogue entries by code."""
        return DataLoader(self._kpis, max_batch_size=MAX_BATCH)

    @cached_property
    def measurement(self) -> DataLoader[str, Record | None]:
        """Measurements by id."""
        return DataLoader(self._measurements, max_batch_size=MAX_BATCH)

    @cached_property
    def latest(self) -> DataLoader[tuple[str, FrozenParams], Record]:
        """Latest KPI values by shop and parameters."""
        return DataLoader(self._latest, max_batch_size=MAX_BATCH)

    @cached_property
    def series(self) -> DataLoader[tuple[str, FrozenParams], Record]:
        """KPI series by shop and parameters."""
        return DataLoader(self._series, max_batch_size=MAX_BATCH)

    async def _kpis(self, codes: list[str]) -> list[Record | None]:
        answer = await self.client.call("GET", "/catalogue", params={"codes": codes})
        return _by("code", answer["items"], codes)

    async def _measurements(self, ids: list[str]) -> list[Record | None]:
        answer = await self.client.call("GET", "/measurements", params={"ids": ids})
        return _by("id", answer["items"], ids)

    async def _latest(self, keys: list[tuple[str, FrozenParams]]) -> list[Record]:
        return await batched_by_shop(self.client, "/latest", keys)

    async def _series(self, keys: list[tuple[str, FrozenParams]]) -> list[Record]:
        return await batched_by_shop(self.client, "/series/batch", keys)
