"""Wire contracts of the risk register: catalogue, risks, their actions and history, lists.

Likelihood and impact arrive as given (an integer 1–5 or its code) and are checked by the
domain (see :mod:`services.risk.models`).
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import Field

from services.risk.domain import (
    RiskCategoryCode,
    RiskGroup,
    RiskLevel,
    RiskStatus,
    StageCode,
)
from services.risk.scale_fields import ImpactValue, LikelihoodValue
from services.runtime.caller import Actor, OnBehalfOf
from services.runtime.concurrency import ExpectedVersion
from services.runtime.json_types import NOT_NULL, NULL_AS_EMPTY
from services.runtime.text import multi_line
from services.runtime.wire import (
    LongText,
    PageQuery,
    RecordId,
    ScopeId,
    ShortText,
    WireDate,
    WireModel,
)

Reason = Annotated[str, multi_line(strip=True, min_length=1, max_length=2000)]
ActionText = Annotated[str, multi_line(strip=True, min_length=1, max_length=2000)]

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
