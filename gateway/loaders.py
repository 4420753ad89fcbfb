"""DataLoaders: one batched service call per kind of record per query level.

A loader lives for one GraphQL request; listing 50 shops with their scores costs one call
for the shops and one for the scores, not 51.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
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
    shop: DataLoader[str, Record | None] = field(init=False)
    current_score: DataLoader[str, Record | None] = field(init=False)
    assessment: DataLoader[str, Record | None] = field(init=False)
    history: DataLoader[tuple[str, FrozenParams], Record] = field(init=False)

    def __post_init__(self) -> None:
        self.history = DataLoader(self._histories, max_batch_size=MAX_BATCH)
        self.shop = DataLoader(self._shops, max_batch_size=MAX_BATCH)
        self.current_score = DataLoader(self._current_scores, max_batch_size=MAX_BATCH)
        self.assessment = DataLoader(self._assessments, max_batch_size=MAX_BATCH)

    async def _shops(self, ids: list[str]) -> list[Record | None]:
        # With their current scores: a shop's score is then no second call (one shop, the
        # dashboard), at the price of one read of the assessments by the scoring service.
        answer = await self.client.call("GET", "/shops", params={"ids": ids, "withScore": True})
        self.prime_scores(answer["items"])
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
    risk: DataLoader[str, Record | None] = field(init=False)
    shop_risks: DataLoader[tuple[str, FrozenParams], Record] = field(init=False)
    matrix: DataLoader[tuple[str, str], Record] = field(init=False)
    roadmap: DataLoader[str, Record] = field(init=False)

    def __post_init__(self) -> None:
        self.risk = DataLoader(self._risks, max_batch_size=MAX_BATCH)
        self.shop_risks = DataLoader(self._shop_risks, max_batch_size=MAX_BATCH)
        self.matrix = DataLoader(self._matrices, max_batch_size=MAX_BATCH)
        self.roadmap = DataLoader(self._roadmaps, max_batch_size=MAX_BATCH)

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
    kpi: DataLoader[str, Record | None] = field(init=False)
    measurement: DataLoader[str, Record | None] = field(init=False)
    latest: DataLoader[tuple[str, FrozenParams], Record] = field(init=False)
    series: DataLoader[tuple[str, FrozenParams], Record] = field(init=False)

    def __post_init__(self) -> None:
        self.kpi = DataLoader(self._kpis, max_batch_size=MAX_BATCH)
        self.measurement = DataLoader(self._measurements, max_batch_size=MAX_BATCH)
        self.latest = DataLoader(self._latest, max_batch_size=MAX_BATCH)
        self.series = DataLoader(self._series, max_batch_size=MAX_BATCH)

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
