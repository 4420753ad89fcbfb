"""The kpi part of the graph: catalogue, measurements, series, targets, profit, the platform.

A measurement's inputs are a list of ``{name, value}`` pairs (the names are those of the KPI's
formula, e.g. ``within_sla``); the kpi service checks them, so an error names the input as
``inputs.<name>``. Targets use the same comparators as monitoring rules (one ``Comparator``
enum in the graph). Mutations naming a shop check here, through the scoring service, that it
exists (the built-in scope ``platform`` always does), as the risk part does.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Annotated, Any

import strawberry

from gateway.context import Info
from gateway.idempotency import IdempotencyKey, idempotency_headers
from gateway.loaders import frozen_params
from gateway.types.common import Actor, DeletePayload, page_args, wire_body, wire_time
from gateway.types.risk import (
    Comparator,
    RiskFilter,
    RiskPage,
    RiskSort,
    require_scope,
    shop_risks,
)
from gateway.types.scores import SortOrder
from gateway.types.scoring import Shop, load_shop
from services.kpi import domain, models
from services.runtime.errors import ValidationFailed
from services.runtime.wire import PLATFORM_SCOPE, check_id, check_scope

Record = dict[str, Any]

strawberry.enum(domain.KpiLevel, description="A level of the KPI catalogue (§4.1).")
strawberry.enum(domain.Direction, name="KpiDirection", description="UP: higher is better.")
strawberry.enum(domain.InputKind, name="KpiInputKind", description="What values an input takes.")
strawberry.enum(
    domain.Aggregation,
    name="KpiInputAggregation",
    description="How an input is combined on roll-up: SUM (flows), LATEST (stocks), CONSTANT.",
)
strawberry.enum(
    domain.TargetStatus,
    name="KpiStatus",
    description="The latest value against its target; AT_RISK: missed by at most 5 %.",
)
strawberry.enum(domain.Grain, name="KpiGrain", description="As recorded, or rolled up (UTC).")
strawberry.enum(domain.MeasurementSource, description="Where a measurement came from.")
strawberry.enum(
    models.TargetSource, name="KpiTargetSource", description="The shop's own target or the default."
)
strawberry.enum(
    models.EscalationState,
    name="MeasurementEscalationState",
    description="Delivery of a revision's event to the risk service.",
)
KpiLevel = domain.KpiLevel
KpiDirection = domain.Direction
KpiInputKind = domain.InputKind
KpiInputAggregation = domain.Aggregation
KpiStatus = domain.TargetStatus
KpiGrain = domain.Grain
MeasurementSource = domain.MeasurementSource
KpiTargetSource = models.TargetSource
MeasurementEscalationState = models.EscalationState


def _time(value: str | None) -> datetime | None:
    return wire_time(value) if value else None


# --- catalogue ------------------------------------------------------------------------------


@strawberry.type(description="A named input of a KPI's formula.")
class KpiInputSpec:
    name: str
    kind: KpiInputKind
    aggregation: KpiInputAggregation


@strawberry.type(description="A threshold: the value should satisfy value <comparator> value.")
class KpiThreshold:
    comparator: Comparator
    value: float


@strawberry.type(description='"A part may not exceed its whole": part ≤ whole (a formula).')
class KpiPartRule:
    part: str
    whole: str


@strawberry.type(description="A KPI of the catalogue: built-in (§4.1) or custom.")
class Kpi:
    code: str
    name: str
    level: KpiLevel
    unit: str
    direction: KpiDirection
    formula: str
    inputs: list[KpiInputSpec]
    default_target: KpiThreshold | None
    parts: list[KpiPartRule]
    built_in: bool
    description: str | None = strawberry.field(
        description="What the KPI measures and what its inputs are; null for custom KPIs."
    )
    created_by: Actor | None = strawberry.field(
        description="Who created a custom KPI; null for the built-in catalogue."
    )

    @classmethod
    def from_wire(cls, record: Record) -> Kpi:
        """Build from the kpi service's JSON."""
        target = record["defaultTarget"]
        return cls(
            code=record["code"],
            name=record["name"],
            level=KpiLevel(record["level"]),
            unit=record["unit"],
            direction=KpiDirection(record["direction"]),
            formula=record["formula"],
            inputs=[
                KpiInputSpec(
                    name=i["name"],
                    kind=KpiInputKind(i["kind"]),
                    aggregation=KpiInputAggregation(i["aggregation"]),
                )
                for i in record["inputs"]
            ],
            default_target=None
            if target is None
            else KpiThreshold(comparator=Comparator(target["comparator"]), value=target["value"]),
            parts=[KpiPartRule(part=p["part"], whole=p["whole"]) for p in record["parts"]],
            built_in=record["builtIn"],
            description=record.get("description"),
            created_by=Actor.from_wire(record["createdBy"]) if record["createdBy"] else None,
        )


@strawberry.type(description="A page of the catalogue: built-in KPIs first, then custom by code.")
class KpiPage:
    items: list[Kpi]
    total_count: int
    limit: int
    offset: int


async def _kpi(info: Info, code: str) -> Kpi | None:
    record = await info.context.kpi.kpi.load(code)
    return Kpi.from_wire(record) if record else None


# --- measurements ---------------------------------------------------------------------------


@strawberry.type(description="A named input value of a measurement or a roll-up.")
class KpiInputValue:
    name: str
    value: float


def _inputs(record: Mapping[str, float]) -> list[KpiInputValue]:
    return [KpiInputValue(name=name, value=value) for name, value in record.items()]


@strawberry.type(description="Where the breach event of a revision stands (the outbox entry).")
class MeasurementEscalation:
    event_id: str
    state: MeasurementEscalationState
    attempts: int
    delivered_at: datetime | None

    @classmethod
    def from_wire(cls, record: Record) -> MeasurementEscalation:
        """Build from the kpi service's JSON."""
        return cls(
            event_id=record["eventId"],
            state=MeasurementEscalationState(record["state"]),
            attempts=record["attempts"],
            delivered_at=_time(record["deliveredAt"]),
        )


@strawberry.type(description="A replaced revision of a measurement, kept in its history.")
class MeasurementRevision:
    revision: int
    inputs: list[KpiInputValue]
    value: float
    source: MeasurementSource
    reason: str | None
    recorded_at: datetime
    actor: Actor = strawberry.field(description="Who recorded this revision (credential).")
    replaced_at: datetime
    escalation: MeasurementEscalation


@strawberry.type(
    description="The platform's value over the last window ending with a period "
    "(INTEGRA_KPI_PLATFORM_WINDOW_SECONDS, default 5 minutes): its measurements' inputs summed "
    "and the KPI's formula over the sums. The platform's status and escalations judge it."
)
class KpiWindow:
    period_start: datetime
    period_end: datetime
    inputs: list[KpiInputValue]
    value: float

    @classmethod
    def from_wire(cls, record: Record | None) -> KpiWindow | None:
        """Build from the kpi service's JSON (``None`` for a shop's measurement)."""
        if record is None:
            return None
        return cls(
            period_start=wire_time(record["periodStart"]),
            period_end=wire_time(record["periodEnd"]),
            inputs=_inputs(record["inputs"]),
            value=record["value"],
        )


@strawberry.federation.type(
    keys=["id"],
    description="A KPI measured for a shop (or the platform) and a period [periodStart, "
    "periodEnd): the current revision, with the replaced ones in history.",
)
class KpiMeasurement:
    id: strawberry.ID
    shop_id: strawberry.ID = strawberry.field(description='A shop id, or "platform".')
    kpi_code: str
    period_start: datetime
    period_end: datetime
    inputs: list[KpiInputValue]
    value: float = strawberry.field(description="Computed from the inputs by the KPI's formula.")
    source: MeasurementSource
    reason: str | None = strawberry.field(description="Why this revision replaced the last.")
    revision: int
    recorded_at: datetime
    actor: Actor = strawberry.field(description="Who recorded the current revision.")
    created_at: datetime
    history: list[MeasurementRevision] = strawberry.field(description="Oldest first.")
    escalation: MeasurementEscalation
    window: KpiWindow | None = strawberry.field(
        description="The platform's value over the last window, which its escalation judges; "
        "null for shops."
    )

    @classmethod
    def from_wire(cls, record: Record) -> KpiMeasurement:
        """Build from the kpi service's JSON."""
        return cls(
            id=strawberry.ID(record["id"]),
            shop_id=strawberry.ID(record["shopId"]),
            kpi_code=record["kpiCode"],
            period_start=wire_time(record["periodStart"]),
            period_end=wire_time(record["periodEnd"]),
            inputs=_inputs(record["inputs"]),
            value=record["value"],
            source=MeasurementSource(record["source"]),
            reason=record["reason"],
            revision=record["revision"],
            recorded_at=wire_time(record["recordedAt"]),
            actor=Actor.from_wire(record["actor"]),
            created_at=wire_time(record["createdAt"]),
            history=[
                MeasurementRevision(
                    revision=h["revision"],
                    inputs=_inputs(h["inputs"]),
                    value=h["value"],
                    source=MeasurementSource(h["source"]),
                    reason=h["reason"],
                    recorded_at=wire_time(h["recordedAt"]),
                    actor=Actor.from_wire(h["actor"]),
                    replaced_at=wire_time(h["replacedAt"]),
                    escalation=MeasurementEscalation.from_wire(h["escalation"]),
                )
                for h in record["history"]
            ],
            escalation=MeasurementEscalation.from_wire(record["escalation"]),
            window=KpiWindow.from_wire(record.get("window")),
        )

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> KpiMeasurement | None:
        """Federation: a measurement by id, batched with the others of the request."""
        record = await info.context.kpi.measurement.load(check_id(str(id)))
        return cls.from_wire(record) if record else None

    @strawberry.field(description="The KPI measured.")
    async def kpi(self, info: Info) -> Kpi | None:
        return await _kpi(info, self.kpi_code)

    @strawberry.field(description="The shop measured; null for the platform.")
    async def shop(self, info: Info) -> Shop | None:
        return await _shop(info, str(self.shop_id))


async def _shop(info: Info, scope: str) -> Shop | None:
    if scope == PLATFORM_SCOPE:
        return None
    return await load_shop(info, scope)


@strawberry.type(description="A page of measurements, newest period first.")
class KpiMeasurementPage:
    items: list[KpiMeasurement]
    total_count: int
    limit: int
    offset: int


# --- series ---------------------------------------------------------------------------------


@strawberry.type(
    description="One bucket of a series: its combined inputs and the value "
    "recomputed from them (never an average of values)."
)
class KpiSeriesPoint:
    period_start: datetime
    period_end: datetime
    inputs: list[KpiInputValue]
    value: float
    count: int = strawberry.field(description="Measurements combined in the bucket.")


@strawberry.type(description="Values of a KPI over time for a shop (or the platform).")
class KpiSeries:
    shop_id: strawberry.ID
    kpi_code: str
    grain: KpiGrain
    unit: str
    direction: KpiDirection
    points: list[KpiSeriesPoint]

    @classmethod
    def from_wire(cls, record: Record) -> KpiSeries:
        """Build from the kpi service's JSON."""
        return cls(
            shop_id=strawberry.ID(record["shopId"]),
            kpi_code=record["kpiCode"],
            grain=KpiGrain(record["grain"]),
            unit=record["unit"],
            direction=KpiDirection(record["direction"]),
            points=[
                KpiSeriesPoint(
                    period_start=wire_time(p["periodStart"]),
                    period_end=wire_time(p["periodEnd"]),
                    inputs=_inputs(p["inputs"]),
                    value=p["value"],
                    count=p["count"],
                )
                for p in record["points"]
            ],
        )

    @strawberry.field(description="The KPI of the series.")
    async def kpi(self, info: Info) -> Kpi | None:
        return await _kpi(info, self.kpi_code)


# --- targets and the latest values ----------------------------------------------------------


@strawberry.type(description="A shop's own target for a KPI, optionally for a period only.")
class KpiTarget:
    shop_id: strawberry.ID
    kpi_code: str
    comparator: Comparator
    value: float
    period_start: datetime | None
    period_end: datetime | None
    set_by: Actor = strawberry.field(description="The authenticated caller who set it.")
    updated_at: datetime

    @classmethod
    def from_wire(cls, record: Record) -> KpiTarget:
        """Build from the kpi service's JSON."""
        return cls(
            shop_id=strawberry.ID(record["shopId"]),
            kpi_code=record["kpiCode"],
            comparator=Comparator(record["comparator"]),
            value=record["value"],
            period_start=_time(record["periodStart"]),
            period_end=_time(record["periodEnd"]),
            set_by=Actor.from_wire(record["setBy"]),
            updated_at=wire_time(record["updatedAt"]),
        )


@strawberry.type(description="A page of a shop's targets, by KPI code.")
class KpiTargetPage:
    items: list[KpiTarget]
    total_count: int
    limit: int
    offset: int


@strawberry.type(description="The target a latest value is judged against.")
class AppliedKpiTarget:
    comparator: Comparator
    value: float
    source: KpiTargetSource
    period_start: datetime | None
    period_end: datetime | None


@strawberry.type(description="A KPI's latest value for a shop, with its status and fulfilment.")
class KpiLatest:
    kpi_code: str
    value: float | None = strawberry.field(description="Null: no measurement yet.")
    status: KpiStatus | None = strawberry.field(description="Null: the KPI has no target.")
    fulfilment: float | None = strawberry.field(
        description="actual / target × 100 (inverted for DOWN KPIs)."
    )
    target: AppliedKpiTarget | None
    period_start: datetime | None
    period_end: datetime | None
    source: MeasurementSource | None
    recorded_at: datetime | None
    measurement_id: strawberry.ID | None
    window: KpiWindow | None = strawberry.field(
        description="The platform's value over the last window, which status and fulfilment "
        "judge; null for shops (their latest value is judged)."
    )

    @classmethod
    def from_wire(cls, record: Record) -> KpiLatest:
        """Build from the kpi service's JSON."""
        target = record["target"]
        return cls(
            kpi_code=record["kpiCode"],
            value=record["value"],
            status=KpiStatus(record["status"]) if record["status"] else None,
            fulfilment=record["fulfilment"],
            target=None
            if target is None
            else AppliedKpiTarget(
                comparator=Comparator(target["comparator"]),
                value=target["value"],
                source=KpiTargetSource(target["source"]),
                period_start=_time(target["periodStart"]),
                period_end=_time(target["periodEnd"]),
            ),
            period_start=_time(record["periodStart"]),
            period_end=_time(record["periodEnd"]),
            source=MeasurementSource(record["source"]) if record["source"] else None,
            recorded_at=_time(record["recordedAt"]),
            measurement_id=strawberry.ID(record["measurementId"])
            if record["measurementId"]
            else None,
            window=KpiWindow.from_wire(record.get("window")),
        )

    @strawberry.field(description="The KPI.")
    async def kpi(self, info: Info) -> Kpi | None:
        return await _kpi(info, self.kpi_code)

    @strawberry.field(description="The latest measurement; null without data.")
    async def measurement(self, info: Info) -> KpiMeasurement | None:
        if self.measurement_id is None:
            return None
        record = await info.context.kpi.measurement.load(str(self.measurement_id))
        return KpiMeasurement.from_wire(record) if record else None


# --- resolvers shared with Shop and Platform ------------------------------------------------


def _codes(codes: Sequence[str] | None) -> list[str] | None:
    if codes is not None and len(codes) > models.MAX_BATCH:
        raise ValidationFailed("codes", f"at most {models.MAX_BATCH} KPI codes")
    return None if codes is None else list(dict.fromkeys(codes))


async def shop_kpis(info: Info, scope: str, codes: Sequence[str] | None) -> list[KpiLatest]:
    """The latest value and status of a scope's KPIs (all it has data or a target for, or the
    named ones), batched with the other scopes of the request into one ``/latest`` call."""
    wanted = _codes(codes)
    if wanted == []:
        return []
    params = {} if wanted is None else {"kpiCodes": wanted}
    record = await info.context.kpi.latest.load((scope, frozen_params(params)))
    return [KpiLatest.from_wire(k) for k in record["kpis"]]


def _series_params(
    kpi_code: str, grain: KpiGrain, start: datetime | None, end: datetime | None
) -> dict[str, str]:
    params = {"kpiCode": kpi_code, "grain": grain.value}
    if start is not None:
        params["from"] = start.isoformat()
    if end is not None:
        params["to"] = end.isoformat()
    return params


async def shop_kpi_series(
    info: Info,
    scope: str,
    kpi_code: str,
    grain: KpiGrain,
    start: datetime | None,
    end: datetime | None,
) -> KpiSeries:
    """A scope's series of a KPI, batched with the other scopes of the request into one call."""
    params = frozen_params(_series_params(kpi_code, grain, start, end))
    return KpiSeries.from_wire(await info.context.kpi.series.load((scope, params)))


FromArg = Annotated[
    datetime | None,
    strawberry.argument(name="from", description="Periods starting at or after this moment."),
]
ToArg = Annotated[
    datetime | None, strawberry.argument(description="Periods starting before this moment.")
]


# --- the platform ---------------------------------------------------------------------------


@strawberry.type(description="Whether a service answers its readiness probe.")
class ServiceHealth:
    name: str
    ready: bool


@strawberry.type(
    description="The platform as an integration of services (§4.6): its own "
    "KPIs (SYSTEM measurements each minute), its risks, its services."
)
class Platform:
    @strawberry.field(description="Latest value and status of the platform's KPIs.")
    async def kpis(self, info: Info, codes: list[str] | None = None) -> list[KpiLatest]:
        return await shop_kpis(info, PLATFORM_SCOPE, codes)

    @strawberry.field(description="The platform's risks, filtered; largest inherent score first.")
    async def risks(
        self,
        info: Info,
        filter: RiskFilter | None = None,
        sort: RiskSort | None = None,
        order: SortOrder | None = None,
        limit: int = 20,
        offset: int = 0,
    ) -> RiskPage:
        return await shop_risks(info, PLATFORM_SCOPE, filter, sort, order, limit, offset)

    @strawberry.field(description="A series of one of the platform's KPIs.")
    async def kpi_series(
        self,
        info: Info,
        kpi_code: str,
        grain: KpiGrain = KpiGrain.RECORDED,
        from_: FromArg = None,
        to: ToArg = None,
    ) -> KpiSeries:
        return await shop_kpi_series(info, PLATFORM_SCOPE, kpi_code, grain, from_, to)

    @strawberry.field(description="Each service the gateway reaches, and whether it is ready.")
    async def services(self, info: Info) -> list[ServiceHealth]:
        clients = info.context.clients.all()
        answers = await asyncio.gather(*(c.ready() for c in clients.values()))
        return [
            ServiceHealth(name=name, ready=ready)
            for name, ready in zip(clients, answers, strict=True)
        ]


# --- the profit model -----------------------------------------------------------------------


@strawberry.type(description="The thirteen indicators of a period (§4.4).")
class ProfitIndicators:
    reach: float
    c1: float
    c: float
    churn: float
    pu: float
    d: float
    q1: float
    rt: float
    capex: float
    h: float
    cogs: float
    cac: float
    crc: float


@strawberry.type(description="The profit model of one period (§4.4).")
class Profit:
    indicators: ProfitIndicators
    leads: float = strawberry.field(description="L = reach · c1.")
    clients: float = strawberry.field(description="CLs = c · L − churn.")
    average_check: float = strawberry.field(description="P = pu · d.")
    deals: float = strawberry.field(description="Qs = q1 − rt.")
    ltv: float = strawberry.field(description="LTV = P · Qs.")
    revenue: float = strawberry.field(description="R = CLs · LTV.")
    total_costs: float = strawberry.field(description="TC = capex + h + cogs + cac + crc.")
    profit: float = strawberry.field(description="R − TC.")

    @classmethod
    def from_wire(cls, record: Record) -> Profit:
        """Build from the kpi service's JSON."""
        return cls(
            indicators=ProfitIndicators(**record["indicators"]),
            leads=record["leads"],
            clients=record["clients"],
            average_check=record["averageCheck"],
            deals=record["deals"],
            ltv=record["ltv"],
            revenue=record["revenue"],
            total_costs=record["totalCosts"],
            profit=record["profit"],
        )


@strawberry.type(description="The effect on profit of changing one indicator alone.")
class ProfitContribution:
    code: str
    baseline_value: float
    scenario_value: float
    profit_alone: float = strawberry.field(description="Profit with only this indicator changed.")
    absolute: float = strawberry.field(description="profitAlone − baseline profit.")
    relative: float | None = strawberry.field(
        description="absolute / baseline profit × 100; null unless the baseline makes a profit "
        "(> 0): a share of a loss or of nothing is not a percentage anyone can read."
    )
    favourable: bool


@strawberry.type(
    description="Profit of a baseline and a scenario, the change attributed to indicators."
)
class ProfitWhatIf:
    baseline: Profit
    scenario: Profit
    profit_change: float
    contributions: list[ProfitContribution] = strawberry.field(
        description="One per indicator that changed."
    )
    favourable_codes: list[str]
    favourable_profit: float = strawberry.field(
        description="Profit with every favourable change applied together."
    )
    interaction: float = strawberry.field(
        description="profitChange minus the sum of the single contributions."
    )

    @classmethod
    def from_wire(cls, record: Record) -> ProfitWhatIf:
        """Build from the kpi service's JSON."""
        return cls(
            baseline=Profit.from_wire(record["baseline"]),
            scenario=Profit.from_wire(record["scenario"]),
            profit_change=record["profitChange"],
            contributions=[
                ProfitContribution(
                    code=c["code"],
                    baseline_value=c["baselineValue"],
                    scenario_value=c["scenarioValue"],
                    profit_alone=c["profitAlone"],
                    absolute=c["absolute"],
                    relative=c["relative"],
                    favourable=c["favourable"],
                )
                for c in record["contributions"]
            ],
            favourable_codes=record["favourableCodes"],
            favourable_profit=record["favourableProfit"],
            interaction=record["interaction"],
        )


@strawberry.type(description="A catalogue KPI's inputs and the value computed from them.")
class KpiValue:
    kpi_code: str
    inputs: list[KpiInputValue]
    value: float

    @classmethod
    def from_wire(cls, record: Record | None) -> KpiValue | None:
        """Build from the kpi service's JSON."""
        if record is None:
            return None
        return cls(
            kpi_code=record["kpiCode"], inputs=_inputs(record["inputs"]), value=record["value"]
        )


@strawberry.type(description="integration_roi and payback_period derived from two periods.")
class FinancialKpis:
    profit_before: float
    profit_after: float
    profit_delta: float
    monthly_profit_increase: float
    integration_roi: KpiValue
    payback_period: KpiValue | None = strawberry.field(
        description="Null when profit did not increase: the investment never pays back."
    )

    @classmethod
    def from_wire(cls, record: Record) -> FinancialKpis:
        """Build from the kpi service's JSON."""
        roi = KpiValue.from_wire(record["integrationRoi"])
        assert roi is not None
        return cls(
            profit_before=record["profitBefore"],
            profit_after=record["profitAfter"],
            profit_delta=record["profitDelta"],
            monthly_profit_increase=record["monthlyProfitIncrease"],
            integration_roi=roi,
            payback_period=KpiValue.from_wire(record["paybackPeriod"]),
        )


# --- inputs ---------------------------------------------------------------------------------


@strawberry.input(description='A named input value, e.g. {name: "within_sla", value: 95}.')
class KpiInputValueInput:
    name: str
    value: float


@strawberry.input(
    description="A KPI measured for a shop (or the platform) and a period "
    "[periodStart, periodEnd); replace (with a reason) revises one."
)
class RecordMeasurementInput:
    shop_id: strawberry.ID = strawberry.field(description='A shop id, or "platform".')
    kpi_code: str
    period_start: datetime
    period_end: datetime
    inputs: list[KpiInputValueInput]
    source: MeasurementSource = MeasurementSource.MANUAL
    replace: bool = False
    reason: str | None = strawberry.UNSET


@strawberry.input(
    description="A shop's target for a KPI; a period limits it to measurements "
    "within [periodStart, periodEnd)."
)
class KpiTargetInput:
    comparator: Comparator
    value: float
    period_start: datetime | None = strawberry.UNSET
    period_end: datetime | None = strawberry.UNSET


@strawberry.input(description="A threshold: value <comparator> value.")
class KpiThresholdInput:
    comparator: Comparator
    value: float


@strawberry.input(description="A declared input of a custom KPI.")
class KpiInputSpecInput:
    name: str
    kind: KpiInputKind


@strawberry.input(description='"A part may not exceed its whole": part ≤ whole (a formula).')
class KpiPartRuleInput:
    part: str
    whole: str


@strawberry.input(
    description="A custom KPI: a formula over declared inputs, in the safe "
    "expression language (numbers, input names, + - * /, parentheses)."
)
class CreateCustomKpiInput:
    code: str
    name: str
    level: KpiLevel
    unit: str
    direction: KpiDirection
    formula: str
    inputs: list[KpiInputSpecInput]
    default_target: KpiThresholdInput | None = strawberry.UNSET
    parts: list[KpiPartRuleInput] = strawberry.field(default_factory=list)


@strawberry.input(
    description="The thirteen indicators of a period (§4.4); c1 and c are fractions 0–1, the "
    "others ≥ 0; churn ≤ c · reach · c1 and rt ≤ q1 (no negative clients or deals)."
)
class ProfitIndicatorsInput:
    reach: float
    c1: float
    c: float
    churn: float
    pu: float
    d: float
    q1: float
    rt: float
    capex: float
    h: float
    cogs: float
    cac: float
    crc: float


@strawberry.input(description="A baseline period and a scenario period.")
class ProfitWhatIfInput:
    baseline: ProfitIndicatorsInput
    scenario: ProfitIndicatorsInput


@strawberry.input(description="Two periods of `months` months each and the investment made.")
class FinancialKpisInput:
    before: ProfitIndicatorsInput
    after: ProfitIndicatorsInput
    investment: float = strawberry.field(
        description="The amount invested in the period (> 0), not a running total."
    )
    months: float


def _named(items: list[Record], field: str, value_key: str) -> dict[str, Any]:
    """``[{name, <value_key>}]`` as the wire's ``{name: value}``; a repeated name is an error."""
    named: dict[str, Any] = {}
    for item in items:
        if item["name"] in named:
            raise ValidationFailed(f"{field}.{item['name']}", f"input {item['name']!r} is repeated")
        named[item["name"]] = item[value_key]
    return named


# --- queries and mutations ------------------------------------------------------------------


@strawberry.type
class KpiQuery:
    @strawberry.field(
        description="The KPI catalogue: a page (built-in first), filtered by level, "
        "or the KPIs of the given codes (unknown codes left out)."
    )
    async def kpi_catalogue(
        self,
        info: Info,
        level: KpiLevel | None = None,
        codes: list[str] | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> KpiPage:
        params: dict[str, Any] = page_args(limit, offset)
        if level is not None:
            params["level"] = level.value
        wanted = _codes(codes)
        if wanted is not None:
            if not wanted:
                return KpiPage(items=[], total_count=0, limit=limit, offset=offset)
            answer = await info.context.clients.kpi.call(
                "GET", "/catalogue", params={"codes": wanted}
            )
            items = [Kpi.from_wire(k) for k in answer["items"]]
            if level is not None:
                items = [k for k in items if k.level is level]
            return KpiPage(items=items, total_count=len(items), limit=len(items), offset=0)
        answer = await info.context.clients.kpi.call("GET", "/catalogue", params=params)
        return KpiPage(
            items=[Kpi.from_wire(k) for k in answer["items"]],
            total_count=answer["totalCount"],
            limit=answer["limit"],
            offset=answer["offset"],
        )

    @strawberry.field(description="A KPI by code; null if there is none.")
    async def kpi(self, info: Info, code: str) -> Kpi | None:
        return await _kpi(info, code)

    @strawberry.field(
        description="A page of measurements (of one shop, one KPI or all), newest period first."
    )
    async def measurements(
        self,
        info: Info,
        shop_id: strawberry.ID | None = None,
        kpi_code: str | None = None,
        from_: FromArg = None,
        to: ToArg = None,
        limit: int = 20,
        offset: int = 0,
    ) -> KpiMeasurementPage:
        params: dict[str, Any] = page_args(limit, offset)
        if shop_id is not None:
            params["shopId"] = check_scope(shop_id, "shopId")
        if kpi_code is not None:
            params["kpiCode"] = kpi_code
        if from_ is not None:
            params["from"] = from_.isoformat()
        if to is not None:
            params["to"] = to.isoformat()
        answer = await info.context.clients.kpi.call("GET", "/measurements", params=params)
        for record in answer["items"]:
            info.context.kpi.measurement.prime(record["id"], record)
        return KpiMeasurementPage(
            items=[KpiMeasurement.from_wire(m) for m in answer["items"]],
            total_count=answer["totalCount"],
            limit=answer["limit"],
            offset=answer["offset"],
        )

    @strawberry.field(description="A measurement by id, with its history; null if there is none.")
    async def measurement(self, info: Info, id: strawberry.ID) -> KpiMeasurement | None:
        record = await info.context.kpi.measurement.load(check_id(str(id)))
        return KpiMeasurement.from_wire(record) if record else None

    @strawberry.field(
        description="A KPI's series for a shop (or the platform), as recorded or "
        "rolled up to week, month or quarter."
    )
    async def kpi_series(
        self,
        info: Info,
        shop_id: strawberry.ID,
        kpi_code: str,
        grain: KpiGrain = KpiGrain.RECORDED,
        from_: FromArg = None,
        to: ToArg = None,
    ) -> KpiSeries:
        scope = check_scope(shop_id, "shopId")
        return await shop_kpi_series(info, scope, kpi_code, grain, from_, to)

    @strawberry.field(description="A shop's (or the platform's) own targets, by KPI code.")
    async def kpi_targets(
        self, info: Info, shop_id: strawberry.ID, limit: int = 100, offset: int = 0
    ) -> KpiTargetPage:
        params: dict[str, str | int] = {
            **page_args(limit, offset),
            "shopId": check_scope(shop_id, "shopId"),
        }
        answer = await info.context.clients.kpi.call("GET", "/targets", params=params)
        return KpiTargetPage(
            items=[KpiTarget.from_wire(t) for t in answer["items"]],
            total_count=answer["totalCount"],
            limit=answer["limit"],
            offset=answer["offset"],
        )

    @strawberry.field(description="The profit model of one period (§4.4).")
    async def profit(self, info: Info, input: ProfitIndicatorsInput) -> Profit:
        answer = await info.context.clients.kpi.call("POST", "/profit", body=wire_body(input))
        return Profit.from_wire(answer)

    @strawberry.field(
        description="What-if: the change of profit between a baseline and a "
        "scenario, attributed to the indicators that changed."
    )
    async def profit_what_if(self, info: Info, input: ProfitWhatIfInput) -> ProfitWhatIf:
        answer = await info.context.clients.kpi.call(
            "POST", "/profit/what-if", body=wire_body(input)
        )
        return ProfitWhatIf.from_wire(answer)

    @strawberry.field(description="integration_roi and payback_period from two periods.")
    async def financial_kpis(self, info: Info, input: FinancialKpisInput) -> FinancialKpis:
        answer = await info.context.clients.kpi.call(
            "POST", "/profit/financial-kpis", body=wire_body(input)
        )
        return FinancialKpis.from_wire(answer)

    @strawberry.field(description="The platform itself: its own KPIs, risks and services.")
    def platform(self) -> Platform:
        return Platform()


def _target_path(shop_id: str, kpi_code: str) -> dict[str, str]:
    return {"shop_id": shop_id, "kpi_code": kpi_code}


@strawberry.type
class KpiMutation:
    @strawberry.mutation(
        description="Record a measurement; its value is computed from the "
        "inputs, and a breach escalates the shop's risks once."
    )
    async def record_measurement(
        self, info: Info, input: RecordMeasurementInput, idempotency_key: IdempotencyKey = None
    ) -> KpiMeasurement:
        headers = idempotency_headers(idempotency_key)
        body = wire_body(input)
        body["shopId"] = await require_scope(info, body["shopId"], "input.shopId")
        body["inputs"] = _named(body["inputs"], "inputs", "value")
        answer = await info.context.clients.kpi.call(
            "POST", "/measurements", body=body, headers=headers
        )
        return KpiMeasurement.from_wire(answer)

    @strawberry.mutation(description="Set (create or replace) a shop's target for a KPI.")
    async def set_kpi_target(
        self, info: Info, shop_id: strawberry.ID, kpi_code: str, input: KpiTargetInput
    ) -> KpiTarget:
        scope = await require_scope(info, shop_id, "shopId")
        answer = await info.context.clients.kpi.call(
            "PUT",
            "/targets/{shop_id}/{kpi_code}",
            path=_target_path(scope, kpi_code),
            body=wire_body(input),
        )
        return KpiTarget.from_wire(answer)

    @strawberry.mutation(description="Delete a shop's target for a KPI (the default applies).")
    async def delete_kpi_target(
        self, info: Info, shop_id: strawberry.ID, kpi_code: str
    ) -> DeletePayload:
        scope = check_scope(shop_id, "shopId")
        answer = await info.context.clients.kpi.call(
            "DELETE", "/targets/{shop_id}/{kpi_code}", path=_target_path(scope, kpi_code)
        )
        return DeletePayload(id=strawberry.ID(answer["id"]), deleted=answer["deleted"])

    @strawberry.mutation(description="Create a custom KPI; its formula is parsed, never eval'd.")
    async def create_custom_kpi(self, info: Info, input: CreateCustomKpiInput) -> Kpi:
        body = wire_body(input)
        body["inputs"] = _named(body["inputs"], "inputs", "kind")
        answer = await info.context.clients.kpi.call("POST", "/catalogue", body=body)
        return Kpi.from_wire(answer)

    @strawberry.mutation(description="Delete a custom KPI without measurements, and its targets.")
    async def delete_custom_kpi(self, info: Info, code: str) -> DeletePayload:
        answer = await info.context.clients.kpi.call(
            "DELETE", "/catalogue/{code}", path={"code": code}
        )
        return DeletePayload(id=strawberry.ID(answer["id"]), deleted=answer["deleted"])
