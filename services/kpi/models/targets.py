"""Wire contracts of a scope's targets and of the latest view judged against them (§4.3)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import Field

from services.kpi.domain import Comparator, MeasurementSource, TargetStatus
from services.kpi.models.catalogue import TargetSpec
from services.kpi.models.common import MAX_BATCH, KpiCode
from services.kpi.models.measurements import JudgedWindow
from services.runtime.caller import Actor
from services.runtime.json_types import Real
from services.runtime.wire import PageQuery, ScopeId, WireDateTime, WireModel


class TargetPut(WireModel):
    """A shop's target for a KPI, optionally in force only during ``[periodStart, periodEnd)``."""

    comparator: Comparator
    value: Real
    period_start: WireDateTime | None = None
    period_end: WireDateTime | None = None


class TargetOut(WireModel):
    """A shop's target for a KPI."""

    shop_id: str
    kpi_code: str
    comparator: Comparator
    value: float
    period_start: datetime | None
    period_end: datetime | None
    set_by: Actor = Field(description="The authenticated caller who set the target")
    updated_at: datetime


class TargetListQuery(PageQuery):
    """Parameters of ``GET /targets``."""

    shop_id: ScopeId


class TargetSource(StrEnum):
    """Where the target a status is judged against comes from."""

    SHOP = "SHOP"
    DEFAULT = "DEFAULT"


class AppliedTarget(TargetSpec):
    """The target a latest value is judged against."""

    source: TargetSource
    period_start: WireDateTime | None = None
    period_end: WireDateTime | None = None


class LatestKpi(WireModel):
    """A KPI's latest value for a scope, with its status against the applicable target."""

    kpi_code: str
    value: float | None
    measurement_id: str | None
    period_start: datetime | None
    period_end: datetime | None
    source: MeasurementSource | None
    recorded_at: datetime | None
    target: AppliedTarget | None
    status: TargetStatus | None
    fulfilment: float | None
    window: JudgedWindow | None = Field(
        default=None,
        description="The platform's value over the last window, which status and fulfilment "
        "judge; null for shops (their latest value is judged).",
    )


class ShopLatest(WireModel):
    """The latest value of every KPI a scope has a measurement or a target for."""

    shop_id: str
    kpis: list[LatestKpi]


class LatestQuery(WireModel):
    """Parameters of ``GET /latest``: the scopes (and optionally the KPIs) to answer."""

    shop_ids: list[ScopeId] = Field(min_length=1, max_length=MAX_BATCH)
    kpi_codes: list[KpiCode] | None = Field(default=None, min_length=1, max_length=MAX_BATCH)


class LatestBatch(WireModel):
    """One entry per requested scope, in the order of the request."""

    items: list[ShopLatest]
