"""Wire contracts of the kpi service: the JSON its HTTP API accepts and answers.

Field names are camelCase on the wire. A scope (``shopId``) is a shop's record id (24 lowercase
hex digits) or the literal ``platform``, the built-in scope of the platform's own KPIs (§4.6).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import ConfigDict, Field, JsonValue

from services.kpi.domain import (
    Aggregation,
    Comparator,
    Direction,
    Grain,
    InputKind,
    KpiLevel,
    MeasurementSource,
    TargetStatus,
)
from services.runtime.caller import Actor
from services.runtime.json_types import Real
from services.runtime.text import line, multi_line
from services.runtime.wire import (
    LongText,
    PageQuery,
    RecordId,
    ScopeId,
    WireDateTime,
    WireModel,
)

KpiCode = Annotated[str, line(min_length=1, max_length=64)]
"""A KPI code as a request names it (checked against the catalogue by the service)."""
Reason = Annotated[str, multi_line(strip=True, min_length=1, max_length=1000)]
InputName = Annotated[str, line(max_length=64)]
"""The name of a measurement's or a custom KPI's input."""

MAX_INPUTS = 50
"""The most inputs a measurement or a custom KPI may carry."""
MAX_BATCH = 100
"""The most ids, codes or shops one batch request may name."""

# --- catalogue ------------------------------------------------------------------------------


class InputSpecOut(WireModel):
    """A named input of a KPI: what values it takes and how it is combined on roll-up."""

    name: str
    kind: InputKind
    aggregation: Aggregation


class TargetSpec(WireModel):
    """A threshold: the value should satisfy ``value <comparator> threshold``."""

    comparator: Comparator
    value: Real


class PartRule(WireModel):
    """ "A part may not exceed its whole": ``part ≤ whole`` (``whole`` is a formula)."""

    part: Annotated[str, line(min_length=1, max_length=64)]
    whole: Annotated[str, line(min_length=1, max_length=500)]


class KpiOut(WireModel):
    """A KPI of the catalogue (built-in or custom)."""

    code: str
    name: str
    level: KpiLevel
    unit: str
    direction: Direction
    formula: str
    inputs: list[InputSpecOut]
    default_target: TargetSpec | None
    parts: list[PartRule]
    built_in: bool
    description: str | None = Field(
        default=None,
        description="What the KPI measures and what its inputs are; null for custom KPIs",
    )
    created_by: Actor | None = Field(
        description="Who created a custom KPI; null for the built-in catalogue"
    )


class KpiBatch(WireModel):
    """KPIs answered for a batch of codes (order of the request, unknown codes omitted)."""

    items: list[KpiOut]


class CatalogueQuery(PageQuery):
    """Parameters of ``GET /catalogue``: a page (built-ins first), a level, or a batch of codes."""

    limit: int = Field(default=100, ge=1, le=100)
    level: KpiLevel | None = None
    codes: list[KpiCode] | None = Field(default=None, min_length=1, max_length=MAX_BATCH)


class CustomKpiCreate(WireModel):
    """A user's KPI: a formula in the safe expression language over declared inputs."""

    code: KpiCode
    name: Annotated[str, line()]
    level: KpiLevel
    unit: Annotated[str, line()]
    direction: Direction
    formula: LongText
    inputs: dict[InputName, InputKind] = Field(max_length=MAX_INPUTS)
    default_target: TargetSpec | None = None
    parts: list[PartRule] = Field(default_factory=list, max_length=MAX_INPUTS)


# --- measurements ---------------------------------------------------------------------------


class MeasurementCreate(WireModel):
    """A measurement of a KPI for a scope and a period ``[periodStart, periodEnd)``.

    A second measurement of the same scope, KPI and period is a conflict unless ``replace`` is
    true and a ``reason`` is given; the replaced revision is kept in ``history``.
    """

    shop_id: ScopeId
    kpi_code: KpiCode
    period_start: WireDateTime
    period_end: WireDateTime
    inputs: dict[InputName, JsonValue] = Field(max_length=MAX_INPUTS)
    source: MeasurementSource = MeasurementSource.MANUAL
    replace: bool = False
    reason: Reason | None = None


class Revision(WireModel):
    """One revision of a measurement: what was recorded, by which source, and why."""

    revision: int
    inputs: dict[str, float | int]
    value: float
    source: MeasurementSource
    reason: str | None
    recorded_at: datetime
    actor: Actor


class EscalationState(StrEnum):
    """Where the breach event of a revision stands."""

    PENDING = "PENDING"
    DELIVERED = "DELIVERED"
    SUPERSEDED = "SUPERSEDED"


class Escalation(WireModel):
    """The delivery of a revision's event to the risk service (the outbox entry)."""

    event_id: str
    state: EscalationState
    attempts: int
    delivered_at: datetime | None


class HistoryEntry(Revision):
    """A replaced revision, when it was replaced and what became of its event."""

    replaced_at: datetime
    escalation: Escalation


class JudgedWindow(WireModel):
    """The platform's value over the last window (``INTEGRA_KPI_PLATFORM_WINDOW_SECONDS``)
    ending with a measurement's period: the inputs of its measurements summed and the formula
    over them. The platform's status and breach events judge this value (domain.md §4.6)."""

    period_start: datetime
    period_end: datetime
    inputs: dict[str, float | int]
    value: float


class Measurement(WireModel):
    """A measurement: the current revision, its replaced revisions, its event's delivery."""

    id: str
    shop_id: str
    kpi_code: str
    period_start: datetime
    period_end: datetime
    inputs: dict[str, float | int]
    value: float
    source: MeasurementSource
    reason: str | None
    revision: int
    recorded_at: datetime
    actor: Actor
    created_at: datetime
    history: list[HistoryEntry]
    escalation: Escalation
    window: JudgedWindow | None = Field(
        default=None, description="The platform's value over the last window; null for shops."
    )


class MeasurementBatch(WireModel):
    """Measurements answered for a batch of ids (order of the request, missing omitted)."""

    items: list[Measurement]


class MeasurementListQuery(PageQuery):
    """Parameters of ``GET /measurements``: filters and a page, or a batch of ids.

    ``from``/``to`` select measurements whose period *starts* in ``[from, to)``.
    """

    shop_id: ScopeId | None = None
    kpi_code: KpiCode | None = None
    from_: WireDateTime | None = Field(default=None, alias="from")
    to: WireDateTime | None = None
    ids: list[RecordId] | None = Field(default=None, min_length=1, max_length=MAX_BATCH)


# --- series ---------------------------------------------------------------------------------


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


# --- targets and the latest view -------------------------------------------------------------


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


# --- the profit model -----------------------------------------------------------------------


class ProfitIndicatorsIn(WireModel):
    """The thirteen indicators of a period (§4.4); ranges are checked by the domain: ``c1`` and
    ``c`` in [0, 1], the others ≥ 0, ``churn ≤ c · reach · c1`` and ``rt ≤ q1``."""

    model_config = ConfigDict(strict=True)

    reach: Real
    c1: Real
    c: Real
    churn: Real
    pu: Real
    d: Real
    q1: Real
    rt: Real
    capex: Real
    h: Real
    cogs: Real
    cac: Real
    crc: Real


class ProfitOut(WireModel):
    """The profit model computed for one period."""

    indicators: ProfitIndicatorsIn
    leads: float
    clients: float
    average_check: float
    deals: float
    ltv: float
    revenue: float
    total_costs: float
    profit: float


class WhatIfIn(WireModel):
    """A baseline period and a scenario period."""

    baseline: ProfitIndicatorsIn
    scenario: ProfitIndicatorsIn


class ContributionOut(WireModel):
    """The effect on profit of changing one indicator alone."""

    code: str
    baseline_value: float
    scenario_value: float
    profit_alone: float
    absolute: float
    relative: float | None = Field(
        description="absolute / baseline profit × 100; null unless the baseline makes a profit "
        "(> 0): a share of a loss or of nothing is not a percentage anyone can read"
    )
    favourable: bool


class WhatIfOut(WireModel):
    """Profit of both periods and the attribution of the change to indicators."""

    baseline: ProfitOut
    scenario: ProfitOut
    profit_change: float
    contributions: list[ContributionOut]
    favourable_codes: list[str]
    favourable_profit: float
    interaction: float


class FinancialIn(WireModel):
    """Two periods of ``months`` months each and the investment in the integration."""

    model_config = ConfigDict(strict=True)

    before: ProfitIndicatorsIn
    after: ProfitIndicatorsIn
    investment: Real = Field(
        description="The amount invested in the period (> 0), not a running total"
    )
    months: Real


class KpiValue(WireModel):
    """A KPI's inputs and the value computed from them by its catalogue formula."""

    kpi_code: str
    inputs: dict[str, float]
    value: float


class FinancialOut(WireModel):
    """``integration_roi`` and ``payback_period`` derived from two periods.

    ``paybackPeriod`` is null when profit did not increase: the investment never pays back.
    """

    profit_before: float
    profit_after: float
    profit_delta: float
    monthly_profit_increase: float
    integration_roi: KpiValue
    payback_period: KpiValue | None


# --- escalation events (sent to the risk service) ---------------------------------------------


class BreachEvent(WireModel):
    """A new KPI value, sent to ``POST {risk}/escalations``; the risk service applies its
    monitoring rules to it, idempotently by ``eventId``."""

    event_id: str
    measurement_id: str
    shop_id: str
    kpi_code: str
    value: float
    measured_at: datetime


class NoDataEvent(WireModel):
    """A scope without a measurement for 30 days, sent to ``POST {risk}/escalations/no-data``:
    since its last measured period ended, or since its creation when it never had one."""

    event_id: str
    shop_id: str
    last_measurement_at: datetime | None = None
    shop_created_at: datetime | None = None
    as_of: datetime | None = None
    """The moment of the check that found the silence (risk judges it as of then)."""


# --- misc -----------------------------------------------------------------------------------


class Deleted(WireModel):
    """Outcome of a delete."""

    id: str
    deleted: bool
