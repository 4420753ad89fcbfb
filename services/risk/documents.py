"""The stored layout of the risk service's documents: risks, rules, roadmaps. Pure.

The store (:mod:`services.risk.store`) reads and writes these shapes; nothing else in the
service knows a document's keys. Calendar days are stored as ``YYYY-MM-DD`` text (they sort
and compare as text); an assessment as its two factors with denormalised scores and levels
beside it (filters and sorting); a history entry with the actor of the credential.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING

from services.risk import domain, monitoring, roadmap
from services.runtime.caller import current_actor
from services.runtime.records import Document, now

OPEN_STATUSES = sorted(s.value for s in domain.OPEN_STATUSES)

# --- values ---------------------------------------------------------------------------------


def day(value: date | None) -> str | None:
    """A calendar day as stored: ``YYYY-MM-DD`` (sorts and compares as text)."""
    return value.isoformat() if value is not None else None


def parse_day(value: object) -> date | None:
    """A stored calendar day back as a :class:`date`."""
    return date.fromisoformat(str(value)) if value else None


def text(value: object) -> str | None:
    """A value as history text (``None`` stays ``None``)."""
    if value is None:
        return None
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


# --- risk documents (pure) ------------------------------------------------------------------


def assessment_doc(assessment: domain.Assessment | None) -> Document | None:
    """The stored form of an assessment: its two factors."""
    if assessment is None:
        return None
    return {"likelihood": int(assessment.likelihood), "impact": int(assessment.impact)}


def assessment_of(doc: Mapping[str, Any] | None) -> domain.Assessment | None:
    """A stored assessment back as a domain value."""
    if not doc:
        return None
    return domain.Assessment(
        domain.Likelihood(int(doc["likelihood"])), domain.Impact(int(doc["impact"]))
    )


def inherent_of(risk: Mapping[str, Any]) -> domain.Assessment:
    """A stored risk's inherent assessment (every risk has one)."""
    stored = risk["inherent"]
    return domain.Assessment(
        domain.Likelihood(int(stored["likelihood"])), domain.Impact(int(stored["impact"]))
    )


def assessment_fields(inherent: domain.Assessment, residual: domain.Assessment | None) -> Document:
    """Both assessments and their denormalised scores and levels (for filters and sorting)."""
    return {
        "inherent": assessment_doc(inherent),
        "inherent_score": inherent.score,
        "inherent_level": inherent.level.value,
        "residual": assessment_doc(residual),
        "residual_score": residual.score if residual else None,
        "residual_level": residual.level.value if residual else None,
    }


def change(field_name: str, before: object, after: object) -> Document:
    """One changed field of a history entry, values as text."""
    return {"field": field_name, "before": text(before), "after": text(after)}


def history_entry(
    on_behalf_of: str | None,
    action: str,
    changes: Sequence[Document],
    reason: str | None,
    at: datetime,
    **escalation: object,
) -> Document:
    """A history entry: who, what (action and changed fields), when, why; escalations add
    ``rule_id``, ``kpi_code``, ``kpi_value`` and ``event_id``.

    Who is the authenticated caller of the request (``actor``, from the credential); a
    free-text name the caller gives is kept beside it as ``on_behalf_of``, never instead.
    """
    return {
        "at": at,
        "actor": current_actor().document(),
        "on_behalf_of": on_behalf_of,
        "action": action,
        "changes": list(changes),
        "reason": reason,
        **escalation,
    }


def next_action_due(actions: Iterable[Mapping[str, Any]]) -> str | None:
    """The earliest due day of the unfinished actions (drives the overdue view)."""
    dues = [a["due_at"] for a in actions if not a.get("done") and a.get("due_at")]
    return min(dues) if dues else None


def risk_document(
    *,
    risk_id: str,
    shop_id: str,
    category: domain.RiskCategoryCode,
    title: str,
    description: str,
    owner: str | None,
    inherent: domain.Assessment,
    residual: domain.Assessment | None,
    next_review_at: date | None,
    status: domain.RiskStatus,
    created: Document,
    at: datetime,
    applied_event_ids: Sequence[str] = (),
) -> Document:
    """A new risk document; ``created`` is its first history entry."""
    return {
        "_id": risk_id,
        "shop_id": shop_id,
        "category": category.value,
        "group": domain.RISK_CATEGORY_BY_CODE[category].group.value,
        "title": title,
        "title_key": title.casefold(),
        "description": description,
        "owner": owner,
        **assessment_fields(inherent, residual),
        "status": status.value,
        "next_review_at": day(next_review_at),
        "actions": [],
        "next_action_due": None,
        "history": [created],
        "applied_event_ids": list(applied_event_ids),
        "created_by_event": applied_event_ids[0] if applied_event_ids else None,
        "created_at": at,
        "updated_at": at,
        "version": 1,
    }


@dataclass(frozen=True)
class RiskChange:
    """What one modification of a risk writes: fields to ``$set`` and one history entry."""

    fields: Document
    entry: Document


RiskMutation = Callable[[Document], RiskChange | None]


@dataclass
class EventResult:
    """The outcome of an event; ``escalated`` lists the categories this call changed."""

    outcome: list[Document]
    duplicate: bool
    escalated: list[str] = field(default_factory=list)


# --- roadmap documents (pure) ---------------------------------------------------------------


def stage_of(code: domain.StageCode, doc: Mapping[str, Any] | None) -> roadmap.Stage:
    """A stored stage as a domain value (a missing one is NOT_STARTED)."""
    if not doc:
        return roadmap.Stage(code)
    return roadmap.Stage(
        code=code,
        status=domain.StageStatus(doc["status"]),
        planned_start=parse_day(doc.get("planned_start")),
        planned_end=parse_day(doc.get("planned_end")),
        actual_start=parse_day(doc.get("actual_start")),
        actual_end=parse_day(doc.get("actual_end")),
    )


def stages_of(doc: Mapping[str, Any] | None) -> list[roadmap.Stage]:
    """The five stages of a stored roadmap, in order."""
    stored = (doc or {}).get("stages", {})
    return [stage_of(info.code, stored.get(info.code.value)) for info in roadmap.STAGES]


def stage_doc(stage: roadmap.Stage, at: datetime, by: str | None) -> Document:
    """The stored form of a stage."""
    return {
        "status": stage.status.value,
        "planned_start": day(stage.planned_start),
        "planned_end": day(stage.planned_end),
        "actual_start": day(stage.actual_start),
        "actual_end": day(stage.actual_end),
        "updated_at": at,
        "updated_by": by,
        "actor": current_actor().document(),
    }


# --- queries ------------------------------------------------------------------------------------

_SORT_KEYS = {
    "SCORE": "inherent_score",
    "RESIDUAL_SCORE": "residual_score",
    "CREATED_AT": "created_at",
    "UPDATED_AT": "updated_at",
    "TITLE": "title_key",
    "NEXT_REVIEW": "next_review_at",
}


def risk_filter(
    *,
    shop_ids: Sequence[str] | None = None,
    groups: Sequence[str] | None = None,
    categories: Sequence[str] | None = None,
    levels: Sequence[str] | None = None,
    statuses: Sequence[str] | None = None,
    owner: str | None = None,
) -> Document:
    """A query over risks from optional filters (each list is "any of"; levels are inherent)."""
    query: Document = {}
    for key, values in (
        ("shop_id", shop_ids),
        ("group", groups),
        ("category", categories),
        ("inherent_level", levels),
        ("status", statuses),
    ):
        if values is not None:
            query[key] = {"$in": list(values)}
    if owner is not None:
        query["owner"] = owner
    return query


def risk_sort(sort: str, descending: bool) -> list[tuple[str, int]]:
    """The sort of a risk list, ties broken by id."""
    return [(_SORT_KEYS[sort], DESCENDING if descending else ASCENDING), ("_id", ASCENDING)]


# --- rules ---------------------------------------------------------------------------------


def rule_fields(rule: monitoring.MonitoringRule) -> Document:
    """The stored form of a rule (its id is ``_id``)."""
    return {
        "_id": rule.id,
        "kpi_code": rule.kpi_code,
        "comparator": rule.comparator.value,
        "threshold": rule.threshold,
        "category": rule.category.value,
        "likelihood_step": rule.likelihood_step,
        "enabled": rule.enabled,
        "updated_at": now(),
    }


def rule_of(doc: Mapping[str, Any]) -> monitoring.MonitoringRule:
    """A stored rule as a domain value."""
    return monitoring.MonitoringRule(
        id=doc["_id"],
        kpi_code=doc["kpi_code"],
        comparator=domain.Comparator(doc["comparator"]),
        threshold=float(doc["threshold"]),
        category=domain.RiskCategoryCode(doc["category"]),
        likelihood_step=int(doc["likelihood_step"]),
        enabled=bool(doc["enabled"]),
    )


def custom_rule_document(rule: monitoring.MonitoringRule) -> Document:
    """A new custom rule, created by the current caller."""
    return {
        **rule_fields(rule),
        "built_in": False,
        "created_by": current_actor().document(),
        "created_at": now(),
    }


def rule_update_fields(rule: monitoring.MonitoringRule) -> Document:
    """The fields a changed rule overwrites (all but its id)."""
    return {k: v for k, v in rule_fields(rule).items() if k != "_id"}
