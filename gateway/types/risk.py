"""The risk part of the graph: catalogue, register, lifecycle, views, rules, roadmap.

Likelihood and impact are entered as integers 1–5 and categories as codes (strings), so that
the risk service checks them and an error names the field (``inherent.likelihood``,
``category``); answers carry both the numbers and the enum codes. The risk service does not
know shops: mutations naming a shop check here, through the scoring service, that it exists
(the built-in scope ``platform`` always does).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import strawberry

from gateway.context import Info
from gateway.idempotency import EXPECTED_VERSION_DESCRIPTION, IdempotencyKey, idempotency_headers
from gateway.loaders import risk_params
from gateway.types.common import (
    CHANGED_BY_DEPRECATION,
    ON_BEHALF_OF,
    Actor,
    DeletePayload,
    page_args,
    wire_body,
    wire_time,
)
from gateway.types.scores import SortOrder
from gateway.types.scoring import Shop, load_shop
from services.risk import domain, models
from services.runtime.errors import ErrorCode, IntegraError, NotFound
from services.runtime.wire import PLATFORM_SCOPE, check_id, check_scope

Record = dict[str, Any]

strawberry.enum(domain.RiskGroup, description="A group of integration risks (§3.1).")
strawberry.enum(domain.RiskCategoryCode, description="A risk category of the catalogue (§3.2).")
strawberry.enum(domain.Likelihood, description="Likelihood on the 5-point scale (1–5).")
strawberry.enum(domain.Impact, description="Impact on the 5-point scale (1–5).")
strawberry.enum(domain.RiskLevel, description="Level of a score: ≤4, ≤9, ≤16, ≤25.")
strawberry.enum(domain.RiskStatus, description="Where a risk is in its lifecycle.")
strawberry.enum(domain.Comparator, description="How a KPI value is compared to a threshold.")
strawberry.enum(domain.StageCode, description="A stage of the integration roadmap.")
strawberry.enum(domain.StageStatus, description="Progress of a roadmap stage.")
strawberry.enum(domain.DefaultImpact, description="A category's default impact from the source.")
strawberry.enum(models.AssessmentKind, description="Inherent (before) or residual (after).")
strawberry.enum(models.HistoryAction, name="RiskHistoryAction", description="A change's kind.")
strawberry.enum(models.RiskSort, description="Orders a risk list can be sorted by.")
RiskGroup = domain.RiskGroup
RiskCategoryCode = domain.RiskCategoryCode
Likelihood = domain.Likelihood
Impact = domain.Impact
RiskLevel = domain.RiskLevel
RiskStatus = domain.RiskStatus
Comparator = domain.Comparator
StageCode = domain.StageCode
StageStatus = domain.StageStatus
DefaultImpact = domain.DefaultImpact
AssessmentKind = models.AssessmentKind
RiskHistoryAction = models.HistoryAction
RiskSort = models.RiskSort


async def require_scope(info: Info, value: object, field: str) -> str:
    """A scope that exists: ``platform`` or a shop the scoring service knows (NOT_FOUND)."""
    scope = check_scope(str(value), field)
    if scope != PLATFORM_SCOPE and await info.context.scoring.shop.load(scope) is None:
        raise NotFound("shop", scope, field)
    return scope


def _day(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


# --- catalogue ------------------------------------------------------------------------------


@strawberry.type(description="A risk category with its catalogue texts (§3.2).")
class RiskCategory:
    code: RiskCategoryCode
    group: RiskGroup
    name: str
    manifestation: str
    consequences: str
    monitoring: str
    preventive_actions: str
    default_impact: DefaultImpact
    default_impact_level: Impact = strawberry.field(description="HIGH → MAJOR, MEDIUM → MODERATE.")

    @classmethod
    def from_wire(cls, record: Record) -> RiskCategory:
        """Build from the risk service's JSON."""
        return cls(
            code=RiskCategoryCode(record["code"]),
            group=RiskGroup(record["group"]),
            name=record["name"],
            manifestation=record["manifestation"],
            consequences=record["consequences"],
            monitoring=record["monitoring"],
            preventive_actions=record["preventiveActions"],
            default_impact=DefaultImpact(record["defaultImpact"]),
            default_impact_level=Impact(record["defaultImpactLevel"]),
        )


@strawberry.type(description="A risk group with its categories (§3.1).")
class RiskGroupInfo:
    code: RiskGroup
    name: str
    essence: str
    diagnostics: str
    categories: list[RiskCategory]


@strawberry.type(description="The catalogue: risk groups and categories.")
class RiskCatalogue:
    groups: list[RiskGroupInfo]
    categories: list[RiskCategory]


# --- risks ----------------------------------------------------------------------------------


@strawberry.type(description="A likelihood × impact assessment with its score and level.")
class RiskAssessment:
    likelihood: int = strawberry.field(description="1–5.")
    likelihood_code: Likelihood
    impact: int = strawberry.field(description="1–5.")
    impact_code: Impact
    score: int = strawberry.field(description="likelihood × impact, 1–25.")
    level: RiskLevel

    @classmethod
    def from_wire(cls, record: Record | None) -> RiskAssessment | None:
        """Build from the risk service's JSON."""
        if record is None:
            return None
        return cls(
            likelihood=record["likelihood"],
            likelihood_code=domain.Likelihood[record["likelihoodCode"]],
            impact=record["impact"],
            impact_code=domain.Impact[record["impactCode"]],
            score=record["score"],
            level=RiskLevel(record["level"]),
        )


@strawberry.type(description="A mitigation action of a risk.")
class MitigationAction:
    id: strawberry.ID
    text: str
    owner: str | None
    due_at: date | None
    done: bool
    done_at: datetime | None
    overdue: bool = strawberry.field(description="Unfinished and past its due date (UTC).")
    created_at: datetime

    @classmethod
    def from_wire(cls, record: Record) -> MitigationAction:
        """Build from the risk service's JSON."""
        return cls(
            id=strawberry.ID(record["id"]),
            text=record["text"],
            owner=record["owner"],
            due_at=_day(record["dueAt"]),
            done=record["done"],
            done_at=wire_time(record["doneAt"]) if record["doneAt"] else None,
            overdue=record["overdue"],
            created_at=wire_time(record["createdAt"]),
        )


@strawberry.type(description="One field a change touched, before and after (as text).")
class RiskChange:
    field: str
    before: str | None
    after: str | None


@strawberry.type(description="Who changed what, when and why; escalations name their cause.")
class RiskHistoryEntry:
    at: datetime
    actor: Actor = strawberry.field(description="The authenticated caller who wrote it.")
    on_behalf_of: str | None = strawberry.field(description=ON_BEHALF_OF)
    action: RiskHistoryAction
    changes: list[RiskChange]
    reason: str | None
    rule_id: str | None = strawberry.field(description="The monitoring rule that escalated.")
    kpi_code: str | None
    kpi_value: float | None = strawberry.field(description="The KPI value (or slipped days).")
    event_id: str | None = strawberry.field(description="The event that escalated.")

    @classmethod
    def from_wire(cls, record: Record) -> RiskHistoryEntry:
        """Build from the risk service's JSON."""
        return cls(
            at=wire_time(record["at"]),
            actor=Actor.from_wire(record["actor"]),
            on_behalf_of=record["onBehalfOf"],
            action=RiskHistoryAction(record["action"]),
            changes=[RiskChange(**c) for c in record["changes"]],
            reason=record["reason"],
            rule_id=record["ruleId"],
            kpi_code=record["kpiCode"],
            kpi_value=record["kpiValue"],
            event_id=record["eventId"],
        )


@strawberry.federation.type(keys=["id"], description="A risk of a shop's register (§3.4).")
class Risk:
    id: strawberry.ID
    shop_id: strawberry.ID = strawberry.field(description='A shop id, or "platform".')
    category: RiskCategoryCode
    group: RiskGroup
    title: str
    description: str
    owner: str | None
    inherent: RiskAssessment
    residual: RiskAssessment | None
    status: RiskStatus
    allowed_transitions: list[RiskStatus]
    next_review_at: date | None
    review_overdue: bool
    actions: list[MitigationAction]
    history: list[RiskHistoryEntry] = strawberry.field(description="Oldest first.")
    created_at: datetime
    updated_at: datetime
    version: int

    @classmethod
    def from_wire(cls, record: Record) -> Risk:
        """Build from the risk service's JSON."""
        inherent = RiskAssessment.from_wire(record["inherent"])
        assert inherent is not None
        return cls(
            id=strawberry.ID(record["id"]),
            shop_id=strawberry.ID(record["shopId"]),
            category=RiskCategoryCode(record["category"]),
            group=RiskGroup(record["group"]),
            title=record["title"],
            description=record["description"],
            owner=record["owner"],
            inherent=inherent,
            residual=RiskAssessment.from_wire(record["residual"]),
            status=RiskStatus(record["status"]),
            allowed_transitions=[RiskStatus(s) for s in record["allowedTransitions"]],
            next_review_at=_day(record["nextReviewAt"]),
            review_overdue=record["reviewOverdue"],
            actions=[MitigationAction.from_wire(a) for a in record["actions"]],
            history=[RiskHistoryEntry.from_wire(h) for h in record["history"]],
            created_at=wire_time(record["createdAt"]),
            updated_at=wire_time(record["updatedAt"]),
            version=record["version"],
        )

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> Risk | None:
        """Federation: a risk by id, batched with the others of the request."""
        record = await info.context.risk.risk.load(check_id(str(id)))
        return cls.from_wire(record) if record else None

    @strawberry.field(description="The shop this risk belongs to; null for the platform.")
    async def shop(self, info: Info) -> Shop | None:
        if str(self.shop_id) == PLATFORM_SCOPE:
            return None
        return await load_shop(info, str(self.shop_id))


@strawberry.type(description="A page of risks.")
class RiskPage:
    items: list[Risk]
    total_count: int
    limit: int
    offset: int

    @classmethod
    def from_wire(cls, record: Record) -> RiskPage:
        """Build from the risk service's JSON."""
        return cls(
            items=[Risk.from_wire(r) for r in record["items"]],
            total_count=record["totalCount"],
            limit=record["limit"],
            offset=record["offset"],
        )


# --- views ----------------------------------------------------------------------------------


@strawberry.type(description="5 × 5 counts of a shop's open risks: rows are likelihood 1–5, "
                 "columns impact 1–5.")  # fmt: skip
class RiskMatrix:
    shop_id: strawberry.ID
    kind: AssessmentKind
    cells: list[list[int]] = strawberry.field(description="cells[likelihood-1][impact-1].")
    total: int
    unassessed: int = strawberry.field(description="Open risks without a residual assessment.")

    @classmethod
    def from_wire(cls, record: Record) -> RiskMatrix:
        """Build from the risk service's JSON."""
        return cls(
            shop_id=strawberry.ID(record["shopId"]),
            kind=AssessmentKind(record["kind"]),
            cells=record["cells"],
            total=record["total"],
            unassessed=record["unassessed"],
        )


@strawberry.type(description="How many open risks are at a level.")
class RiskLevelCount:
    level: RiskLevel
    count: int


@strawberry.type(description="Open risks of one group, by level.")
class RiskGroupCount:
    group: RiskGroup
    total: int
    by_level: list[RiskLevelCount]


@strawberry.type(description="Open risks of a shop by group and level.")
class RiskSummary:
    shop_id: strawberry.ID
    kind: AssessmentKind
    total: int
    by_level: list[RiskLevelCount]
    by_group: list[RiskGroupCount]


def _levels(records: list[Record]) -> list[RiskLevelCount]:
    return [RiskLevelCount(level=RiskLevel(r["level"]), count=r["count"]) for r in records]


@strawberry.type(description="An overdue mitigation action and its risk.")
class OverdueAction:
    risk_id: strawberry.ID
    risk_title: str
    action: MitigationAction


@strawberry.type(description="Overdue reviews and actions of a shop's open risks.")
class RiskOverdue:
    shop_id: strawberry.ID
    as_of: date
    reviews: list[Risk]
    actions: list[OverdueAction]


# --- monitoring rules and escalations -------------------------------------------------------


@strawberry.type(description="A KPI → risk rule: a breach raises the category's likelihood.")
class MonitoringRule:
    id: strawberry.ID
    kpi_code: str
    comparator: Comparator
    threshold: float
    category: RiskCategoryCode
    likelihood_step: int
    enabled: bool
    built_in: bool
    description: str
    created_by: Actor = strawberry.field(description="Who created it (built-in: the service).")
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_wire(cls, record: Record) -> MonitoringRule:
        """Build from the risk service's JSON."""
        return cls(
            id=strawberry.ID(record["id"]),
            kpi_code=record["kpiCode"],
            comparator=Comparator(record["comparator"]),
            threshold=record["threshold"],
            category=RiskCategoryCode(record["category"]),
            likelihood_step=record["likelihoodStep"],
            enabled=record["enabled"],
            built_in=record["builtIn"],
            description=record["description"],
            created_by=Actor.from_wire(record["createdBy"]),
            created_at=wire_time(record["createdAt"]),
            updated_at=wire_time(record["updatedAt"]),
        )


@strawberry.type(description="What one event did to one risk category of a shop.")
class CategoryEscalation:
    category: RiskCategoryCode
    rule_id: str
    step: int
    raised_risk_ids: list[strawberry.ID]
    created_risk_id: strawberry.ID | None
    escalated_by_event: str | None = strawberry.field(
        default=None,
        description="The earlier event that escalated this breach already (another revision "
        "of the same measurement, an earlier report of the same silence): this event changed "
        "nothing for the category.",
    )


@strawberry.type(description="The effect of an event; duplicate when applied before.")
class EscalationOutcome:
    event_id: str
    shop_id: strawberry.ID
    duplicate: bool
    escalations: list[CategoryEscalation]

    @classmethod
    def from_wire(cls, record: Record) -> EscalationOutcome:
        """Build from the risk service's JSON."""
        return cls(
            event_id=record["eventId"],
            shop_id=strawberry.ID(record["shopId"]),
            duplicate=record["duplicate"],
            escalations=[
                CategoryEscalation(
                    category=RiskCategoryCode(e["category"]),
                    rule_id=e["ruleId"],
                    step=e["step"],
                    raised_risk_ids=[strawberry.ID(i) for i in e["raisedRiskIds"]],
                    created_risk_id=strawberry.ID(e["createdRiskId"])
                    if e["createdRiskId"]
                    else None,
                    escalated_by_event=e.get("escalatedByEvent"),
                )
                for e in record["escalations"]
            ],
        )


# --- roadmap --------------------------------------------------------------------------------


@strawberry.type(description="A stage of a shop's integration roadmap (§3.6).")
class RoadmapStage:
    code: StageCode
    number: int
    name: str
    content: str
    typical_min_days: int
    typical_max_days: int | None = strawberry.field(description="Null: ongoing, never slips.")
    result: str
    status: StageStatus
    planned_start: date | None
    planned_end: date | None
    actual_start: date | None
    actual_end: date | None
    slippage_days: int | None = strawberry.field(
        description="Actual (or elapsed) duration minus the typical upper bound."
    )
    slips: bool
    updated_at: datetime | None
    updated_by: str | None = strawberry.field(description="onBehalfOf of the last change.")
    actor: Actor | None = strawberry.field(description="Who changed it last (credential).")


@strawberry.type(description="The five stages of a shop; missing ones are NOT_STARTED.")
class Roadmap:
    shop_id: strawberry.ID
    as_of: date
    stages: list[RoadmapStage]

    @classmethod
    def from_wire(cls, record: Record) -> Roadmap:
        """Build from the risk service's JSON."""
        return cls(
            shop_id=strawberry.ID(record["shopId"]),
            as_of=date.fromisoformat(record["asOf"]),
            stages=[
                RoadmapStage(
                    code=StageCode(s["code"]),
                    number=s["number"],
                    name=s["name"],
                    content=s["content"],
                    typical_min_days=s["typicalMinDays"],
                    typical_max_days=s["typicalMaxDays"],
                    result=s["result"],
                    status=StageStatus(s["status"]),
                    planned_start=_day(s["plannedStart"]),
                    planned_end=_day(s["plannedEnd"]),
                    actual_start=_day(s["actualStart"]),
                    actual_end=_day(s["actualEnd"]),
                    slippage_days=s["slippageDays"],
                    slips=s["slips"],
                    updated_at=wire_time(s["updatedAt"]) if s["updatedAt"] else None,
                    updated_by=s["updatedBy"],
                    actor=Actor.from_wire(s["actor"]) if s["actor"] else None,
                )
                for s in record["stages"]
            ],
        )


# --- inputs ---------------------------------------------------------------------------------


@strawberry.input(description="Filters of a risk list; each list means any of its values.")
class RiskFilter:
    group: list[RiskGroup] | None = strawberry.UNSET
    category: list[RiskCategoryCode] | None = strawberry.UNSET
    level: list[RiskLevel] | None = strawberry.field(
        default=strawberry.UNSET, description="Inherent level."
    )
    status: list[RiskStatus] | None = strawberry.UNSET
    owner: str | None = strawberry.UNSET


@strawberry.input(description="Likelihood and impact, each 1–5; impact defaults (see fields).")
class RiskAssessmentInput:
    likelihood: int
    impact: int | None = strawberry.UNSET


@strawberry.input(description="A new risk; inherent impact defaults to the category's.")
class CreateRiskInput:
    shop_id: strawberry.ID = strawberry.field(description='A shop id, or "platform".')
    category: str = strawberry.field(description="A RiskCategoryCode.")
    title: str
    owner: str
    inherent: RiskAssessmentInput
    description: str | None = strawberry.UNSET
    residual: RiskAssessmentInput | None = strawberry.UNSET
    next_review_at: date | None = strawberry.UNSET
    reason: str | None = strawberry.UNSET
    on_behalf_of: str | None = strawberry.field(default=strawberry.UNSET, description=ON_BEHALF_OF)
    changed_by: str | None = strawberry.field(
        default=strawberry.UNSET, deprecation_reason=CHANGED_BY_DEPRECATION
    )


@strawberry.input(description="Fields to change; null clears residual or nextReviewAt.")
class UpdateRiskInput:
    title: str | None = strawberry.UNSET
    description: str | None = strawberry.UNSET
    owner: str | None = strawberry.UNSET
    inherent: RiskAssessmentInput | None = strawberry.UNSET
    residual: RiskAssessmentInput | None = strawberry.UNSET
    next_review_at: date | None = strawberry.UNSET
    reason: str | None = strawberry.UNSET
    expected_version: int | None = strawberry.field(
        default=strawberry.UNSET, description=EXPECTED_VERSION_DESCRIPTION
    )
    on_behalf_of: str | None = strawberry.field(default=strawberry.UNSET, description=ON_BEHALF_OF)
    changed_by: str | None = strawberry.field(
        default=strawberry.UNSET, deprecation_reason=CHANGED_BY_DEPRECATION
    )


@strawberry.input(description="A lifecycle transition, with who and why.")
class ChangeRiskStatusInput:
    status: RiskStatus
    reason: str
    expected_version: int | None = strawberry.field(
        default=strawberry.UNSET, description=EXPECTED_VERSION_DESCRIPTION
    )
    on_behalf_of: str | None = strawberry.field(default=strawberry.UNSET, description=ON_BEHALF_OF)
    changed_by: str | None = strawberry.field(
        default=strawberry.UNSET, deprecation_reason=CHANGED_BY_DEPRECATION
    )


@strawberry.input(description="A new mitigation action.")
class AddMitigationActionInput:
    text: str
    owner: str | None = strawberry.UNSET
    due_at: date | None = strawberry.UNSET
    expected_version: int | None = strawberry.field(
        default=strawberry.UNSET, description=EXPECTED_VERSION_DESCRIPTION
    )
    on_behalf_of: str | None = strawberry.field(default=strawberry.UNSET, description=ON_BEHALF_OF)
    changed_by: str | None = strawberry.field(
        default=strawberry.UNSET, deprecation_reason=CHANGED_BY_DEPRECATION
    )


@strawberry.input(description="Fields of a mitigation action to change; done completes it.")
class UpdateMitigationActionInput:
    text: str | None = strawberry.UNSET
    owner: str | None = strawberry.UNSET
    due_at: date | None = strawberry.UNSET
    done: bool | None = strawberry.UNSET
    reason: str | None = strawberry.UNSET
    expected_version: int | None = strawberry.field(
        default=strawberry.UNSET, description=EXPECTED_VERSION_DESCRIPTION
    )
    on_behalf_of: str | None = strawberry.field(default=strawberry.UNSET, description=ON_BEHALF_OF)
    changed_by: str | None = strawberry.field(
        default=strawberry.UNSET, deprecation_reason=CHANGED_BY_DEPRECATION
    )


@strawberry.input(description="A custom monitoring rule.")
class CreateMonitoringRuleInput:
    kpi_code: str = strawberry.field(
        description="The code of a KPI of the catalogue or of a custom KPI (another code is a "
        "VALIDATION_ERROR)."
    )
    comparator: Comparator
    threshold: float
    category: str = strawberry.field(description="A RiskCategoryCode.")
    likelihood_step: int = 1
    enabled: bool = True


@strawberry.input(description="Fields of a monitoring rule to change.")
class UpdateMonitoringRuleInput:
    kpi_code: str | None = strawberry.UNSET
    comparator: Comparator | None = strawberry.UNSET
    threshold: float | None = strawberry.UNSET
    category: str | None = strawberry.UNSET
    likelihood_step: int | None = strawberry.UNSET
    enabled: bool | None = strawberry.UNSET


@strawberry.input(description="Fields of a roadmap stage to change; null clears a date.")
class UpdateRoadmapStageInput:
    status: StageStatus | None = strawberry.UNSET
    planned_start: date | None = strawberry.UNSET
    planned_end: date | None = strawberry.UNSET
    actual_start: date | None = strawberry.field(
        default=strawberry.UNSET,
        description="When the stage started; not after today (UTC), else VALIDATION_ERROR. "
        "Starting a stage (IN_PROGRESS) without it starts it today.",
    )
    actual_end: date | None = strawberry.field(
        default=strawberry.UNSET,
        description="When the stage ended (DONE only); not after today (UTC), else "
        "VALIDATION_ERROR. Finishing a stage (DONE) without it ends it today.",
    )
    on_behalf_of: str | None = strawberry.field(default=strawberry.UNSET, description=ON_BEHALF_OF)
    changed_by: str | None = strawberry.field(
        default=strawberry.UNSET, deprecation_reason=CHANGED_BY_DEPRECATION
    )


@strawberry.input(description="A KPI measurement; eventId (its id) makes it escalate once.")
class KpiMeasurementInput:
    event_id: str
    shop_id: strawberry.ID
    kpi_code: str
    value: float
    measured_at: datetime
    measurement_id: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="The measurement this event is a revision of (its revisions escalate each "
        "category once); default: eventId without a `:<revision>` suffix.",
    )


@strawberry.input(
    description="When a shop was last measured (null: never). Each silence escalates once: "
    "it begins at lastMeasurementAt, or at shopCreatedAt when the shop was never measured."
)
class MissingKpiDataInput:
    event_id: str
    shop_id: strawberry.ID
    last_measurement_at: datetime | None
    as_of: datetime | None = strawberry.UNSET
    shop_created_at: datetime | None = strawberry.field(
        default=strawberry.UNSET,
        description="When the shop was created: a shop never measured escalates 30 days "
        "after it (without it, a shop never measured counts as silent at once).",
    )


# --- resolvers shared with Shop -------------------------------------------------------------


def _filter_params(
    filter: RiskFilter | None, sort: RiskSort | None, order: SortOrder | None
) -> dict[str, Any]:
    params: dict[str, Any] = dict(wire_body(filter)) if filter else {}
    params = {k: v for k, v in params.items() if v is not None}
    params["sort"] = (sort or RiskSort.SCORE).value
    params["order"] = (order or SortOrder.DESC).value
    return params


async def shop_risks(
    info: Info,
    shop_id: str,
    filter: RiskFilter | None,
    sort: RiskSort | None,
    order: SortOrder | None,
    limit: int,
    offset: int,
) -> RiskPage:
    """A page of one shop's risks, batched with the other shops of the request."""
    params = {**_filter_params(filter, sort, order), **page_args(limit, offset)}
    record = await info.context.risk.shop_risks.load((shop_id, risk_params(params)))
    return RiskPage.from_wire(record)


async def shop_risk_matrix(info: Info, shop_id: str, kind: AssessmentKind | None) -> RiskMatrix:
    """A shop's 5 × 5 matrix, batched with the other shops of the request."""
    kind = kind or AssessmentKind.INHERENT
    return RiskMatrix.from_wire(await info.context.risk.matrix.load((shop_id, kind.value)))


async def shop_roadmap(info: Info, shop_id: str) -> Roadmap:
    """A shop's roadmap, batched with the other shops of the request."""
    return Roadmap.from_wire(await info.context.risk.roadmap.load(shop_id))


# --- queries and mutations ------------------------------------------------------------------


def _catalogue(record: Record) -> RiskCatalogue:
    categories = [RiskCategory.from_wire(c) for c in record["categories"]]
    return RiskCatalogue(
        groups=[
            RiskGroupInfo(
                code=RiskGroup(g["code"]),
                name=g["name"],
                essence=g["essence"],
                diagnostics=g["diagnostics"],
                categories=[c for c in categories if c.group.value == g["code"]],
            )
            for g in record["groups"]
        ],
        categories=categories,
    )


@strawberry.type
class RiskQuery:
    @strawberry.field(description="Risk groups and categories with their texts.")
    async def risk_catalogue(self, info: Info) -> RiskCatalogue:
        return _catalogue(await info.context.clients.risk.call("GET", "/catalogue"))

    @strawberry.field(description="A risk by id, with its history; null if there is none.")
    async def risk(self, info: Info, id: strawberry.ID) -> Risk | None:
        record = await info.context.risk.risk.load(check_id(str(id)))
        return Risk.from_wire(record) if record else None

    @strawberry.field(description="A page of risks (of one shop or all), filtered and sorted.")
    async def risks(
        self,
        info: Info,
        shop_id: strawberry.ID | None = None,
        filter: RiskFilter | None = None,
        sort: RiskSort = models.RiskSort.SCORE,
        order: SortOrder = SortOrder.DESC,
        limit: int = 20,
        offset: int = 0,
    ) -> RiskPage:
        params = {**_filter_params(filter, sort, order), **page_args(limit, offset)}
        if shop_id is not None:
            params["shopId"] = check_scope(shop_id, "shopId")
        return RiskPage.from_wire(
            await info.context.clients.risk.call("GET", "/risks", params=params)
        )

    @strawberry.field(description="The 5 × 5 matrix of a shop's open risks.")
    async def risk_matrix(
        self, info: Info, shop_id: strawberry.ID, kind: AssessmentKind = AssessmentKind.INHERENT
    ) -> RiskMatrix:
        return await shop_risk_matrix(info, check_scope(shop_id, "shopId"), kind)

    @strawberry.field(description="A shop's open risks counted by group and level.")
    async def risk_summary(
        self, info: Info, shop_id: strawberry.ID, kind: AssessmentKind = AssessmentKind.INHERENT
    ) -> RiskSummary:
        params = {"shopIds": [check_scope(shop_id, "shopId")], "kind": kind.value}
        answer = await info.context.clients.risk.call("GET", "/summary", params=params)
        record = answer["items"][0]
        return RiskSummary(
            shop_id=strawberry.ID(record["shopId"]),
            kind=AssessmentKind(record["kind"]),
            total=record["total"],
            by_level=_levels(record["byLevel"]),
            by_group=[
                RiskGroupCount(
                    group=RiskGroup(g["group"]), total=g["total"], by_level=_levels(g["byLevel"])
                )
                for g in record["byGroup"]
            ],
        )

    @strawberry.field(description="Overdue reviews and actions of a shop (default: today, UTC).")
    async def risk_overdue(
        self, info: Info, shop_id: strawberry.ID, as_of: date | None = None
    ) -> RiskOverdue:
        params: dict[str, str] = {"shopId": check_scope(shop_id, "shopId")}
        if as_of is not None:
            params["asOf"] = as_of.isoformat()
        record = await info.context.clients.risk.call("GET", "/overdue", params=params)
        return RiskOverdue(
            shop_id=strawberry.ID(record["shopId"]),
            as_of=date.fromisoformat(record["asOf"]),
            reviews=[Risk.from_wire(r) for r in record["reviews"]],
            actions=[
                OverdueAction(
                    risk_id=strawberry.ID(a["riskId"]),
                    risk_title=a["riskTitle"],
                    action=MitigationAction.from_wire(a["action"]),
                )
                for a in record["actions"]
            ],
        )

    @strawberry.field(description="Every monitoring rule, built-in first.")
    async def monitoring_rules(self, info: Info) -> list[MonitoringRule]:
        answer = await info.context.clients.risk.call("GET", "/rules")
        return [MonitoringRule.from_wire(r) for r in answer]

    @strawberry.field(description="A monitoring rule by id; null if there is none.")
    async def monitoring_rule(self, info: Info, id: strawberry.ID) -> MonitoringRule | None:
        try:
            answer = await info.context.clients.risk.call(
                "GET", "/rules/{rule_id}", path={"rule_id": str(id)}
            )
        except IntegraError as error:
            if error.code is ErrorCode.NOT_FOUND:
                return None
            raise
        return MonitoringRule.from_wire(answer)

    @strawberry.field(description="The integration roadmap of a shop (or the platform).")
    async def roadmap(self, info: Info, shop_id: strawberry.ID) -> Roadmap:
        return await shop_roadmap(info, check_scope(shop_id, "shopId"))


def _risk_path(id: strawberry.ID, field: str = "id") -> dict[str, str]:
    return {"risk_id": check_id(str(id), field)}


@strawberry.type
class RiskMutation:
    @strawberry.mutation(description="Add a risk to a shop's register (status IDENTIFIED).")
    async def create_risk(
        self, info: Info, input: CreateRiskInput, idempotency_key: IdempotencyKey = None
    ) -> Risk:
        headers = idempotency_headers(idempotency_key)
        body = wire_body(input)
        body["shopId"] = await require_scope(info, body["shopId"], "input.shopId")
        answer = await info.context.clients.risk.call("POST", "/risks", body=body, headers=headers)
        return Risk.from_wire(answer)

    @strawberry.mutation(description="Change a risk's texts, owner, assessments or review date.")
    async def update_risk(self, info: Info, id: strawberry.ID, input: UpdateRiskInput) -> Risk:
        answer = await info.context.clients.risk.call(
            "PATCH", "/risks/{risk_id}", path=_risk_path(id), body=wire_body(input)
        )
        return Risk.from_wire(answer)

    @strawberry.mutation(description="Move a risk through its lifecycle.")
    async def change_risk_status(
        self, info: Info, id: strawberry.ID, input: ChangeRiskStatusInput
    ) -> Risk:
        answer = await info.context.clients.risk.call(
            "POST", "/risks/{risk_id}/status", path=_risk_path(id), body=wire_body(input)
        )
        return Risk.from_wire(answer)

    @strawberry.mutation(description="Add a mitigation action to a risk.")
    async def add_mitigation_action(
        self,
        info: Info,
        risk_id: strawberry.ID,
        input: AddMitigationActionInput,
        idempotency_key: IdempotencyKey = None,
    ) -> Risk:
        answer = await info.context.clients.risk.call(
            "POST",
            "/risks/{risk_id}/actions",
            path=_risk_path(risk_id, "riskId"),
            body=wire_body(input),
            headers=idempotency_headers(idempotency_key),
        )
        return Risk.from_wire(answer)

    @strawberry.mutation(description="Change or complete a mitigation action.")
    async def update_mitigation_action(
        self,
        info: Info,
        risk_id: strawberry.ID,
        action_id: strawberry.ID,
        input: UpdateMitigationActionInput,
    ) -> Risk:
        path = {**_risk_path(risk_id, "riskId"), "action_id": check_id(str(action_id), "actionId")}
        answer = await info.context.clients.risk.call(
            "PATCH", "/risks/{risk_id}/actions/{action_id}", path=path, body=wire_body(input)
        )
        return Risk.from_wire(answer)

    @strawberry.mutation(description="Create a custom monitoring rule.")
    async def create_monitoring_rule(
        self, info: Info, input: CreateMonitoringRuleInput, idempotency_key: IdempotencyKey = None
    ) -> MonitoringRule:
        answer = await info.context.clients.risk.call(
            "POST", "/rules", body=wire_body(input), headers=idempotency_headers(idempotency_key)
        )
        return MonitoringRule.from_wire(answer)

    @strawberry.mutation(description="Change a monitoring rule (built-in ones too).")
    async def update_monitoring_rule(
        self, info: Info, id: strawberry.ID, input: UpdateMonitoringRuleInput
    ) -> MonitoringRule:
        answer = await info.context.clients.risk.call(
            "PATCH", "/rules/{rule_id}", path={"rule_id": str(id)}, body=wire_body(input)
        )
        return MonitoringRule.from_wire(answer)

    @strawberry.mutation(
        description="Delete a custom monitoring rule. A built-in rule cannot be deleted "
        "(CONFLICT): disable it with updateMonitoringRule(input: {enabled: false})."
    )
    async def delete_monitoring_rule(self, info: Info, id: strawberry.ID) -> DeletePayload:
        await info.context.clients.risk.call(
            "DELETE", "/rules/{rule_id}", path={"rule_id": str(id)}
        )
        return DeletePayload(id=id, deleted=True)

    @strawberry.mutation(
        description="Change a roadmap stage; a slipping stage escalates. Starting a stage "
        "without actualStart, or finishing it (DONE) without actualEnd, records today; actual "
        "dates may not lie in the future (VALIDATION_ERROR)."
    )
    async def update_roadmap_stage(
        self, info: Info, shop_id: strawberry.ID, stage: StageCode, input: UpdateRoadmapStageInput
    ) -> Roadmap:
        scope = await require_scope(info, shop_id, "shopId")
        answer = await info.context.clients.risk.call(
            "PATCH",
            "/shops/{shop_id}/roadmap/{stage}",
            path={"shop_id": scope, "stage": stage.value},
            body=wire_body(input),
        )
        return Roadmap.from_wire(answer)

    @strawberry.mutation(description="Escalate the stages of a roadmap that slip as of today.")
    async def check_roadmap_slippage(
        self, info: Info, shop_id: strawberry.ID
    ) -> list[EscalationOutcome]:
        scope = await require_scope(info, shop_id, "shopId")
        answer = await info.context.clients.risk.call(
            "POST", "/shops/{shop_id}/roadmap/check", path={"shop_id": scope}
        )
        return [EscalationOutcome.from_wire(e) for e in answer["escalations"]]

    @strawberry.mutation(
        description="Report a KPI measurement; breached rules escalate once per measurement "
        "and category (a replaced revision that still breaches escalates nothing more)."
    )
    async def report_kpi_measurement(
        self, info: Info, input: KpiMeasurementInput
    ) -> EscalationOutcome:
        body = wire_body(input)
        body["shopId"] = await require_scope(info, body["shopId"], "input.shopId")
        answer = await info.context.clients.risk.call("POST", "/escalations", body=body)
        return EscalationOutcome.from_wire(answer)

    @strawberry.mutation(description="Report when a shop was last measured (no-data rule).")
    async def report_missing_kpi_data(
        self, info: Info, input: MissingKpiDataInput
    ) -> EscalationOutcome:
        body = wire_body(input)
        body["shopId"] = await require_scope(info, body["shopId"], "input.shopId")
        answer = await info.context.clients.risk.call("POST", "/escalations/no-data", body=body)
        return EscalationOutcome.from_wire(answer)
