"""How the risk service's writes change stored risks: the documents of new and changed risks.

Each builder applies the domain's rules to a stored risk and a request model, and answers the
document (or :class:`RiskChange`) the store writes; invalid input raises the domain's errors
under the request's field names (:func:`wire_fields`). Pure: the store does the writing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import date, datetime
from typing import Any

from services.risk import domain, models, monitoring, roadmap
from services.risk.documents import (
    RiskChange,
    assessment_fields,
    assessment_of,
    change,
    day,
    history_entry,
    inherent_of,
    next_action_due,
    risk_document,
    stage_doc,
)
from services.risk.escalation import EscalationItem
from services.risk.models import HistoryAction
from services.runtime.errors import Conflict, ErrorCode, IntegraError, ValidationFailed
from services.runtime.idempotency import Idempotency
from services.runtime.records import Document, new_id
from services.runtime.wire_errors import wire_fields

# --- risks as the domain changes them (pure) ------------------------------------------------


def _assess(
    value: models.AssessmentIn, default_impact: domain.Impact, field: str
) -> domain.Assessment:
    impact = value.impact if value.impact is not None else int(default_impact)
    with wire_fields():
        return domain.assess(value.likelihood, impact, field)


def _check_residual(inherent: domain.Assessment, residual: domain.Assessment | None) -> None:
    if residual is not None:
        domain.check_residual(inherent, residual)


def _assessment_changes(
    name: str, before: domain.Assessment | None, after: domain.Assessment | None
) -> list[Document]:
    changes = []
    for factor in ("likelihood", "impact"):
        old = int(getattr(before, factor)) if before else None
        new = int(getattr(after, factor)) if after else None
        if old != new:
            changes.append(change(f"{name}.{factor}", old, new))
    return changes


def new_risk(body: models.RiskCreate, at: datetime) -> Document:
    """The document of a risk created by hand; invalid assessments raise, naming the field."""
    category = domain.RISK_CATEGORY_BY_CODE[body.category]
    inherent = _assess(body.inherent, category.default_impact_level, "inherent")
    residual = _assess(body.residual, inherent.impact, "residual") if body.residual else None
    _check_residual(inherent, residual)
    changes = [
        change("status", None, domain.RiskStatus.IDENTIFIED.value),
        change("owner", None, body.owner),
        *_assessment_changes("inherent", None, inherent),
        *_assessment_changes("residual", None, residual),
    ]
    if body.next_review_at:
        changes.append(change("nextReviewAt", None, body.next_review_at))
    entry = history_entry(body.on_behalf_of, HistoryAction.CREATED.value, changes, body.reason, at)
    return risk_document(
        risk_id=new_id(),
        shop_id=body.shop_id,
        category=body.category,
        title=body.title,
        description=body.description,
        owner=body.owner,
        inherent=inherent,
        residual=residual,
        next_review_at=body.next_review_at,
        status=domain.RiskStatus.IDENTIFIED,
        created=entry,
        at=at,
    )


def update_change(doc: Document, body: models.RiskUpdate, at: datetime) -> RiskChange | None:
    """The change an update makes to a risk (``None``: nothing differs)."""
    given = body.model_fields_set
    fields: Document = {}
    changes: list[Document] = []
    for name in ("title", "description", "owner"):
        if name not in given:
            continue
        value = getattr(body, name)
        if value is None:
            raise ValidationFailed(name, f"{name} cannot be cleared")
        if value != doc[name]:
            fields[name] = value
            changes.append(change(name, doc[name], value))
    if "title" in fields:
        fields["title_key"] = fields["title"].casefold()
    old_inherent = inherent_of(doc)
    old_residual = assessment_of(doc.get("residual"))
    inherent, residual = old_inherent, old_residual
    if "inherent" in given:
        if body.inherent is None:
            raise ValidationFailed("inherent", "inherent cannot be cleared")
        inherent = _assess(body.inherent, old_inherent.impact, "inherent")
    if "residual" in given:
        residual = _assess(body.residual, inherent.impact, "residual") if body.residual else None
    _check_residual(inherent, residual)
    assessment_changes = [
        *_assessment_changes("inherent", old_inherent, inherent),
        *_assessment_changes("residual", old_residual, residual),
    ]
    if assessment_changes:
        fields.update(assessment_fields(inherent, residual))
        changes.extend(assessment_changes)
    if "next_review_at" in given and day(body.next_review_at) != doc.get("next_review_at"):
        fields["next_review_at"] = day(body.next_review_at)
        changes.append(change("nextReviewAt", doc.get("next_review_at"), body.next_review_at))
    if not changes:
        return None
    entry = history_entry(body.on_behalf_of, HistoryAction.UPDATED.value, changes, body.reason, at)
    return RiskChange(fields, entry)


def status_change(doc: Document, body: models.StatusChange, at: datetime) -> RiskChange:
    """A lifecycle transition; one the lifecycle does not allow is INVALID_TRANSITION."""
    current = domain.RiskStatus(doc["status"])
    with wire_fields():
        domain.check_transition(current, body.status)
    entry = history_entry(
        body.on_behalf_of,
        HistoryAction.STATUS_CHANGED.value,
        [change("status", current.value, body.status.value)],
        body.reason,
        at,
    )
    return RiskChange({"status": body.status.value}, entry)


def _with_actions(actions: list[Document]) -> Document:
    return {"actions": actions, "next_action_due": next_action_due(actions)}


def add_action(
    doc: Document,
    body: models.ActionCreate,
    action_id: str,
    at: datetime,
    key: Idempotency | None = None,
) -> RiskChange | None:
    """Append a mitigation action (``action_id`` is fixed by the caller, so retries reuse it).

    ``None`` when the action exists already: a request with an idempotency ``key`` (whose
    action id derives from the key) that was applied before; the same key sent with another
    request is a CONFLICT.
    """
    existing = next((a for a in doc["actions"] if a["id"] == action_id), None)
    if existing is not None:
        if key is None:
            raise Conflict("actionId", f"mitigation action {action_id!r} exists already")
        key.check_same_request(existing)
        return None
    action: Document = {
        "id": action_id,
        "text": body.text,
        "owner": body.owner,
        "due_at": day(body.due_at),
        "done": False,
        "done_at": None,
        "created_at": at,
    }
    if key is not None:
        action["idempotency"] = key.stamp()
    changes = [change(f"actions.{action_id}.text", None, body.text)]
    if body.due_at:
        changes.append(change(f"actions.{action_id}.dueAt", None, body.due_at))
    entry = history_entry(body.on_behalf_of, HistoryAction.ACTION_ADDED.value, changes, None, at)
    return RiskChange(_with_actions([*doc["actions"], action]), entry)


def update_action(
    doc: Document, action_id: str, body: models.ActionUpdate, at: datetime
) -> RiskChange | None:
    """Change or complete a mitigation action (``None``: nothing differs)."""
    actions = [dict(a) for a in doc["actions"]]
    action = next((a for a in actions if a["id"] == action_id), None)
    if action is None:
        raise IntegraError(
            ErrorCode.NOT_FOUND, f"mitigation action {action_id!r} does not exist", "action_id"
        )
    given = body.model_fields_set
    changes: list[Document] = []
    for name, wire, value in (
        ("text", "text", body.text),
        ("owner", "owner", body.owner),
        ("due_at", "dueAt", day(body.due_at)),
        ("done", "done", body.done),
    ):
        if name not in given or value == action.get(name):
            continue
        if value is None and name in ("text", "done"):
            raise ValidationFailed(name, f"{name} cannot be cleared")
        changes.append(change(f"actions.{action_id}.{wire}", action.get(name), value))
        action[name] = value
    if not changes:
        return None
    if "done" in given:
        action["done_at"] = at if action["done"] else None
    entry = history_entry(
        body.on_behalf_of, HistoryAction.ACTION_UPDATED.value, changes, body.reason, at
    )
    return RiskChange(_with_actions(actions), entry)


def apply_stage_update(
    stages: Sequence[roadmap.Stage], code: domain.StageCode, body: models.StageUpdate, as_of: date
) -> roadmap.Stage:
    """A stage with the update applied: dates first, then the status change (which fills
    the actual dates it implies — today for a missing start, or a missing end of DONE — and
    checks the order rule), then validated; actual dates may not lie in the future."""
    current = next(s for s in stages if s.code == code)
    dates = {
        name: getattr(body, name)
        for name in ("planned_start", "planned_end", "actual_start", "actual_end")
        if name in body.model_fields_set
    }
    stage = replace(current, **dates)
    with wire_fields():
        if body.status is not None:
            others = [stage if s.code == code else s for s in stages]
            stage = roadmap.set_stage_status(others, code, body.status, as_of)
        roadmap.validate_stage(stage)
        roadmap.check_actual_dates_past(stage, as_of)
    return stage


def stage_change(
    code: domain.StageCode, body: models.StageUpdate, as_of: date, at: datetime
) -> Callable[[list[roadmap.Stage]], dict[str, Document]]:
    """The roadmap mutation of a stage update: the changed stage's document."""

    def mutate(stages: list[roadmap.Stage]) -> dict[str, Document]:
        stage = apply_stage_update(stages, code, body, as_of)
        return {code.value: stage_doc(stage, at, body.on_behalf_of)}

    return mutate


# --- escalations ----------------------------------------------------------------------------


def escalated_risk_id(shop_id: str, category: domain.RiskCategoryCode, existing: int) -> str:
    """The id of the risk an escalation creates for a shop's category when it had
    ``existing`` risks of that category: two events escalating the same category at once both
    derive the same id, so only one creates a risk and the other raises it."""
    digest = hashlib.sha256(f"{shop_id}\x00{category.value}\x00{existing}".encode()).hexdigest()
    return digest[:24]


def _escalation_marks(item: EscalationItem, event_id: str) -> Document:
    return {
        "rule_id": item.rule_id,
        "kpi_code": item.kpi_code,
        "kpi_value": item.kpi_value,
        "event_id": event_id,
    }


def escalated_risk(
    shop_id: str, item: EscalationItem, event_id: str, at: datetime, existing: int = 0
) -> Document:
    """A risk created by an escalation: IDENTIFIED, seeded by the domain, owner unassigned;
    ``existing`` counts the shop's risks of the category before it (see its id)."""
    inherent = monitoring.escalation_seed(item.category, item.step)
    created = history_entry(
        None,
        "CREATED",
        [
            change("status", None, domain.RiskStatus.IDENTIFIED.value),
            change("inherent.likelihood", None, int(inherent.likelihood)),
            change("inherent.impact", None, int(inherent.impact)),
        ],
        item.reason,
        at,
        **_escalation_marks(item, event_id),
    )
    return risk_document(
        risk_id=escalated_risk_id(shop_id, item.category, existing),
        shop_id=shop_id,
        category=item.category,
        title=item.title,
        description=domain.RISK_CATEGORY_BY_CODE[item.category].manifestation,
        owner=None,
        inherent=inherent,
        residual=None,
        next_review_at=None,
        status=domain.RiskStatus.IDENTIFIED,
        created=created,
        at=at,
        applied_event_ids=[event_id],
    )


def escalation_change(
    doc: Mapping[str, Any], item: EscalationItem, event_id: str, at: datetime
) -> RiskChange | None:
    """Raise an open risk's inherent likelihood by the item's step; ``None`` when the event
    was applied to it already or it has been closed meanwhile."""
    if event_id in doc.get("applied_event_ids", []):
        return None
    if not domain.is_open(domain.RiskStatus(doc["status"])):
        return None
    inherent = inherent_of(doc)
    raised = monitoring.escalate_assessment(inherent, item.step)
    entry = history_entry(
        None,
        "ESCALATED",
        [change("inherent.likelihood", int(inherent.likelihood), int(raised.likelihood))],
        item.reason,
        at,
        **_escalation_marks(item, event_id),
    )
    fields = assessment_fields(raised, assessment_of(doc.get("residual")))
    return RiskChange(fields, entry)
