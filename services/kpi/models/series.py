"""Wire contracts of series: a KPI's values over time for a scope, recorded or rolled up."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from services.kpi.domain import Direction, Grain
from services.kpi.models.common import MAX_BATCH, KpiCode
from services.runtime.wire import ScopeId, WireDateTime, WireModel


class SeriesQuery(WireModel):
    """Parameters of ``GET /series`` (``from``/``to`` bound the period starts)."""

    shop_id: ScopeId
    kpi_code: KpiCode
    grain: Grain = Grain.RECORDED
    from_: WireDateTime | None = Field(default=None, alias="from")
    to: WireDateTime | None = None


class SeriesBatchQuery(WireModel):
    """Parameters of ``GET /series/batch``: one KPI's series for many scopes at once."""

    shop_ids: list[ScopeId] = Field(min_length=1, max_length=MAX_BATCH)
    kpi_code: KpiCode
    grain: Grain = Grain.RECORDED
    from_: WireDateTime | None = Field(default=None, alias="from")
    to: WireDateTime | None = None


class SeriesPoint(WireModel):
    """One bucket: its combined inputs and the value recomputed from them."""

    period_start: datetime
    period_end: datetime
    inputs: dict[str, float]
    value: float
    count: int


class Series(WireModel):
    """Values of a KPI over time for a scope, at the recorded grain or rolled up."""

    shop_id: str
    kpi_code: str
    grain: Grain
    unit: str
    direction: Direction
    points: list[SeriesPoint]


class SeriesBatch(WireModel):
    """One series per requested scope, in the order of the request (duplicates once)."""

    items: list[Series]
