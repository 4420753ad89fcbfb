"""Wire contracts of the risk service: the JSON its HTTP API accepts and answers.

Likelihood and impact arrive as given (an integer 1–5 or its code) and are checked by the
domain, so the 5 × 5 scale lives in one place; everything else is checked here.

``shopId`` is a shop's 24-hex id or the built-in scope ``platform``. The risk service does not
own shops (the scoring service does): it accepts any well-formed id, and the gateway checks
that the shop exists before it writes.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import (
    AwareDatetime,
    Field,
    Strict,
    StringConstraints,
)

from services.risk.domain import (
    MAX_LIKELIHOOD_STEP,
    RiskCategoryCode,
    RiskGroup,
    RiskLevel,
    RiskStatus,
    StageCode,
    StageStatus,
)
from services.risk.scale_fields import ImpactValue, LikelihoodValue
from services.runtime.caller import Actor, OnBehalfOf
from services.runtime.concurrency import ExpectedVersion
from services.runtime.json_types import INTEGRAL, NOT_NULL, NULL_AS_EMPTY, Real
from services.runtime.text import SINGLE_LINE, line, multi_line
from services.runtime.wire import (
    LongText,
    PageQuery,
    RecordId,
    ScopeId,
    ShortText,
    WireDate,
    WireModel,
)

#: Idempotency key of an event (a KPI measurement id, ``slip:<shop>:<stage>``, ...).
EventId = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=200, pattern=r"^[^\s\x00-\x1f\x7f-\x9f]+$"
    ),
]
#: A rule id: built-in ones read ``default-<kpi>-<category>``, custom ones are record ids.
RuleId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,120}$")]
Reason = Annotated[str, multi_line(strip=True, min_length=1, max_length=2000)]
ActionText = Annotated[str, multi_line(strip=True, min_length=1, max_length=2000)]
#: How far a breach raises a likelihood (the domain's bound, documented).
LikelihoodStep = Annotated[int, Field(ge=1, le=MAX_LIKELIHOOD_STEP), INTEGRAL]
#: A code a rule names (KPI, comparator, category): one line; the domain checks its value.
RuleCode = Annotated[str, Strict(), StringConstraints(pattern=SINGLE_LINE)]


MAX_BATCH = 100


class SortOrder(StrEnum):
    """Ascending or descending."""

    ASC = "ASC"
    DESC = "DESC"


class AssessmentKind(StrEnum):
    """Which assessment a view uses: before (inherent) or after (residual) the controls."""

    INHERENT = "INHERENT"
    RESIDUAL = "RESIDUAL"


class HistoryAction(StrEnum):
    """What a history entry records."""

    CREATED = "CREATED"
    UPDATED = "UPDATED"
    STATUS_CHANGED = "STATUS_CHANGED"
    ACTION_ADDED = "ACTION_ADDED"
    ACTION_UPDATED = "ACTION_UPDATED"
    ESCALATED = "ESCALATED"


class EscalationSource(StrEnum):
    """Where an escalation came from (a bounded metrics label)."""

    KPI_RULE = "kpi_rule"
    NO_DATA = "no_data"
    ROADMAP_SLIP = "roadmap_slip"


# --- catalogue ------------------------------------------------------------------------------


class CategoryOut(WireModel):
    """A risk category of the catalogue (§3.2)."""

    code: RiskCategoryCode
    group: RiskGroup
    name: str
    manifestation: str
    consequences: str
    monitoring: str
    preventive_actions: str
    default_impact: str
    default_impact_level: int


class GroupOut(WireModel):
    """A risk group of the catalogue (§3.1)."""

    code: RiskGroup
    name: str
    essence: str
    diagnostics: str


class StageInfoOut(WireModel):
    """A roadmap stage of the catalogue (§3.6); ``typicalMaxDays`` is null when ongoing."""

    code: StageCode
    number: int
    name: str
    content: str
    typical_min_days: int
    typical_max_days: int | None
    result: str


class Catalogue(WireModel):
    """Groups, categories and roadmap stages."""

    groups: list[GroupOut]
    categories: list[CategoryOut]
    stages: list[StageInfoOut]


# --- risks ----------------------------------------------------------------------------------


class AssessmentIn(WireModel):
    """A likelihood × impact assessment; each 1–5 or its code. A missing impact defaults to
    the category's default (inherent) or to the inherent impact (residual)."""

    likelihood: LikelihoodValue
    impact: ImpactValue | None = None


class AssessmentOut(WireModel):
    """An assessment with its score (likelihood × impact) and level."""

    likelihood: int
    likelihood_code: str
    impact: int
    impact_code: str
    score: int
    level: RiskLevel


class RiskCreate(WireModel):
    """A new risk of a shop's register."""

    shop_id: ScopeId
    category: RiskCategoryCode
    title: ShortText
    description: Annotated[LongText, NULL_AS_EMPTY] = ""
    owner: ShortText
    inherent: AssessmentIn
    residual: AssessmentIn | None = None
    next_review_at: WireDate | None = None
    on_behalf_of: OnBehalfOf = None
    reason: Reason | None = None


class RiskUpdate(WireModel):
    """Fields to change; an explicit ``null`` clears ``residual`` or ``nextReviewAt``."""

    title: Annotated[ShortText | None, NOT_NULL] = None
    description: Annotated[LongText | None, NOT_NULL] = None
    owner: Annotated[ShortText | None, NOT_NULL] = None
    inherent: Annotated[AssessmentIn | None, NOT_NULL] = None
    residual: AssessmentIn | None = None
    next_review_at: WireDate | None = None
    on_behalf_of: OnBehalfOf = None
    reason: Reason | None = None
    expected_version: ExpectedVersion | None = None


class StatusChange(WireModel):
    """A lifecycle transition, with who and why."""

    status: RiskStatus
    reason: Reason
    on_behalf_of: OnBehalfOf = None
    expected_version: ExpectedVersion | None = None


class ActionCreate(WireModel):
    """A new mitigation action."""

    text: ActionText
    owner: ShortText | None = None
    due_at: WireDate | None = None
    on_behalf_of: OnBehalfOf = None
    expected_version: ExpectedVersion | None = None


class ActionUpdate(WireModel):
    """Fields of a mitigation action to change; ``done: true`` completes it."""

    text: Annotated[ActionText | None, NOT_NULL] = None
    owner: ShortText | None = None
    due_at: WireDate | None = None
    done: Annotated[bool | None, NOT_NULL] = None
    on_behalf_of: OnBehalfOf = None
    reason: Reason | None = None
    expected_version: ExpectedVersion | None = None


class MitigationAction(WireModel):
    """A mitigation action; ``overdue`` is as of today (UTC)."""

    id: str
    text: str
    owner: str | None
    due_at: date | None
    done: bool
    done_at: datetime | None
    overdue: bool
    created_at: datetime


class Change(WireModel):
    """One field a history entry changed, before and after (as text)."""

    field: str
    before: str | None
    after: str | None


class HistoryEntry(WireModel):
    """Who changed what, when and why; escalations name the rule, KPI value and event."""

    at: datetime
    actor: Actor
    on_behalf_of: str | None
    action: HistoryAction
    changes: list[Change]
    reason: str | None
    rule_id: str | None = None
    kpi_code: str | None = None
    kpi_value: float | None = None
    event_id: str | None = None


class Risk(WireModel):
    """A risk as the API answers it, with its full history (oldest first)."""

    id: str
    shop_id: str
    category: RiskCategoryCode
    group: RiskGroup
    title: str
    description: str
    owner: str | None
    inherent: AssessmentOut
    residual: AssessmentOut | None
    status: RiskStatus
    allowed_transitions: list[RiskStatus]
    next_review_at: date | None
    review_overdue: bool
    actions: list[MitigationAction]
    history: list[HistoryEntry]
    created_at: datetime
    updated_at: datetime
    version: int


class RiskSort(StrEnum):
    """Orders a risk list can be sorted by."""

    SCORE = "SCORE"
    RESIDUAL_SCORE = "RESIDUAL_SCORE"
    CREATED_AT = "CREATED_AT"
    UPDATED_AT = "UPDATED_AT"
    TITLE = "TITLE"
    NEXT_REVIEW = "NEXT_REVIEW"


class RiskListQuery(PageQuery):
    """Parameters of ``GET /risks``: filters, order and a page — of one list, of each shop
    of ``shopIds`` (a DataLoader batch), or the risks of ``ids``."""

    shop_id: ScopeId | None = None
    shop_ids: list[ScopeId] | None = Field(default=None, min_length=1, max_length=MAX_BATCH)
    ids: list[RecordId] | None = Field(default=None, min_length=1, max_length=MAX_BATCH)
    group: list[RiskGroup] | None = Field(default=None, max_length=10)
    category: list[RiskCategoryCode] | None = Field(default=None, max_length=20)
    level: list[RiskLevel] | None = Field(default=None, max_length=10)
    status: list[RiskStatus] | None = Field(default=None, max_length=10)
    owner: ShortText | None = None
    sort: RiskSort = RiskSort.SCORE
    order: SortOrder = SortOrder.DESC


class RiskBatch(WireModel):
    """Risks answered for ``ids`` (order of the request, missing omitted)."""

    items: list[Risk]


class ShopRisks(WireModel):
    """One page of one shop's risks, in a batch."""

    shop_id: str
    items: list[Risk]
    total_count: int
    limit: int
    offset: int


class ShopRisksBatch(WireModel):
    """A page of risks for each shop of a batch (order of the request)."""

    items: list[ShopRisks]


# --- views ----------------------------------------------------------------------------------


class ViewQuery(WireModel):
    """A batch of scopes and the assessment a view uses."""

    shop_ids: list[ScopeId] = Field(min_length=1, max_length=MAX_BATCH)
    kind: AssessmentKind = AssessmentKind.INHERENT


class RiskMatrix(WireModel):
    """5 × 5 counts of a shop's open risks, ``cells[likelihood - 1][impact - 1]``;
    ``unassessed`` counts open risks without a residual assessment (RESIDUAL only)."""

    shop_id: str
    kind: AssessmentKind
    cells: list[list[int]]
    total: int
    unassessed: int


class MatrixBatch(WireModel):
    """Matrices of a batch of shops (order of the request)."""

    items: list[RiskMatrix]


class LevelCount(WireModel):
    """How many open risks are at a level."""

    level: RiskLevel
    count: int


class GroupSummary(WireModel):
    """Open risks of one group, by level."""

    group: RiskGroup
    total: int
    by_level: list[LevelCount]


class RiskSummary(WireModel):
    """Open risks of a shop by group and level."""

    shop_id: str
    kind: AssessmentKind
    total: int
    by_level: list[LevelCount]
    by_group: list[GroupSummary]


class SummaryBatch(WireModel):
    """Summaries of a batch of shops (order of the request)."""

    items: list[RiskSummary]


class OverdueQuery(WireModel):
    """Overdue reviews and actions of a shop as of a day (default: today, UTC)."""

    shop_id: ScopeId
    as_of: WireDate | None = None


class OverdueAction(WireModel):
    """An unfinished mitigation action past its due date, with its risk."""

    risk_id: str
    risk_title: str
    action: MitigationAction


class Overdue(WireModel):
    """Open risks whose review is overdue, and overdue actions of open risks."""

    shop_id: str
    as_of: date
    reviews: list[Risk]
    actions: list[OverdueAction]


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


# --- roadmap --------------------------------------------------------------------------------


class StageUpdate(WireModel):
    """Fields of a roadmap stage to change; an explicit ``null`` clears a date. Starting a
    stage without ``actualStart``, or finishing it (DONE) without ``actualEnd``, records today;
    actual dates may not lie in the future."""

    status: StageStatus | None = None
    planned_start: WireDate | None = None
    planned_end: WireDate | None = None
    actual_start: WireDate | None = None
    actual_end: WireDate | None = None
    on_behalf_of: OnBehalfOf = None


class RoadmapStage(WireModel):
    """A stage of a shop's roadmap; ``slippageDays`` is as of ``asOf`` of the roadmap."""

    code: StageCode
    number: int
    name: str
    content: str
    typical_min_days: int
    typical_max_days: int | None
    result: str
    status: StageStatus
    planned_start: date | None
    planned_end: date | None
    actual_start: date | None
    actual_end: date | None
    slippage_days: int | None
    slips: bool
    updated_at: datetime | None
    updated_by: str | None
    actor: Actor | None


class Roadmap(WireModel):
    """The five stages of a shop (missing ones are NOT_STARTED)."""

    shop_id: str
    as_of: date
    stages: list[RoadmapStage]


class RoadmapBatch(WireModel):
    """Roadmaps of a batch of shops (order of the request)."""

    items: list[Roadmap]


class ShopIdsQuery(WireModel):
    """A batch of scopes (at most 100)."""

    shop_ids: list[ScopeId] = Field(min_length=1, max_length=MAX_BATCH)
