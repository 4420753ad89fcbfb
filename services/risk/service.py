"""The risk service's use cases (domain.md §3): typed async methods, the only caller of the store.

:class:`RiskService` is what both adapters call: the HTTP routes (:mod:`services.risk.routes`)
and, in process, the gateway. Its contract holds whichever adapter calls it:

- **Validation** is the models': a method takes the request models of
  :mod:`services.risk.models` (built by ``model_validate``, so invalid input never reaches it)
  and checks the ids it is given itself (INVALID_ID naming the parameter, as the HTTP path
  does). Domain errors name the request's (camelCase) field.
- **Roles** are enforced by each method (:func:`requires`) against the authenticated caller;
  :data:`ROLES` is the role table, which the HTTP routes declare too (OpenAPI, 403).
- **The actor** of every history entry and created record is the caller of
  :mod:`services.runtime.caller`: the HTTP authentication middleware sets it per request, an
  in-process caller serves the call inside ``calling_as(principal)``. Free-text names travel
  as ``on_behalf_of`` beside it, never instead.
- **Idempotency keys** are the keyword argument ``idempotency_key`` of the creating methods (the
  ``Idempotency-Key`` header over HTTP); **expected versions** the ``expected_version`` field of
  the change models. A stale version is CONFLICT on ``expectedVersion``.

Errors are those of :mod:`services.runtime.errors`; answers are the models the HTTP API
serialises.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar

from pydantic import BaseModel

from services.risk import domain, escalation, models
from services.risk.answers import (
    catalogue,
    group_by_shop,
    matrix_out,
    outcome_out,
    overdue_out,
    risk_out,
    roadmap_out,
    rule_out,
    summary_out,
)
from services.risk.changes import (
    add_action,
    new_risk,
    stage_change,
    status_change,
    update_action,
    update_change,
    updated_rule,
    wire_fields,
)
from services.risk.documents import (
    EventResult,
    RiskChange,
    RiskMutation,
    custom_rule_document,
    risk_filter,
    risk_sort,
    rule_of,
    rule_update_fields,
    stages_of,
    today,
)
from services.risk.escalation import EscalationItem
from services.risk.kpi_codes import KpiCodes
from services.risk.models import EscalationSource
from services.risk.store import RiskStore
from services.runtime.auth import Role
from services.runtime.caller import require_role
from services.runtime.concurrency import check_version
from services.runtime.errors import ErrorCode, IntegraError, ValidationFailed
from services.runtime.idempotency import Idempotency, check_key, request_hash
from services.runtime.metrics import RISK_ESCALATIONS
from services.runtime.openapi import DeletedById
from services.runtime.records import Document, new_id, now
from services.runtime.shop_purge import ShopPurged
from services.runtime.wire import Page, check_id, check_scope

P = ParamSpec("P")
R = TypeVar("R")

ROLES: dict[str, Role] = {}
"""The role each use case needs, by method name (filled by :func:`requires`)."""


def requires(role: Role) -> Callable[[Callable[P, Awaitable[R]]], Callable[P, Awaitable[R]]]:
    """A use case that answers FORBIDDEN unless the caller's role includes ``role``."""

    def decorate(method: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
        ROLES[method.__name__] = role

        @functools.wraps(method)
        async def guarded(*args: P.args, **kwargs: P.kwargs) -> R:
            require_role(role)
            return await method(*args, **kwargs)

        return guarded

    return decorate


_RULE_ID = re.compile(r"^[A-Za-z0-9_-]{1,120}$")


def check_rule_id(value: str) -> str:
    """``value`` if it is a rule id; anything else is INVALID_ID."""
    if not _RULE_ID.match(value):
        raise IntegraError(ErrorCode.INVALID_ID, "rule_id must be a rule id", "rule_id")
    return value


def check_stage(value: str) -> domain.StageCode:
    """A stage code; anything else is VALIDATION_ERROR naming ``stage``."""
    if value not in domain.StageCode.__members__:
        codes = ", ".join(domain.StageCode)
        raise ValidationFailed("stage", f"stage must be one of {codes}")
    return domain.StageCode(value)


def idempotency_of(
    operation: str, key: str | None, body: BaseModel, scope: dict[str, str] | None = None
) -> Idempotency | None:
    """The idempotency of a creating call (``None`` without a key); a bad key is a
    VALIDATION_ERROR naming ``idempotencyKey``."""
    if key is None:
        return None
    return Idempotency(operation, check_key(key), request_hash(body, scope or {}))


def kpi_plan(
    rules: list[domain.MonitoringRule], event: models.KpiMeasurementEvent
) -> list[EscalationItem]:
    """The plan of a KPI measurement event: its breach is its measurement's (every revision
    of one measurement shares it)."""
    measurement_id = event.measurement_id or escalation.measurement_of(event.event_id)
    return escalation.kpi_plan(
        rules, event.shop_id, measurement_id, event.kpi_code, event.value, event.measured_at
    )


def _count(result: EventResult, source: EscalationSource) -> None:
    for category in result.escalated:
        RISK_ESCALATIONS.labels(category, source.value).inc()


class RiskService:
    """Risk register, lifecycle, views, monitoring rules, escalations and roadmaps."""

    def __init__(self, store: RiskStore, kpi_codes: KpiCodes) -> None:
        self.store = store
        self.kpi_codes = kpi_codes
        self._catalogue = catalogue()

    @requires(Role.VIEWER)
    async def get_catalogue(self) -> models.Catalogue:
        """The static catalogue of groups, categories and roadmap stages."""
        return self._catalogue

    # --- risks -----------------------------------------------------------------------------

    @requires(Role.ANALYST)
    async def create_risk(
        self, body: models.RiskCreate, *, idempotency_key: str | None = None
    ) -> models.Risk:
        """Add a risk to a shop's register (IDENTIFIED); a retried key answers the first."""
        key = idempotency_of("createRisk", idempotency_key, body)
        doc = await self.store.insert_risk(new_risk(body, now()), key)
        return risk_out(doc, today())

    @requires(Role.VIEWER)
    async def list_risks(
        self, query: models.RiskListQuery
    ) -> Page[models.Risk] | models.RiskBatch | models.ShopRisksBatch:
        """A page of risks; a page per shop of ``shop_ids``; or the risks of ``ids``."""
        as_of = today()
        if query.ids is not None:
            docs = await self.store.risks_by_ids(query.ids)
            return models.RiskBatch(items=[risk_out(d, as_of) for d in docs])
        if query.shop_id is not None and query.shop_ids is not None:
            raise ValidationFailed("shopIds", "give shopId or shopIds, not both")
        filters = risk_filter(
            shop_ids=query.shop_ids or ([query.shop_id] if query.shop_id else None),
            groups=query.group,
            categories=query.category,
            levels=query.level,
            statuses=query.status,
            owner=query.owner,
        )
        sort = risk_sort(query.sort.value, query.order is models.SortOrder.DESC)
        if query.shop_ids is not None:
            by_shop = group_by_shop(await self.store.find_risks(filters, sort))
            start, end = query.offset, query.offset + query.limit
            pages = [
                models.ShopRisks(
                    shop_id=shop_id,
                    items=[risk_out(d, as_of) for d in by_shop[shop_id][start:end]],
                    total_count=len(by_shop[shop_id]),
                    limit=query.limit,
                    offset=query.offset,
                )
                for shop_id in query.shop_ids
            ]
            return models.ShopRisksBatch(items=pages)
        docs, total = await self.store.list_risks(filters, sort, query.limit, query.offset)
        items = [risk_out(d, as_of) for d in docs]
        return Page[models.Risk](
            items=items, total_count=total, limit=query.limit, offset=query.offset
        )

    @requires(Role.VIEWER)
    async def get_risk(self, risk_id: str) -> models.Risk:
        """One risk with its history; NOT_FOUND naming ``risk_id``."""
        doc = await self.store.get_risk(check_id(risk_id, "risk_id"), "risk_id")
        return risk_out(doc, today())

    async def _modify(
        self, risk_id: str, mutate: RiskMutation, expected_version: int | None
    ) -> models.Risk:
        doc, _ = await self.store.modify_risk(
            check_id(risk_id, "risk_id"),
            mutate,
            field_name="risk_id",
            expected_version=expected_version,
        )
        return risk_out(doc, today())

    @requires(Role.ANALYST)
    async def update_risk(self, risk_id: str, body: models.RiskUpdate) -> models.Risk:
        """Change a risk's fields and assessments (nothing differs: nothing written)."""
        at = now()
        return await self._modify(
            risk_id, lambda doc: update_change(doc, body, at), body.expected_version
        )

    @requires(Role.ANALYST)
    async def change_status(self, risk_id: str, body: models.StatusChange) -> models.Risk:
        """Move a risk through its lifecycle; a move it does not allow is INVALID_TRANSITION."""
        at = now()
        return await self._modify(
            risk_id, lambda doc: status_change(doc, body, at), body.expected_version
        )

    @requires(Role.ANALYST)
    async def add_action(
        self, risk_id: str, body: models.ActionCreate, *, idempotency_key: str | None = None
    ) -> models.Risk:
        """Add a mitigation action; a retried key answers the risk as it is."""
        check_id(risk_id, "risk_id")
        key = idempotency_of("addMitigationAction", idempotency_key, body, {"riskId": risk_id})
        at = now()
        action_id = key.record_id(risk_id) if key else new_id()

        def mutate(doc: Document) -> RiskChange | None:
            # A retried keyed request finds its action applied and answers the risk as it is:
            # its expectedVersion was met by the first attempt, so it is checked on writes only.
            added = add_action(doc, body, action_id, at, key)
            if added is not None:
                check_version("risk", risk_id, doc["version"], body.expected_version)
            return added

        return await self._modify(risk_id, mutate, None)

    @requires(Role.ANALYST)
    async def update_action(
        self, risk_id: str, action_id: str, body: models.ActionUpdate
    ) -> models.Risk:
        """Change or complete a mitigation action; NOT_FOUND naming ``action_id``."""
        check_id(action_id, "action_id")
        at = now()
        return await self._modify(
            risk_id, lambda doc: update_action(doc, action_id, body, at), body.expected_version
        )

    # --- views -----------------------------------------------------------------------------

    @requires(Role.VIEWER)
    async def matrices(self, query: models.ViewQuery) -> models.MatrixBatch:
        """The 5 × 5 matrix of the open risks of each shop (one command)."""
        by_shop = group_by_shop(await self.store.open_risks(query.shop_ids))
        items = [matrix_out(s, query.kind, by_shop.get(s, [])) for s in query.shop_ids]
        return models.MatrixBatch(items=items)

    @requires(Role.VIEWER)
    async def summaries(self, query: models.ViewQuery) -> models.SummaryBatch:
        """Open risks by group and level for each shop (one command)."""
        by_shop = group_by_shop(await self.store.open_risks(query.shop_ids))
        items = [summary_out(s, query.kind, by_shop.get(s, [])) for s in query.shop_ids]
        return models.SummaryBatch(items=items)

    @requires(Role.VIEWER)
    async def overdue(self, query: models.OverdueQuery) -> models.Overdue:
        """Overdue reviews and actions of a shop as of a day (default: today, UTC)."""
        as_of = query.as_of or today()
        docs = await self.store.overdue_candidates(query.shop_id, as_of)
        return overdue_out(query.shop_id, docs, as_of)

    # --- monitoring rules ------------------------------------------------------------------

    @requires(Role.VIEWER)
    async def list_rules(self) -> list[models.Rule]:
        """Every monitoring rule, built-in first."""
        return [rule_out(d) for d in await self.store.list_rules()]

    @requires(Role.VIEWER)
    async def get_rule(self, rule_id: str) -> models.Rule:
        """One monitoring rule; NOT_FOUND."""
        return rule_out(await self.store.get_rule(check_rule_id(rule_id)))

    @requires(Role.ADMIN)
    async def create_rule(
        self, body: models.RuleCreate, *, idempotency_key: str | None = None
    ) -> models.Rule:
        """Create a custom rule on a KPI of the catalogue or a custom KPI."""
        key = idempotency_of("createMonitoringRule", idempotency_key, body)
        with wire_fields():
            rule = domain.validate_rule(new_id(), **body.model_dump())
        await self.kpi_codes.check(body.kpi_code)
        return rule_out(await self.store.insert_rule(custom_rule_document(rule), key))

    @requires(Role.ADMIN)
    async def update_rule(self, rule_id: str, body: models.RuleUpdate) -> models.Rule:
        """Change a monitoring rule (built-in ones too)."""
        current = rule_of(await self.store.get_rule(check_rule_id(rule_id)))
        rule = updated_rule(current, body)
        if rule.kpi_code != current.kpi_code:
            await self.kpi_codes.check(rule.kpi_code)
        return rule_out(await self.store.replace_rule(rule_id, rule_update_fields(rule)))

    @requires(Role.ADMIN)
    async def delete_rule(self, rule_id: str) -> DeletedById:
        """Delete a custom rule; a built-in one is CONFLICT (disable it instead)."""
        await self.store.delete_rule(check_rule_id(rule_id))
        return DeletedById(id=rule_id, deleted=True)

    # --- escalations -----------------------------------------------------------------------

    @requires(Role.ANALYST)
    async def kpi_event(self, event: models.KpiMeasurementEvent) -> models.EscalationOutcome:
        """Apply the monitoring rules to a KPI measurement, once per event and breach."""
        rules = [rule_of(d) for d in await self.store.rules_for(event.kpi_code)]
        fingerprint = (
            f"kpi|{event.shop_id}|{event.kpi_code}|{event.value!r}|{event.measured_at.isoformat()}"
        )
        plan = kpi_plan(rules, event)
        result = await self.store.apply_event(event.event_id, event.shop_id, fingerprint, plan)
        _count(result, EscalationSource.KPI_RULE)
        return outcome_out(event.event_id, event.shop_id, result)

    @requires(Role.ANALYST)
    async def no_data_event(self, event: models.NoDataEvent) -> models.EscalationOutcome:
        """Escalate a shop without KPI data for 30 days, once per silence."""
        plan = escalation.no_data_plan(
            event.shop_id, event.last_measurement_at, event.shop_created_at, event.as_of or now()
        )
        start = escalation.silence_start(event.last_measurement_at, event.shop_created_at)
        fingerprint = f"no_data|{event.shop_id}|{start.isoformat() if start else 'never'}"
        result = await self.store.apply_event(event.event_id, event.shop_id, fingerprint, plan)
        _count(result, EscalationSource.NO_DATA)
        return outcome_out(event.event_id, event.shop_id, result)

    # --- roadmaps --------------------------------------------------------------------------

    @requires(Role.VIEWER)
    async def roadmaps(self, query: models.ShopIdsQuery) -> models.RoadmapBatch:
        """The roadmap of each shop (one command)."""
        stored = await self.store.roadmaps_of(query.shop_ids)
        as_of = today()
        return models.RoadmapBatch(
            items=[roadmap_out(s, stored.get(s), as_of) for s in query.shop_ids]
        )

    @requires(Role.VIEWER)
    async def get_roadmap(self, shop_id: str) -> models.Roadmap:
        """A shop's roadmap (missing stages are NOT_STARTED)."""
        stored = await self.store.roadmaps_of([check_scope(shop_id, "shop_id")])
        return roadmap_out(shop_id, stored.get(shop_id), today())

    @requires(Role.ANALYST)
    async def update_stage(
        self, shop_id: str, stage: domain.StageCode, body: models.StageUpdate
    ) -> models.Roadmap:
        """Change a stage of a shop's roadmap; escalate the stages that slip."""
        check_scope(shop_id, "shop_id")
        as_of = today()
        roadmap = await self.store.modify_roadmap(shop_id, stage_change(stage, body, as_of, now()))
        await self._escalate_slips(shop_id, roadmap)
        return roadmap_out(shop_id, roadmap, as_of)

    @requires(Role.ANALYST)
    async def check_slippage(self, shop_id: str) -> models.SlippageCheck:
        """Escalate the stages of a shop's roadmap that slip (once per stage)."""
        stored = await self.store.roadmaps_of([check_scope(shop_id, "shop_id")])
        outcomes = await self._escalate_slips(shop_id, stored.get(shop_id) or {})
        return models.SlippageCheck(shop_id=shop_id, escalations=outcomes)

    async def _escalate_slips(
        self, shop_id: str, roadmap: Document
    ) -> list[models.EscalationOutcome]:
        as_of = today()
        outcomes = []
        for stage in stages_of(roadmap):
            item = escalation.slip_item(stage, as_of)
            if item is None:
                continue
            event_id = escalation.slip_event_id(shop_id, stage.code)
            result = await self.store.apply_event(event_id, shop_id, event_id, [item])
            _count(result, EscalationSource.ROADMAP_SLIP)
            outcomes.append(outcome_out(event_id, shop_id, result))
        return outcomes

    # --- shops -----------------------------------------------------------------------------

    @requires(Role.ADMIN)
    async def purge_shop(self, shop_id: str) -> ShopPurged:
        """Forget a deleted shop: its risks, roadmap and breach claims (idempotent)."""
        return await self.store.purge.purge(check_id(shop_id, "shop_id"))
