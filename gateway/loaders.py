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

    def __post_init__(self) -> None:
        self.shop = DataLoader(self._shops, max_batch_size=MAX_BATCH)
        self.current_score = DataLoader(self._current_scores, max_batch_size=MAX_BATCH)
        self.assessment = DataLoader(self._assessments, max_batch_size=MAX_BATCH)

    async def _shops(self, ids: list[str]) -> list[Record | None]:
        answer = await self.client.call("GET", "/shops", params={"ids": ids})
        return _by("id", answer["items"], ids)

    async def _current_scores(self, shop_ids: list[str]) -> list[Record | None]:
        answer = await self.client.call("GET", "/scores", params={"shopIds": shop_ids})
        return _by("shopId", answer["items"], shop_ids)

    async def _assessments(self, ids: list[str]) -> list[Record | None]:
        answer = await self.client.call("GET", "/assessments", params={"ids": ids})
        return _by("id", answer["items"], ids)


def risk_params(params: Mapping[str, Any]) -> FrozenParams:
    """Query parameters as a hashable, order-independent part of a DataLoader key."""
    return tuple(
        sorted((k, tuple(v) if isinstance(v, list | tuple) else v) for k, v in params.items())
    )


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

    async def _batched(self, route: str, keys: Sequence[tuple[str, FrozenParams]]) -> list[Record]:
        """One call per distinct parameter set, each for all its shops; answers by key."""
        groups: dict[FrozenParams, list[str]] = {}
        for shop_id, params in keys:
            groups.setdefault(params, []).append(shop_id)
        answers = await asyncio.gather(
            *(
                self.client.call("GET", route, params={**dict(params), "shopIds": shop_ids})
                for params, shop_ids in groups.items()
            )
        )
        found = {
            (item["shopId"], params): item
            for params, answer in zip(groups, answers, strict=True)
            for item in answer["items"]
        }
        return [found[key] for key in keys]

    async def _shop_risks(self, keys: list[tuple[str, FrozenParams]]) -> list[Record]:
        return await self._batched("/risks", keys)

    async def _matrices(self, keys: list[tuple[str, str]]) -> list[Record]:
        frozen = [(shop_id, risk_params({"kind": kind})) for shop_id, kind in keys]
        return await self._batched("/matrix", frozen)

    async def _roadmaps(self, shop_ids: list[str]) -> list[Record]:
        answer = await self.client.call("GET", "/roadmaps", params={"shopIds": shop_ids})
        found = {item["shopId"]: item for item in answer["items"]}
        return [found[s] for s in shop_ids]
