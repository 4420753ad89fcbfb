"""DataLoaders: one batched service call per kind of record per query level.

A loader lives for one GraphQL request; listing 50 shops with their scores costs one call
for the shops and one for the scores, not 51.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from strawberry.dataloader import DataLoader

from gateway.clients import ServiceClient

Record = dict[str, Any]
MAX_BATCH = 100


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
