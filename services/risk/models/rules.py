"""Wire contracts of monitoring rules and of the events that escalate risks (§3.5)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AwareDatetime, Field, Strict, StringConstraints

from services.risk.domain import RiskCategoryCode
from services.risk.monitoring import MAX_LIKELIHOOD_STEP
from services.runtime.caller import Actor
from services.runtime.json_types import INTEGRAL, NOT_NULL, Real
from services.runtime.text import SINGLE_LINE, line
from services.runtime.wire import ScopeId, WireModel

#: Idempotency key of an event (a KPI measurement id, ``slip:<shop>:<stage>``, ...).
EventId = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=200, pattern=r"^[^\s\x00-\x1f\x7f-\x9f]+$"
    ),
]
#: A rule id: built-in ones read ``default-<kpi>-<category>``, custom ones are record ids.
RuleId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,120}$")]
#: How far a breach raises a likelihood (the domain's bound, documented).
LikelihoodStep = Annotated[int, Field(ge=1, le=MAX_LIKELIHOOD_STEP), INTEGRAL]
#: A code a rule names (KPI, comparator, category): one line; the domain checks its value.
RuleCode = Annotated[str, Strict(), StringConstraints(pattern=SINGLE_LINE)]


class EscalationSource(StrEnum):
    """Where an escalation came from (a bounded metrics label)."""

    KPI_RULE = "kpi_rule"
    NO_DATA = "no_data"
    ROADMAP_SLIP = "roadmap_slip"


# --- monitoring rules -----------------------------------------------------------------------


class RuleCreate(WireModel):
    """A custom monitoring rule; values are checked by the domain."""

    kpi_code: RuleCode
    comparator: RuleCode
    threshold: Real
    category: RuleCode
    likelihood_step: LikelihoodStep = 1
    enabled: bool = True


class RuleUpdate(WireModel):
    """Fields of a rule to change (built-in rules are editable too)."""

    kpi_code: Annotated[RuleCode | None, NOT_NULL] = None
    comparator: Annotated[RuleCode | None, NOT_NULL] = None
    threshold: Annotated[Real | None, NOT_NULL] = None
    category: Annotated[RuleCode | None, NOT_NULL] = None
    likelihood_step: Annotated[LikelihoodStep | None, NOT_NULL] = None
    enabled: Annotated[bool | None, NOT_NULL] = None


class Rule(WireModel):
    """A monitoring rule: a breach of ``kpiCode comparator threshold`` escalates ``category``."""

    id: str
    kpi_code: str
    comparator: str
    threshold: float
    category: RiskCategoryCode
    likelihood_step: int
    enabled: bool
    built_in: bool
    description: str
    created_by: Actor = Field(description="Who created the rule (built-in: the service)")
    created_at: datetime
    updated_at: datetime


# --- escalations ----------------------------------------------------------------------------


class KpiMeasurementEvent(WireModel):
    """A KPI measurement (or breach) event: one per revision of a measurement. The revisions
    of one measurement share its breaches: each category escalates once per measurement."""

    event_id: EventId
    shop_id: ScopeId
    kpi_code: Annotated[str, line(min_length=1, max_length=100)]
    value: Real
    measured_at: AwareDatetime
    measurement_id: EventId | None = Field(
        default=None,
        description="The measurement this event is a revision of; default: `eventId` without "
        "a `:<revision>` suffix (the kpi service's event ids are `<id>`, `<id>:2`, ...)",
    )


class NoDataEvent(WireModel):
    """When a shop was last measured; older than 30 days (or never) escalates."""

    event_id: EventId
    shop_id: ScopeId
    last_measurement_at: AwareDatetime | None = None
    shop_created_at: AwareDatetime | None = Field(
        default=None,
        description="When the shop was created: a shop never measured is silent from then "
        "on (without it, a shop never measured counts as silent for 30 days)",
    )
    as_of: AwareDatetime | None = None


class CategoryEscalation(WireModel):
    """What one event did to one category of a shop's risks."""

    category: RiskCategoryCode
    rule_id: str
    step: int
    raised_risk_ids: list[str]
    created_risk_id: str | None
    escalated_by_event: str | None = Field(
        default=None,
        description="The earlier event that escalated this breach already (another revision "
        "of the measurement, an earlier report of the silence): this one changed nothing",
    )


class EscalationOutcome(WireModel):
    """The effect of an event; ``duplicate`` when it had been applied already."""

    event_id: str
    shop_id: str
    duplicate: bool
    escalations: list[CategoryEscalation]


class SlippageCheck(WireModel):
    """The escalations a roadmap check caused (duplicates for stages escalated before)."""

    shop_id: str
    escalations: list[EscalationOutcome]
