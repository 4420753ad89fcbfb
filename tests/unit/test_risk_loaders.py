"""The risk DataLoaders: one call per distinct query for all its shops (no service)."""

from __future__ import annotations

import asyncio
from typing import cast

from gateway.loaders import RiskListing, RiskLoaders
from gateway.risk_client import RiskClient
from services.risk import models
from services.risk.domain import RiskStatus


class _Recorder:
    """Answers ``shop_risks`` with an empty page per shop and remembers each query."""

    def __init__(self) -> None:
        self.queries: list[models.RiskListQuery] = []

    async def shop_risks(self, query: models.RiskListQuery) -> list[models.ShopRisks]:
        self.queries.append(query)
        return [
            models.ShopRisks(shop_id=shop_id, items=[], total_count=0, limit=query.limit, offset=0)
            for shop_id in query.shop_ids or []
        ]


async def test_shops_with_the_same_filters_share_one_call() -> None:
    recorder = _Recorder()
    loaders = RiskLoaders(cast(RiskClient, recorder))
    open_only = models.RiskListQuery(status=[RiskStatus.IDENTIFIED], limit=5)
    every = models.RiskListQuery(limit=5)
    keys: list[RiskListing] = [("a" * 24, open_only), ("b" * 24, every), ("c" * 24, open_only)]
    pages = await asyncio.gather(*(loaders.shop_risks.load(key) for key in keys))
    assert [page.shop_id for page in pages] == ["a" * 24, "b" * 24, "c" * 24]
    assert sorted(q.shop_ids or [] for q in recorder.queries) == [["a" * 24, "c" * 24], ["b" * 24]]
    assert all(q.limit == 5 for q in recorder.queries)
