"""Views of the risk part of the graph: the catalogue, the matrix, summaries, overdue work,
monitoring rules and their escalations, the roadmap."""

from __future__ import annotations

from datetime import date, datetime

import strawberry

from gateway.context import Info
from gateway.types.common import Actor, copied
from gateway.types.risk import (
    AssessmentKind,
    Comparator,
    DefaultImpact,
    Impact,
    MitigationAction,
    Risk,
    RiskCategoryCode,
    RiskGroup,
    RiskLevel,
    StageCode,
    StageStatus,
)
from services.risk import models

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
    def from_model(cls, category: models.CategoryOut) -> RiskCategory:
        """The GraphQL form of a risk category."""
        return copied(
            cls,
            category,
            default_impact=DefaultImpact(category.default_impact),
            default_impact_level=Impact(category.default_impact_level),
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

    @classmethod
    def from_model(cls, catalogue: models.Catalogue) -> RiskCatalogue:
        """The GraphQL form of the catalogue (each group with its categories)."""
        categories = [RiskCategory.from_model(c) for c in catalogue.categories]
        groups = [
            RiskGroupInfo(
                code=g.code,
                name=g.name,
                essence=g.essence,
                diagnostics=g.diagnostics,
                categories=[c for c in categories if c.group is g.code],
            )
            for g in catalogue.groups
        ]
        return cls(groups=groups, categories=categories)


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
    def from_model(cls, matrix: models.RiskMatrix) -> RiskMatrix:
        """The GraphQL form of a matrix."""
        return copied(cls, matrix)


@strawberry.type(description="How many open risks are at a level.")
class RiskLevelCount:
    level: RiskLevel
    count: int

    @classmethod
    def all_of(cls, counts: list[models.LevelCount]) -> list[RiskLevelCount]:
        """The GraphQL form of counts by level."""
        return [copied(cls, c) for c in counts]


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

    @classmethod
    def from_model(cls, summary: models.RiskSummary) -> RiskSummary:
        """The GraphQL form of a summary."""
        return copied(
            cls,
            summary,
            by_level=RiskLevelCount.all_of(summary.by_level),
            by_group=[
                copied(RiskGroupCount, g, by_level=RiskLevelCount.all_of(g.by_level))
                for g in summary.by_group
            ],
        )


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

    @classmethod
    def from_model(cls, overdue: models.Overdue) -> RiskOverdue:
        """The GraphQL form of a scope's overdue work."""
        return copied(
            cls,
            overdue,
            reviews=[Risk.from_model(r) for r in overdue.reviews],
            actions=[
                copied(OverdueAction, a, action=MitigationAction.from_model(a.action))
                for a in overdue.actions
            ],
        )


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
    def from_model(cls, rule: models.Rule) -> MonitoringRule:
        """The GraphQL form of a monitoring rule."""
        return copied(
            cls,
            rule,
            comparator=Comparator(rule.comparator),
            created_by=Actor.from_model(rule.created_by),
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

    @classmethod
    def from_model(cls, escalation: models.CategoryEscalation) -> CategoryEscalation:
        """The GraphQL form of one category's escalation."""
        return copied(cls, escalation)


@strawberry.type(description="The effect of an event; duplicate when applied before.")
class EscalationOutcome:
    event_id: str
    shop_id: strawberry.ID
    duplicate: bool
    escalations: list[CategoryEscalation]

    @classmethod
    def from_model(cls, outcome: models.EscalationOutcome) -> EscalationOutcome:
        """The GraphQL form of an event's outcome."""
        escalations = [CategoryEscalation.from_model(e) for e in outcome.escalations]
        return copied(cls, outcome, escalations=escalations)


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

    @classmethod
    def from_model(cls, stage: models.RoadmapStage) -> RoadmapStage:
        """The GraphQL form of a roadmap stage."""
        actor = stage.actor
        return copied(cls, stage, actor=None if actor is None else Actor.from_model(actor))


@strawberry.type(description="The five stages of a shop; missing ones are NOT_STARTED.")
class Roadmap:
    shop_id: strawberry.ID
    as_of: date
    stages: list[RoadmapStage]

    @classmethod
    def from_model(cls, roadmap: models.Roadmap) -> Roadmap:
        """The GraphQL form of a roadmap."""
        return copied(cls, roadmap, stages=[RoadmapStage.from_model(s) for s in roadmap.stages])


# --- resolvers shared with Shop -------------------------------------------------------------


async def shop_risk_matrix(info: Info, shop_id: str, kind: AssessmentKind | None) -> RiskMatrix:
    """A shop's 5 × 5 matrix, batched with the other shops of the request."""
    matrix = await info.context.risk.matrix.load((shop_id, kind or AssessmentKind.INHERENT))
    return RiskMatrix.from_model(matrix)


async def shop_roadmap(info: Info, shop_id: str) -> Roadmap:
    """A shop's roadmap, batched with the other shops of the request."""
    return Roadmap.from_model(await info.context.risk.roadmap.load(shop_id))
