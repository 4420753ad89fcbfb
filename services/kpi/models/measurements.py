"""Wire contracts of measurements: their revisions, history and escalation delivery (§4.2)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import Field, JsonValue

from services.kpi.domain import MeasurementSource
from services.kpi.models.common import MAX_BATCH, MAX_INPUTS, InputName, KpiCode, Reason
from services.runtime.caller import Actor
from services.runtime.wire import PageQuery, RecordId, ScopeId, WireDateTime, WireModel


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
