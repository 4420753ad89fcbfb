"""The risk part of the graph: its enums, the register (risks, their assessments, actions and
history) and the risk pages of a shop.

Likelihood and impact are entered as integers 1–5 and categories as codes (strings), so that
the risk service checks them and an error names the field (``inherent.likelihood``,
``category``); answers carry both the numbers and the enum codes. The risk service does not
know shops: mutations naming a shop check here, through the scoring service, that it exists
(the built-in scope ``platform`` always does).
"""

from __future__ import annotations

from datetime import date, datetime

import strawberry

from gateway.context import Info
from gateway.types.common import ON_BEHALF_OF, Actor, ItemPage, copied, page_args, to_wire
from gateway.types.scores import SortOrder
from gateway.types.scoring import Shop, load_shop
from services.risk import domain, models
from services.runtime.errors import NotFound
from services.runtime.wire import PLATFORM_SCOPE, check_id, check_scope, parse

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


@strawberry.type(description="A likelihood × impact assessment with its score and level.")
class RiskAssessment:
    likelihood: int = strawberry.field(description="1–5.")
    likelihood_code: Likelihood
    impact: int = strawberry.field(description="1–5.")
    impact_code: Impact
    score: int = strawberry.field(description="likelihood × impact, 1–25.")
    level: RiskLevel

    @classmethod
    def from_model(cls, assessment: models.AssessmentOut) -> RiskAssessment:
        """The GraphQL form of an assessment."""
        return copied(
            cls,
            assessment,
            likelihood_code=domain.Likelihood[assessment.likelihood_code],
            impact_code=domain.Impact[assessment.impact_code],
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
    def from_model(cls, action: models.MitigationAction) -> MitigationAction:
        """The GraphQL form of a mitigation action."""
        return copied(cls, action)


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
    def from_model(cls, entry: models.HistoryEntry) -> RiskHistoryEntry:
        """The GraphQL form of a history entry."""
        return copied(
            cls,
            entry,
            actor=Actor.from_model(entry.actor),
            changes=[copied(RiskChange, c) for c in entry.changes],
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
    def from_model(cls, risk: models.Risk) -> Risk:
        """The GraphQL form of a risk."""
        return copied(
            cls,
            risk,
            inherent=RiskAssessment.from_model(risk.inherent),
            residual=None if risk.residual is None else RiskAssessment.from_model(risk.residual),
            actions=[MitigationAction.from_model(a) for a in risk.actions],
            history=[RiskHistoryEntry.from_model(h) for h in risk.history],
        )

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> Risk | None:
        """Federation: a risk by id, batched with the others of the request."""
        return await load_risk(info, check_id(str(id)))

    @strawberry.field(description="The shop this risk belongs to; null for the platform.")
    async def shop(self, info: Info) -> Shop | None:
        if str(self.shop_id) == PLATFORM_SCOPE:
            return None
        return await load_shop(info, str(self.shop_id))


async def load_risk(info: Info, risk_id: str) -> Risk | None:
    """A risk by id, batched with the others of the request."""
    risk = await info.context.risk.risk.load(risk_id)
    return Risk.from_model(risk) if risk else None


@strawberry.type(description="A page of risks.")
class RiskPage(ItemPage[Risk]):
    pass


@strawberry.input(description="Filters of a risk list; each list means any of its values.")
class RiskFilter:
    group: list[RiskGroup] | None = strawberry.UNSET
    category: list[RiskCategoryCode] | None = strawberry.UNSET
    level: list[RiskLevel] | None = strawberry.field(
        default=strawberry.UNSET, description="Inherent level."
    )
    status: list[RiskStatus] | None = strawberry.UNSET
    owner: str | None = strawberry.UNSET


def risk_query(
    filter: RiskFilter | None,
    sort: RiskSort | None,
    order: SortOrder | None,
    limit: int,
    offset: int,
    shop_id: str | None = None,
) -> models.RiskListQuery:
    """The query of a risk list (default order: largest inherent score first), of one scope
    when ``shop_id`` is given; checked as the risk service checks it."""
    wire = to_wire(filter) if filter else {}
    query = {k: v for k, v in wire.items() if v is not None} if isinstance(wire, dict) else {}
    query["sort"] = (sort or RiskSort.SCORE).value
    query["order"] = (order or SortOrder.DESC).value
    query.update(page_args(limit, offset))
    if shop_id is not None:
        query["shopId"] = check_scope(shop_id, "shopId")
    return parse(models.RiskListQuery, query)


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
    query = risk_query(filter, sort, order, limit, offset)
    page = await info.context.risk.shop_risks.load((shop_id, query))
    return RiskPage.of(page, Risk.from_model)
