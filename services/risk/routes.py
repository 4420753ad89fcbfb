"""HTTP endpoints of the risk service: wire contracts in, domain in the middle, store out.

Domain errors name snake_case fields (``actual_start``, ``likelihood_step``); they are
reported under the wire's camelCase names (``actualStart``, ``likelihoodStep``).
"""

from __future__ import annotations

import contextlib
import re
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import date, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from services.risk import domain, escalation, models
from services.risk.escalation import EscalationItem, slip_event_id, slip_item
from services.risk.kpi_codes import KpiCodes
from services.risk.models import EscalationSource, HistoryAction
from services.risk.store import (
    EventResult,
    RiskChange,
    RiskStore,
    assessment_fields,
    assessment_of,
    change,
    day,
    history_entry,
    next_action_due,
    parse_day,
    risk_document,
    risk_filter,
    risk_sort,
    rule_fields,
    rule_of,
    stage_doc,
    stages_of,
    today,
)
from services.runtime import idempotency
from services.runtime.auth import Role
from services.runtime.caller import Actor, creator_of, current_actor
from services.runtime.concurrency import check_version
from services.runtime.errors import Conflict, ErrorCode, IntegraError, ValidationFailed
from services.runtime.http import json_response, path_id, path_scope, query_model, read_model
from services.runtime.idempotency import Idempotency
from services.runtime.metrics import RISK_ESCALATIONS
from services.runtime.openapi import IDEMPOTENCY_KEY, ApiRoute, DeletedById
from services.runtime.records import Document, new_id, now
from services.runtime.wire import Page, RecordId, ScopeId, wire_alias

NO_DATA_RULE_ID = escalation.NO_DATA_RULE_ID
SLIPPAGE_RULE_ID = escalation.SLIPPAGE_RULE_ID

# --- errors under wire names ----------------------------------------------------------------


def wire_field(path: str) -> str:
    """A domain field path under its wire name (``actual_start`` → ``actualStart``)."""
    return ".".join(wire_alias(part) for part in path.split("."))


@contextlib.contextmanager
def wire_fields() -> Iterator[None]:
    """Report the domain errors raised in the block under the wire's field names."""
    try:
        yield
    except IntegraError as error:
        if error.field:
            name = wire_field(error.field)
            error.message = error.message.replace(error.field, name)
            error.field = name
        raise


_RULE_ID = re.compile(r"^[A-Za-z0-9_-]{1,120}$")


def rule_param(request: Request) -> str:
    """A rule id from the path; anything else is INVALID_ID."""
    value = str(request.path_params["rule_id"])
    if not _RULE_ID.match(value):
        raise IntegraError(ErrorCode.INVALID_ID, "rule_id must be a rule id", "rule_id")
    return value


def stage_param(request: Request) -> domain.StageCode:
    """A stage code from the path."""
    value = str(request.path_params["stage"])
    if value not in domain.StageCode.__members__:
        codes = ", ".join(domain.StageCode)
        raise ValidationFailed("stage", f"stage must be one of {codes}")
    return domain.StageCode(value)


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
        stages=[stage_info_out(s) for s in domain.STAGES],
    )


def stage_info_out(info: domain.StageInfo) -> models.StageInfoOut:
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
    if assessment is None:
        return None
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
    inherent = assessment_out(doc["inherent"])
    assert inherent is not None
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
        info = domain.STAGE_BY_CODE[stage.code]
        doc = docs.get(stage.code.value) or {}
        stages.append(
            models.RoadmapStage(
                **stage_info_out(info).model_dump(),
                status=stage.status,
                planned_start=stage.planned_start,
                planned_end=stage.planned_end,
                actual_start=stage.actual_start,
                actual_end=stage.actual_end,
                slippage_days=domain.slippage_days(stage, as_of),
                slips=domain.slips(stage, as_of),
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


def _group_by_shop(docs: Sequence[Document]) -> dict[str, list[Document]]:
    grouped: dict[str, list[Document]] = defaultdict(list)
    for doc in docs:
        grouped[doc["shop_id"]].append(doc)
    return grouped


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
    old_inherent = assessment_of(doc["inherent"])
    old_residual = assessment_of(doc.get("residual"))
    assert old_inherent is not None
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


# --- escalation plans (pure; see services.risk.escalation) ---------------------------------


def kpi_plan(
    rules: Sequence[domain.MonitoringRule], event: models.KpiMeasurementEvent
) -> list[EscalationItem]:
    """The plan of a KPI measurement event: its breach is its measurement's (every revision
    of one measurement shares it)."""
    measurement_id = event.measurement_id or escalation.measurement_of(event.event_id)
    return escalation.kpi_plan(
        rules, event.shop_id, measurement_id, event.kpi_code, event.value, event.measured_at
    )


def no_data_plan(event: models.NoDataEvent, as_of: datetime) -> list[EscalationItem]:
    """The plan of a no-data report: its breach is the shop's current silence."""
    return escalation.no_data_plan(
        event.shop_id, event.last_measurement_at, event.shop_created_at, as_of
    )


def apply_stage_update(
    stages: Sequence[domain.Stage], code: domain.StageCode, body: models.StageUpdate, as_of: date
) -> domain.Stage:
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
            stage = domain.set_stage_status(others, code, body.status, as_of)
        domain.validate_stage(stage)
        domain.check_actual_dates_past(stage, as_of)
    return stage


# --- endpoints ------------------------------------------------------------------------------


def risk_routes(store: Callable[[], RiskStore], kpi_codes: KpiCodes) -> list[BaseRoute]:
    """The risk service's routes over the store that ``store()`` answers; ``kpi_codes``
    checks the KPI code of a monitoring rule."""
    static_catalogue = catalogue()

    def count(result: EventResult, source: EscalationSource) -> None:
        for category in result.escalated:
            RISK_ESCALATIONS.labels(category, source.value).inc()

    async def escalate_slips(shop_id: str, roadmap: Document) -> list[models.EscalationOutcome]:
        as_of = today()
        outcomes = []
        for stage in stages_of(roadmap):
            item = slip_item(stage, as_of)
            if item is None:
                continue
            event_id = slip_event_id(shop_id, stage.code)
            result = await store().apply_event(event_id, shop_id, event_id, [item])
            count(result, EscalationSource.ROADMAP_SLIP)
            outcomes.append(outcome_out(event_id, shop_id, result))
        return outcomes

    async def get_catalogue(_: Request) -> Response:
        return json_response(static_catalogue)

    # risks

    async def create_risk(request: Request) -> Response:
        body = await read_model(request, models.RiskCreate)
        key = idempotency.from_request(request, "createRisk", body)
        doc = await store().insert_risk(new_risk(body, now()), key)
        return json_response(risk_out(doc, today()), status=201)

    async def list_risks(request: Request) -> Response:
        query = query_model(request, models.RiskListQuery)
        as_of = today()
        if query.ids is not None:
            docs = await store().risks_by_ids(query.ids)
            return json_response(models.RiskBatch(items=[risk_out(d, as_of) for d in docs]))
        if query.shop_id is not None and query.shop_ids is not None:
            raise ValidationFailed("shopIds", "give shopId or shopIds, not both")
        shop_ids = query.shop_ids or ([query.shop_id] if query.shop_id else None)
        filters = risk_filter(
            shop_ids=shop_ids,
            groups=query.group,
            categories=query.category,
            levels=query.level,
            statuses=query.status,
            owner=query.owner,
        )
        sort = risk_sort(query.sort.value, query.order is models.SortOrder.DESC)
        if query.shop_ids is not None:
            by_shop = _group_by_shop(await store().find_risks(filters, sort))
            pages = [
                models.ShopRisks(
                    shop_id=shop_id,
                    items=[
                        risk_out(d, as_of)
                        for d in by_shop[shop_id][query.offset : query.offset + query.limit]
                    ],
                    total_count=len(by_shop[shop_id]),
                    limit=query.limit,
                    offset=query.offset,
                )
                for shop_id in query.shop_ids
            ]
            return json_response(models.ShopRisksBatch(items=pages))
        docs, total = await store().list_risks(filters, sort, query.limit, query.offset)
        return json_response(
            Page[models.Risk](
                items=[risk_out(d, as_of) for d in docs],
                total_count=total,
                limit=query.limit,
                offset=query.offset,
            )
        )

    async def get_risk(request: Request) -> Response:
        doc = await store().get_risk(path_id(request, "risk_id"), "risk_id")
        return json_response(risk_out(doc, today()))

    async def modify(
        request: Request,
        mutate: Callable[[Document], RiskChange | None],
        expected_version: int | None,
    ) -> Response:
        risk_id = path_id(request, "risk_id")
        doc, _ = await store().modify_risk(
            risk_id, mutate, field_name="risk_id", expected_version=expected_version
        )
        return json_response(risk_out(doc, today()))

    async def update_risk(request: Request) -> Response:
        body = await read_model(request, models.RiskUpdate)
        at = now()
        return await modify(
            request, lambda doc: update_change(doc, body, at), body.expected_version
        )

    async def change_status(request: Request) -> Response:
        body = await read_model(request, models.StatusChange)
        at = now()
        return await modify(
            request, lambda doc: status_change(doc, body, at), body.expected_version
        )

    async def create_action(request: Request) -> Response:
        risk_id = path_id(request, "risk_id")
        body = await read_model(request, models.ActionCreate)
        key = idempotency.from_request(request, "addMitigationAction", body, {"riskId": risk_id})
        at = now()
        action_id = key.record_id(risk_id) if key else new_id()

        def mutate(doc: Document) -> RiskChange | None:
            # A retried keyed request finds its action applied and answers the risk as it is:
            # its expectedVersion was met by the first attempt, so it is checked on writes only.
            added = add_action(doc, body, action_id, at, key)
            if added is not None:
                check_version("risk", risk_id, doc["version"], body.expected_version)
            return added

        return await modify(request, mutate, None)

    async def patch_action(request: Request) -> Response:
        action_id = path_id(request, "action_id")
        body = await read_model(request, models.ActionUpdate)
        at = now()
        return await modify(
            request, lambda doc: update_action(doc, action_id, body, at), body.expected_version
        )

    # views

    async def matrices(request: Request) -> Response:
        query = query_model(request, models.ViewQuery)
        by_shop = _group_by_shop(await store().open_risks(query.shop_ids))
        items = [matrix_out(s, query.kind, by_shop.get(s, [])) for s in query.shop_ids]
        return json_response(models.MatrixBatch(items=items))

    async def summaries(request: Request) -> Response:
        query = query_model(request, models.ViewQuery)
        by_shop = _group_by_shop(await store().open_risks(query.shop_ids))
        items = [summary_out(s, query.kind, by_shop.get(s, [])) for s in query.shop_ids]
        return json_response(models.SummaryBatch(items=items))

    async def overdue(request: Request) -> Response:
        query = query_model(request, models.OverdueQuery)
        as_of = query.as_of or today()
        docs = await store().overdue_candidates(query.shop_id, as_of)
        reviews = [
            risk_out(d, as_of)
            for d in docs
            if domain.is_review_overdue(parse_day(d.get("next_review_at")), as_of)
        ]
        actions = [
            models.OverdueAction(
                risk_id=d["_id"], risk_title=d["title"], action=action_out(a, as_of)
            )
            for d in docs
            for a in d["actions"]
            if domain.is_action_overdue(parse_day(a.get("due_at")), bool(a["done"]), as_of)
        ]
        return json_response(
            models.Overdue(shop_id=query.shop_id, as_of=as_of, reviews=reviews, actions=actions)
        )

    # monitoring rules

    async def list_rules(_: Request) -> Response:
        return json_response([rule_out(d) for d in await store().list_rules()])

    async def get_rule(request: Request) -> Response:
        return json_response(rule_out(await store().get_rule(rule_param(request))))

    async def create_rule(request: Request) -> Response:
        body = await read_model(request, models.RuleCreate)
        key = idempotency.from_request(request, "createMonitoringRule", body)
        with wire_fields():
            rule = domain.validate_rule(new_id(), **body.model_dump())
        await kpi_codes.check(body.kpi_code)
        doc = await store().insert_rule(
            {
                **rule_fields(rule),
                "built_in": False,
                "created_by": current_actor().document(),
                "created_at": now(),
            },
            key,
        )
        return json_response(rule_out(doc), status=201)

    async def update_rule(request: Request) -> Response:
        rule_id = rule_param(request)
        body = await read_model(request, models.RuleUpdate)
        current = rule_fields(rule_of(await store().get_rule(rule_id)))
        changes = body.model_dump(exclude_unset=True)
        for name, value in changes.items():
            if value is None:
                raise ValidationFailed(wire_field(name), f"{wire_field(name)} cannot be cleared")
        merged = {k: v for k, v in current.items() if k not in ("_id", "updated_at")}
        with wire_fields():
            rule = domain.validate_rule(rule_id, **{**merged, **changes})
        if "kpi_code" in changes and changes["kpi_code"] != current["kpi_code"]:
            await kpi_codes.check(changes["kpi_code"])
        fields = {k: v for k, v in rule_fields(rule).items() if k != "_id"}
        return json_response(rule_out(await store().replace_rule(rule_id, fields)))

    async def delete_rule(request: Request) -> Response:
        rule_id = rule_param(request)
        await store().delete_rule(rule_id)
        return json_response({"id": rule_id, "deleted": True})

    # escalations

    async def kpi_event(request: Request) -> Response:
        body = await read_model(request, models.KpiMeasurementEvent)
        rules = [rule_of(d) for d in await store().rules_for(body.kpi_code)]
        plan = kpi_plan(rules, body)
        fingerprint = (
            f"kpi|{body.shop_id}|{body.kpi_code}|{body.value!r}|{body.measured_at.isoformat()}"
        )
        result = await store().apply_event(body.event_id, body.shop_id, fingerprint, plan)
        count(result, EscalationSource.KPI_RULE)
        return json_response(outcome_out(body.event_id, body.shop_id, result))

    async def no_data_event(request: Request) -> Response:
        body = await read_model(request, models.NoDataEvent)
        plan = no_data_plan(body, body.as_of or now())
        start = escalation.silence_start(body.last_measurement_at, body.shop_created_at)
        fingerprint = f"no_data|{body.shop_id}|{start.isoformat() if start else 'never'}"
        result = await store().apply_event(body.event_id, body.shop_id, fingerprint, plan)
        count(result, EscalationSource.NO_DATA)
        return json_response(outcome_out(body.event_id, body.shop_id, result))

    # roadmap

    async def roadmaps(request: Request) -> Response:
        query = query_model(request, models.ShopIdsQuery)
        stored = await store().roadmaps_of(query.shop_ids)
        as_of = today()
        items = [roadmap_out(s, stored.get(s), as_of) for s in query.shop_ids]
        return json_response(models.RoadmapBatch(items=items))

    async def get_roadmap(request: Request) -> Response:
        shop_id = path_scope(request, "shop_id")
        stored = await store().roadmaps_of([shop_id])
        return json_response(roadmap_out(shop_id, stored.get(shop_id), today()))

    async def update_stage(request: Request) -> Response:
        shop_id = path_scope(request, "shop_id")
        code = stage_param(request)
        body = await read_model(request, models.StageUpdate)
        as_of, at = today(), now()

        def mutate(stages: list[domain.Stage]) -> dict[str, Document]:
            stage = apply_stage_update(stages, code, body, as_of)
            return {code.value: stage_doc(stage, at, body.on_behalf_of)}

        roadmap = await store().modify_roadmap(shop_id, mutate)
        await escalate_slips(shop_id, roadmap)
        return json_response(roadmap_out(shop_id, roadmap, as_of))

    async def check_slippage(request: Request) -> Response:
        shop_id = path_scope(request, "shop_id")
        stored = await store().roadmaps_of([shop_id])
        outcomes = await escalate_slips(shop_id, stored.get(shop_id) or {})
        return json_response(models.SlippageCheck(shop_id=shop_id, escalations=outcomes))

    risk_path = {"risk_id": RecordId}
    scope_path = {"shop_id": ScopeId}
    rule_path = {"rule_id": models.RuleId}
    return [
        ApiRoute(
            "/catalogue",
            get_catalogue,
            "GET",
            summary="Risk groups, categories and roadmap stages",
            response=models.Catalogue,
        ),
        ApiRoute(
            "/risks",
            create_risk,
            "POST",
            headers=IDEMPOTENCY_KEY,
            summary="Add a risk to a shop's register",
            body=models.RiskCreate,
            response=models.Risk,
            status=201,
            errors=(409,),
        ),
        ApiRoute(
            "/risks",
            list_risks,
            "GET",
            summary="A page of risks; a page per shop of `shopIds`; or the risks of `ids`",
            query=models.RiskListQuery,
            response=Page[models.Risk] | models.RiskBatch | models.ShopRisksBatch,
        ),
        ApiRoute(
            "/risks/{risk_id}",
            get_risk,
            "GET",
            summary="One risk with its history",
            params=risk_path,
            response=models.Risk,
            errors=(404,),
        ),
        ApiRoute(
            "/risks/{risk_id}",
            update_risk,
            "PATCH",
            summary="Change a risk's fields and assessments",
            params=risk_path,
            body=models.RiskUpdate,
            response=models.Risk,
            errors=(404, 409),
        ),
        ApiRoute(
            "/risks/{risk_id}/status",
            change_status,
            "POST",
            summary="Move a risk through its lifecycle",
            params=risk_path,
            body=models.StatusChange,
            response=models.Risk,
            errors=(404, 409),
        ),
        ApiRoute(
            "/risks/{risk_id}/actions",
            create_action,
            "POST",
            headers=IDEMPOTENCY_KEY,
            summary="Add a mitigation action to a risk",
            params=risk_path,
            body=models.ActionCreate,
            response=models.Risk,
            errors=(404, 409),
        ),
        ApiRoute(
            "/risks/{risk_id}/actions/{action_id}",
            patch_action,
            "PATCH",
            summary="Change or complete a mitigation action",
            params={**risk_path, "action_id": RecordId},
            body=models.ActionUpdate,
            response=models.Risk,
            errors=(404, 409),
        ),
        ApiRoute(
            "/matrix",
            matrices,
            "GET",
            summary="The 5 × 5 matrix of the open risks of each shop of `shopIds`",
            query=models.ViewQuery,
            response=models.MatrixBatch,
        ),
        ApiRoute(
            "/summary",
            summaries,
            "GET",
            summary="Open risks by group and level for each shop of `shopIds`",
            query=models.ViewQuery,
            response=models.SummaryBatch,
        ),
        ApiRoute(
            "/overdue",
            overdue,
            "GET",
            summary="Overdue reviews and actions of a shop",
            query=models.OverdueQuery,
            response=models.Overdue,
        ),
        ApiRoute(
            "/rules",
            list_rules,
            "GET",
            summary="Every monitoring rule",
            response=list[models.Rule],
        ),
        ApiRoute(
            "/rules",
            create_rule,
            "POST",
            role=Role.ADMIN,
            headers=IDEMPOTENCY_KEY,
            summary="Create a monitoring rule",
            body=models.RuleCreate,
            response=models.Rule,
            status=201,
            errors=(409,),
        ),
        ApiRoute(
            "/rules/{rule_id}",
            get_rule,
            "GET",
            summary="One monitoring rule",
            params=rule_path,
            response=models.Rule,
            errors=(404,),
        ),
        ApiRoute(
            "/rules/{rule_id}",
            update_rule,
            "PATCH",
            role=Role.ADMIN,
            summary="Change a monitoring rule",
            params=rule_path,
            body=models.RuleUpdate,
            response=models.Rule,
            errors=(404, 409),
        ),
        ApiRoute(
            "/rules/{rule_id}",
            delete_rule,
            "DELETE",
            role=Role.ADMIN,
            summary="Delete a monitoring rule",
            params=rule_path,
            response=DeletedById,
            errors=(404, 409),
        ),
        ApiRoute(
            "/escalations",
            kpi_event,
            "POST",
            summary="Apply the monitoring rules to a KPI measurement (idempotent by eventId)",
            body=models.KpiMeasurementEvent,
            response=models.EscalationOutcome,
            errors=(409,),
        ),
        ApiRoute(
            "/escalations/no-data",
            no_data_event,
            "POST",
            summary="Escalate a shop without KPI data for 30 days (idempotent by eventId)",
            body=models.NoDataEvent,
            response=models.EscalationOutcome,
            errors=(409,),
        ),
        ApiRoute(
            "/roadmaps",
            roadmaps,
            "GET",
            summary="The roadmap of each shop of `shopIds`",
            query=models.ShopIdsQuery,
            response=models.RoadmapBatch,
        ),
        ApiRoute(
            "/shops/{shop_id}/roadmap",
            get_roadmap,
            "GET",
            summary="A shop's roadmap",
            params=scope_path,
            response=models.Roadmap,
        ),
        ApiRoute(
            "/shops/{shop_id}/roadmap/check",
            check_slippage,
            "POST",
            summary="Escalate the stages of a shop's roadmap that slip",
            params=scope_path,
            response=models.SlippageCheck,
            errors=(409,),
        ),
        ApiRoute(
            "/shops/{shop_id}/roadmap/{stage}",
            update_stage,
            "PATCH",
            summary="Change a stage of a shop's roadmap",
            params={**scope_path, "stage": domain.StageCode},
            body=models.StageUpdate,
            response=models.Roadmap,
            errors=(409,),
        ),
    ]
