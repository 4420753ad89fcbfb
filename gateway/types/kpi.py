"""The kpi part of the graph: measurements, series, targets and the latest values.

A measurement's inputs are a list of ``{name, value}`` pairs (the names are those of the KPI's
formula, e.g. ``within_sla``); the kpi service checks them, so an error names the input as
``inputs.<name>``. Targets use the same comparators as monitoring rules (one ``Comparator``
enum in the graph).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Sequence
from datetime import datetime
from typing import Annotated

import strawberry
from strawberry.utils.await_maybe import AwaitableOrValue

from gateway.context import Info
from gateway.loaders import SeriesSpec
from gateway.types.common import Actor, ItemPage, copied
from gateway.types.kpi_catalogue import (
    Kpi,
    KpiDirection,
    KpiGrain,
    KpiInputValue,
    KpiStatus,
    KpiTargetSource,
    MeasurementEscalationState,
    MeasurementSource,
    load_kpi,
)
from gateway.types.risk import Comparator
from gateway.types.scoring import Shop, load_shop
from services.kpi import models
from services.runtime.errors import ValidationFailed
from services.runtime.wire import PLATFORM_SCOPE, check_id

# --- measurements ---------------------------------------------------------------------------


@strawberry.type(description="Where the breach event of a revision stands (the outbox entry).")
class MeasurementEscalation:
    event_id: str
    state: MeasurementEscalationState
    attempts: int
    delivered_at: datetime | None

    @classmethod
    def from_model(cls, escalation: models.Escalation) -> MeasurementEscalation:
        """The GraphQL form of a revision's escalation."""
        return copied(cls, escalation)


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

    @classmethod
    def from_model(cls, entry: models.HistoryEntry) -> MeasurementRevision:
        """The GraphQL form of a replaced revision."""
        return copied(
            cls,
            entry,
            inputs=KpiInputValue.all_of(entry.inputs),
            actor=Actor.from_model(entry.actor),
            escalation=MeasurementEscalation.from_model(entry.escalation),
        )


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
    def of(cls, window: models.JudgedWindow | None) -> KpiWindow | None:
        """The GraphQL form of a judged window (``None`` for a shop's value)."""
        if window is None:
            return None
        return copied(cls, window, inputs=KpiInputValue.all_of(window.inputs))


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
    def from_model(cls, measurement: models.Measurement) -> KpiMeasurement:
        """The GraphQL form of a measurement."""
        return copied(
            cls,
            measurement,
            inputs=KpiInputValue.all_of(measurement.inputs),
            actor=Actor.from_model(measurement.actor),
            history=[MeasurementRevision.from_model(h) for h in measurement.history],
            escalation=MeasurementEscalation.from_model(measurement.escalation),
            window=KpiWindow.of(measurement.window),
        )

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> KpiMeasurement | None:
        """Federation: a measurement by id, batched with the others of the request."""
        return await load_measurement(info, check_id(str(id)))

    @strawberry.field(description="The KPI measured.")
    async def kpi(self, info: Info) -> Kpi | None:
        return await load_kpi(info, self.kpi_code)

    @strawberry.field(description="The shop measured; null for the platform.")
    async def shop(self, info: Info) -> Shop | None:
        scope = str(self.shop_id)
        return None if scope == PLATFORM_SCOPE else await load_shop(info, scope)


async def load_measurement(info: Info, measurement_id: str) -> KpiMeasurement | None:
    """A measurement by id, batched with the others of the request."""
    measurement = await info.context.kpi.measurement.load(measurement_id)
    return KpiMeasurement.from_model(measurement) if measurement else None


@strawberry.type(description="A page of measurements, newest period first.")
class KpiMeasurementPage(ItemPage[KpiMeasurement]):
    pass


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
    def from_model(cls, series: models.Series) -> KpiSeries:
        """The GraphQL form of a series."""
        points = [
            copied(KpiSeriesPoint, p, inputs=KpiInputValue.all_of(p.inputs)) for p in series.points
        ]
        return copied(cls, series, points=points)

    @strawberry.field(description="The KPI of the series.")
    async def kpi(self, info: Info) -> Kpi | None:
        return await load_kpi(info, self.kpi_code)


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
    def from_model(cls, target: models.TargetOut) -> KpiTarget:
        """The GraphQL form of a shop's target."""
        return copied(cls, target, set_by=Actor.from_model(target.set_by))


@strawberry.type(description="A page of a shop's targets, by KPI code.")
class KpiTargetPage(ItemPage[KpiTarget]):
    pass


@strawberry.type(description="The target a latest value is judged against.")
class AppliedKpiTarget:
    comparator: Comparator
    value: float
    source: KpiTargetSource
    period_start: datetime | None
    period_end: datetime | None

    @classmethod
    def of(cls, target: models.AppliedTarget | None) -> AppliedKpiTarget | None:
        """The GraphQL form of an applied target (``None``: the KPI has none)."""
        return None if target is None else copied(cls, target)


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
    def from_model(cls, latest: models.LatestKpi) -> KpiLatest:
        """The GraphQL form of a KPI's latest value."""
        return copied(
            cls,
            latest,
            target=AppliedKpiTarget.of(latest.target),
            window=KpiWindow.of(latest.window),
        )

    @strawberry.field(description="The KPI.")
    async def kpi(self, info: Info) -> Kpi | None:
        return await load_kpi(info, self.kpi_code)

    @strawberry.field(description="The latest measurement; null without data.")
    async def measurement(self, info: Info) -> KpiMeasurement | None:
        if self.measurement_id is None:
            return None
        return await load_measurement(info, str(self.measurement_id))


# --- resolvers shared with Shop and Platform ------------------------------------------------


def kpi_codes(codes: Sequence[str] | None) -> list[str] | None:
    """Requested KPI codes without repeats (at most 100); ``None``: every KPI."""
    if codes is not None and len(codes) > models.MAX_BATCH:
        raise ValidationFailed("codes", f"at most {models.MAX_BATCH} KPI codes")
    return None if codes is None else list(dict.fromkeys(codes))


def shop_kpis(
    info: Info, scope: str, codes: Sequence[str] | None
) -> AwaitableOrValue[list[KpiLatest]]:
    """The latest value and status of a scope's KPIs (all it has data or a target for, or the
    named ones), batched with the other scopes of the request into one call. Answered at once
    (no await) when the batch has already been read, as a page of shops reads it
    (:func:`gateway.types.shop_prefetch.prefetch_kpis`)."""
    wanted = kpi_codes(codes)
    if wanted == []:
        return []
    loaded = info.context.kpi.latest.load((scope, None if wanted is None else tuple(wanted)))
    if isinstance(loaded, asyncio.Future) and loaded.done():  # a loader answers futures
        return _latest_kpis(loaded.result())
    return _awaited_kpis(loaded)


def _latest_kpis(latest: models.ShopLatest) -> list[KpiLatest]:
    return [KpiLatest.from_model(k) for k in latest.kpis]


async def _awaited_kpis(loaded: Awaitable[models.ShopLatest]) -> list[KpiLatest]:
    return _latest_kpis(await loaded)


async def shop_kpi_series(
    info: Info,
    scope: str,
    kpi_code: str,
    grain: KpiGrain,
    start: datetime | None,
    end: datetime | None,
) -> KpiSeries:
    """A scope's series of a KPI, batched with the other scopes of the request into one call."""
    series = await info.context.kpi.series.load((scope, SeriesSpec(kpi_code, grain, start, end)))
    return KpiSeries.from_model(series)


FromArg = Annotated[
    datetime | None,
    strawberry.argument(name="from", description="Periods starting at or after this moment."),
]
ToArg = Annotated[
    datetime | None, strawberry.argument(description="Periods starting before this moment.")
]
