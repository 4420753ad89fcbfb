"""The models the risk service answers, built from stored documents and domain values. Pure."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from services.risk import domain, models, roadmap
from services.risk.documents import (
    EventResult,
    assessment_of,
    inherent_of,
    parse_day,
    rule_of,
    stages_of,
)
from services.risk.models import HistoryAction
from services.runtime.caller import Actor, creator_of
from services.runtime.records import Document

# --- documents → wire -----------------------------------------------------------------------


def catalogue() -> models.Catalogue:
    """The static catalogue of groups, categories and roadmap stages (§3.1, §3.2, §3.6)."""
    return models.Catalogue(
        groups=[
            models.GroupOut(code=g.code, name=g.name, essence=g.essence, diagnostics=g.diagnostics)
            for g in domain.RISK_GROUPS
        ],
        categories=[
            models.CategoryOut(
                code=c.code,
                group=c.group,
                name=c.name,
                manifestation=c.manifestation,
                consequences=c.consequences,
                monitoring=c.monitoring,
                preventive_actions=c.preventive_actions,
                default_impact=c.default_impact.value,
                default_impact_level=int(c.default_impact_level),
            )
            for c in domain.RISK_CATEGORIES
        ],
        stages=[stage_info_out(s) for s in roadmap.STAGES],
    )


def stage_info_out(info: roadmap.StageInfo) -> models.StageInfoOut:
    """The wire form of a stage of the catalogue."""
    return models.StageInfoOut(
        code=info.code,
        number=info.number,
        name=info.name,
        content=info.content,
        typical_min_days=info.typical_min_days,
        typical_max_days=info.typical_max_days,
        result=info.result,
    )


def assessment_out(doc: Mapping[str, Any] | None) -> models.AssessmentOut | None:
    """The wire form of a stored assessment, score and level computed by the domain."""
    assessment = assessment_of(doc)
    return None if assessment is None else assessment_model(assessment)


def assessment_model(assessment: domain.Assessment) -> models.AssessmentOut:
    """The wire form of an assessment."""
    return models.AssessmentOut(
        likelihood=int(assessment.likelihood),
        likelihood_code=assessment.likelihood.name,
        impact=int(assessment.impact),
        impact_code=assessment.impact.name,
        score=assessment.score,
        level=assessment.level,
    )


def action_out(doc: Mapping[str, Any], as_of: date) -> models.MitigationAction:
    """The wire form of a mitigation action."""
    due = parse_day(doc.get("due_at"))
    return models.MitigationAction(
        id=doc["id"],
        text=doc["text"],
        owner=doc.get("owner"),
        due_at=due,
        done=bool(doc["done"]),
        done_at=doc.get("done_at"),
        overdue=domain.is_action_overdue(due, bool(doc["done"]), as_of),
        created_at=doc["created_at"],
    )


def history_out(doc: Mapping[str, Any]) -> models.HistoryEntry:
    """The wire form of a history entry."""
    return models.HistoryEntry(
        at=doc["at"],
        actor=Actor.from_document(doc["actor"]),
        # Before actors were recorded, "actor" held the caller's free text.
        on_behalf_of=doc["actor"] if isinstance(doc["actor"], str) else doc.get("on_behalf_of"),
        action=HistoryAction(doc["action"]),
        changes=[models.Change(**c) for c in doc["changes"]],
        reason=doc.get("reason"),
        rule_id=doc.get("rule_id"),
        kpi_code=doc.get("kpi_code"),
        kpi_value=doc.get("kpi_value"),
        event_id=doc.get("event_id"),
    )


def risk_out(doc: Mapping[str, Any], as_of: date) -> models.Risk:
    """The wire form of a risk; overdue flags are as of ``as_of``."""
    inherent = assessment_model(inherent_of(doc))
    status = domain.RiskStatus(doc["status"])
    review = parse_day(doc.get("next_review_at"))
    return models.Risk(
        id=doc["_id"],
        shop_id=doc["shop_id"],
        category=domain.RiskCategoryCode(doc["category"]),
        group=domain.RiskGroup(doc["group"]),
        title=doc["title"],
        description=doc["description"],
        owner=doc.get("owner"),
        inherent=inherent,
        residual=assessment_out(doc.get("residual")),
        status=status,
        allowed_transitions=[
            s for s in domain.RiskStatus if s in domain.ALLOWED_TRANSITIONS[status]
        ],
        next_review_at=review,
        review_overdue=domain.is_open(status) and domain.is_review_overdue(review, as_of),
        actions=[action_out(a, as_of) for a in doc["actions"]],
        history=[history_out(h) for h in doc["history"]],
        created_at=doc["created_at"],
        updated_at=doc["updated_at"],
        version=doc["version"],
    )


def rule_out(doc: Mapping[str, Any]) -> models.Rule:
    """The wire form of a monitoring rule."""
    rule = rule_of(doc)
    return models.Rule(
        id=rule.id,
        kpi_code=rule.kpi_code,
        comparator=rule.comparator.value,
        threshold=rule.threshold,
        category=rule.category,
        likelihood_step=rule.likelihood_step,
        enabled=rule.enabled,
        built_in=bool(doc.get("built_in")),
        description=rule.describe(),
        created_by=creator_of(doc),
        created_at=doc["created_at"],
        updated_at=doc["updated_at"],
    )


def roadmap_out(shop_id: str, stored: Mapping[str, Any] | None, as_of: date) -> models.Roadmap:
    """The five stages of a shop with their slippage as of ``as_of``."""
    docs = (stored or {}).get("stages", {})
    stages = []
    for stage in stages_of(stored):
        info = roadmap.STAGE_BY_CODE[stage.code]
        doc = docs.get(stage.code.value) or {}
        stages.append(
            models.RoadmapStage(
                **stage_info_out(info).model_dump(),
                status=stage.status,
                planned_start=stage.planned_start,
                planned_end=stage.planned_end,
                actual_start=stage.actual_start,
                actual_end=stage.actual_end,
                slippage_days=roadmap.slippage_days(stage, as_of),
                slips=roadmap.slips(stage, as_of),
                updated_at=doc.get("updated_at"),
                updated_by=doc.get("updated_by"),
                actor=Actor.from_document(doc["actor"]) if "actor" in doc else None,
            )
        )
    return models.Roadmap(shop_id=shop_id, as_of=as_of, stages=stages)


def _kind_assessments(
    docs: Sequence[Mapping[str, Any]], kind: models.AssessmentKind
) -> tuple[list[domain.Assessment], int]:
    key = "inherent" if kind is models.AssessmentKind.INHERENT else "residual"
    found = [assessment_of(d.get(key)) for d in docs]
    assessed = [a for a in found if a is not None]
    return assessed, len(found) - len(assessed)


def matrix_out(
    shop_id: str, kind: models.AssessmentKind, docs: Sequence[Mapping[str, Any]]
) -> models.RiskMatrix:
    """The 5 × 5 matrix of a shop's open risks."""
    assessed, unassessed = _kind_assessments(docs, kind)
    return models.RiskMatrix(
        shop_id=shop_id,
        kind=kind,
        cells=domain.risk_matrix(assessed),
        total=len(assessed),
        unassessed=unassessed,
    )


def summary_out(
    shop_id: str, kind: models.AssessmentKind, docs: Sequence[Mapping[str, Any]]
) -> models.RiskSummary:
    """Counts of a shop's open risks by group and level (unassessed residuals left out)."""
    key = "inherent" if kind is models.AssessmentKind.INHERENT else "residual"
    counts: dict[tuple[domain.RiskGroup, domain.RiskLevel], int] = defaultdict(int)
    for doc in docs:
        assessment = assessment_of(doc.get(key))
        if assessment is not None:
            counts[domain.RiskGroup(doc["group"]), assessment.level] += 1

    def levels(group: domain.RiskGroup | None) -> list[models.LevelCount]:
        return [
            models.LevelCount(
                level=level,
                count=sum(n for (g, lv), n in counts.items() if lv is level and group in (None, g)),
            )
            for level in domain.RiskLevel
        ]

    by_group = [
        models.GroupSummary(
            group=group,
            total=sum(n for (g, _), n in counts.items() if g is group),
            by_level=levels(group),
        )
        for group in domain.RiskGroup
    ]
    return models.RiskSummary(
        shop_id=shop_id,
        kind=kind,
        total=sum(counts.values()),
        by_level=levels(None),
        by_group=by_group,
    )


def outcome_out(event_id: str, shop_id: str, result: EventResult) -> models.EscalationOutcome:
    """The wire form of an event's effect."""
    return models.EscalationOutcome(
        event_id=event_id,
        shop_id=shop_id,
        duplicate=result.duplicate,
        escalations=[models.CategoryEscalation(**o) for o in result.outcome],
    )


def group_by_shop(docs: Sequence[Document]) -> dict[str, list[Document]]:
    """Stored risks by their shop id, in the order given."""
    grouped: dict[str, list[Document]] = defaultdict(list)
    for doc in docs:
        grouped[doc["shop_id"]].append(doc)
    return grouped


def overdue_out(shop_id: str, docs: Sequence[Document], as_of: date) -> models.Overdue:
    """The overdue reviews and actions among a shop's candidate risks, as of ``as_of``."""
    reviews = [
        risk_out(d, as_of)
        for d in docs
        if domain.is_review_overdue(parse_day(d.get("next_review_at")), as_of)
    ]
    actions = [
        models.OverdueAction(risk_id=d["_id"], risk_title=d["title"], action=action_out(a, as_of))
        for d in docs
        for a in d["actions"]
        if domain.is_action_overdue(parse_day(a.get("due_at")), bool(a["done"]), as_of)
    ]
    return models.Overdue(shop_id=shop_id, as_of=as_of, reviews=reviews, actions=actions)
