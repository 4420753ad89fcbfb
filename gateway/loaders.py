"""DataLoaders: one batched service call per kind of record per query level.

Each loader is made on first use: a request builds only the loaders its fields need.

A loader lives for one GraphQL request; listing 50 shops with their scores costs one call
for the shops and one for the scores, not 51.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import NamedTuple, TypeVar

from strawberry.dataloader import DataLoader

from gateway.kpi_client import KpiClient
from gateway.risk_client import RiskClient
from gateway.scoring_client import ScoringClient
from services.kpi import models as kpi_models
from services.kpi.domain import Grain
from services.risk import models as risk_models
from services.risk.models import AssessmentKind
from services.runtime.wire import PageQuery
from services.scoring import models

Item = TypeVar("Item")
Query = TypeVar("Query", bound=Hashable)
MAX_BATCH = 100


def _by_id(
    items: Sequence[Item], key: Callable[[Item], str], wanted: Sequence[str]
) -> list[Item | None]:
    found = {key(item): item for item in items}
    return [found.get(k) for k in wanted]


async def by_shop(
    fetch: Callable[[list[str], Query], Awaitable[Sequence[Item]]],
    shop_of: Callable[[Item], str],
    keys: Sequence[tuple[str, Query]],
) -> list[Item]:
    """One ``fetch`` per distinct query, each for all its shops; the answer's items (one per
    shop, each naming its shop) in the order of ``keys``."""
    groups: dict[Query, list[str]] = {}
    for shop_id, query in keys:
        groups.setdefault(query, []).append(shop_id)
    answers = await asyncio.gather(*(fetch(ids, query) for query, ids in groups.items()))
    found = {
        (shop_of(item), query): item
        for query, items in zip(groups, answers, strict=True)
        for item in items
    }
    return [found[key] for key in keys]


@dataclass
class ScoringLoaders:
    """Batched reads from the scoring service."""

    client: ScoringClient

    @cached_property
    def shop(self) -> DataLoader[str, models.Shop | None]:
        """Shops by id, with their current scores."""
        return DataLoader(self._shops, max_batch_size=MAX_BATCH)

    @cached_property
    def shop_summary(self) -> DataLoader[str, models.Shop | None]:
        """Shops by id with the summary of their current scores only (no read of the
        assessments): for selections the summary answers."""
        return DataLoader(self._shop_summaries, max_batch_size=MAX_BATCH)

    @cached_property
    def current_score(self) -> DataLoader[str, models.Assessment | None]:
        """Current assessments by shop id."""
        return DataLoader(self._current_scores, max_batch_size=MAX_BATCH)

    @cached_property
    def assessment(self) -> DataLoader[str, models.Assessment | None]:
        """Assessments by id."""
        return DataLoader(self._assessments, max_batch_size=MAX_BATCH)

    @cached_property
    def history(self) -> DataLoader[tuple[str, PageQuery], models.ShopHistory]:
        """Score histories by shop and page."""
        return DataLoader(self._histories, max_batch_size=MAX_BATCH)

    async def _shops(self, ids: list[str]) -> list[models.Shop | None]:
        # With their current scores: a shop's score is then no second call (one shop, the
        # dashboard), at the price of one read of the assessments by the scoring service.
        shops = await self.client.shops_by_id(ids, with_score=True)
        self.prime_scores(shops)
        return _by_id(shops, _id, ids)

    async def _shop_summaries(self, ids: list[str]) -> list[models.Shop | None]:
        return _by_id(await self.client.shops_by_id(ids, with_score=False), _id, ids)

    def prime_scores(self, shops: Sequence[models.Shop]) -> None:
        """Remember the current scores of shops answered with their scores (a shop without
        ``current_score`` has none), so ``Shop.score`` and ``Shop.advice`` call nothing."""
        for shop in shops:
            self.current_score.prime(shop.id, shop.current_score)

    async def _current_scores(self, shop_ids: list[str]) -> list[models.Assessment | None]:
        scores = await self.client.current_scores(shop_ids)
        return _by_id(scores, _shop_id, shop_ids)

    async def _assessments(self, ids: list[str]) -> list[models.Assessment | None]:
        return _by_id(await self.client.assessments(ids), _id, ids)

    async def _histories(self, keys: list[tuple[str, PageQuery]]) -> list[models.ShopHistory]:
        return await by_shop(self._history_pages, _shop_id, keys)

    async def _history_pages(
        self, shop_ids: list[str], page: PageQuery
    ) -> list[models.ShopHistory]:
        query = models.HistoriesQuery.model_construct(
            shop_ids=shop_ids, limit=page.limit, offset=page.offset
        )
        return await self.client.histories(query)


def _id(
    item: models.Shop | models.Assessment | kpi_models.Measurement | risk_models.Risk,
) -> str:
    return item.id


def _shop_id(
    item: models.Assessment
    | models.ShopHistory
    | kpi_models.ShopLatest
    | kpi_models.Series
    | risk_models.ShopRisks
    | risk_models.RiskMatrix,
) -> str:
    return item.shop_id


@dataclass
class RiskLoaders:
    """Batched reads from the risk service: one call per kind of read (and per distinct set
    of filters) for all the shops of a query level."""

    client: RiskClient

    @cached_property
    def risk(self) -> DataLoader[str, risk_models.Risk | None]:
        """Risks by id."""
        return DataLoader(self._risks, max_batch_size=MAX_BATCH)

    @cached_property
    def shop_risks(self) -> DataLoader[RiskListing, risk_models.ShopRisks]:
        """Risk pages by scope and query (filters, order, page; no scope of its own)."""
        return DataLoader(self._shop_risks, max_batch_size=MAX_BATCH, cache_key_fn=_listing_key)

    @cached_property
    def matrix(self) -> DataLoader[tuple[str, AssessmentKind], risk_models.RiskMatrix]:
        """Risk matrices by scope and kind."""
        return DataLoader(self._matrices, max_batch_size=MAX_BATCH)

    @cached_property
    def roadmap(self) -> DataLoader[str, risk_models.Roadmap]:
        """Roadmaps by scope."""
        return DataLoader(self._roadmaps, max_batch_size=MAX_BATCH)

    async def _risks(self, ids: list[str]) -> list[risk_models.Risk | None]:
        return _by_id(await self.client.risks_by_id(ids), _id, ids)

    async def _shop_risks(self, keys: list[RiskListing]) -> list[risk_models.ShopRisks]:
        # A query's lists make it unhashable: the batches are grouped by its JSON.
        frozen = [_listing_key(key) for key in keys]
        queries = {text: query for (_, text), (_, query) in zip(frozen, keys, strict=True)}

        async def pages(shop_ids: list[str], text: str) -> list[risk_models.ShopRisks]:
            query = queries[text].model_copy(update={"shop_ids": shop_ids})
            return await self.client.shop_risks(query)

        return await by_shop(pages, _shop_id, frozen)

    async def _matrices(
        self, keys: list[tuple[str, AssessmentKind]]
    ) -> list[risk_models.RiskMatrix]:
        return await by_shop(self._matrices_of, _shop_id, keys)

    async def _matrices_of(
        self, shop_ids: list[str], kind: AssessmentKind
    ) -> list[risk_models.RiskMatrix]:
        query = risk_models.ViewQuery.model_construct(shop_ids=shop_ids, kind=kind)
        return await self.client.matrices(query)

    async def _roadmaps(self, shop_ids: list[str]) -> list[risk_models.Roadmap]:
        found = {roadmap.shop_id: roadmap for roadmap in await self.client.roadmaps(shop_ids)}
        return [found[s] for s in shop_ids]


RiskListing = tuple[str, risk_models.RiskListQuery]
"""A scope and the query of its risk page (a DataLoader key)."""


def _listing_key(key: RiskListing) -> tuple[str, str]:
    return key[0], key[1].model_dump_json()


class SeriesSpec(NamedTuple):
    """What a series is asked for, besides its scope (part of a DataLoader key)."""

    kpi_code: str
    grain: Grain
    start: datetime | None
    end: datetime | None


@dataclass
class KpiLoaders:
    """Batched reads from the kpi service: one call per kind of read (and per distinct set of
    parameters) for all the shops of a query level."""

    client: KpiClient

    @cached_property
    def kpi(self) -> DataLoader[str, kpi_models.KpiOut | None]:
        """Catalogue entries by code."""
        return DataLoader(self._kpis, max_batch_size=MAX_BATCH)

    @cached_property
    def measurement(self) -> DataLoader[str, kpi_models.Measurement | None]:
        """Measurements by id."""
        return DataLoader(self._measurements, max_batch_size=MAX_BATCH)

    @cached_property
    def latest(self) -> DataLoader[tuple[str, tuple[str, ...] | None], kpi_models.ShopLatest]:
        """Latest KPI values by scope and KPI codes (``None``: every KPI the scope has)."""
        return DataLoader(self._latest, max_batch_size=MAX_BATCH)

    @cached_property
    def series(self) -> DataLoader[tuple[str, SeriesSpec], kpi_models.Series]:
        """KPI series by scope and what is asked."""
        return DataLoader(self._series, max_batch_size=MAX_BATCH)

    async def _kpis(self, codes: list[str]) -> list[kpi_models.KpiOut | None]:
        return _by_id(await self.client.kpis(codes), _code, codes)

    async def _measurements(self, ids: list[str]) -> list[kpi_models.Measurement | None]:
        return _by_id(await self.client.measurements_by_id(ids), _id, ids)

    async def _latest(
        self, keys: list[tuple[str, tuple[str, ...] | None]]
    ) -> list[kpi_models.ShopLatest]:
        return await by_shop(self._latest_of, _shop_id, keys)

    async def _latest_of(
        self, shop_ids: list[str], codes: tuple[str, ...] | None
    ) -> list[kpi_models.ShopLatest]:
        query = kpi_models.LatestQuery.model_construct(
            shop_ids=shop_ids, kpi_codes=None if codes is None else list(codes)
        )
        return await self.client.latest(query)

    async def _series(self, keys: list[tuple[str, SeriesSpec]]) -> list[kpi_models.Series]:
        return await by_shop(self._series_of, _shop_id, keys)

    async def _series_of(self, shop_ids: list[str], spec: SeriesSpec) -> list[kpi_models.Series]:
        query = kpi_models.SeriesBatchQuery.model_construct(
            shop_ids=shop_ids,
            kpi_code=spec.kpi_code,
            grain=spec.grain,
            from_=spec.start,
            to=spec.end,
        )
        return await self.client.series(query)


def _code(kpi: kpi_models.KpiOut) -> str:
    return kpi.code
