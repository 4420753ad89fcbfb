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
  in-process caller serves the call inside ``calling_as(principal)``; a call with no caller
  is UNAUTHENTICATED. Free-text names travel as ``on_behalf_of`` beside it, never instead.
- **Idempotency keys** are the keyword argument ``idempotency_key`` of the creating methods (the
  ``Idempotency-Key`` header over HTTP); **expected versions** the ``expected_version`` field of
  the change models. A stale version is CONFLICT on ``expectedVersion``.

Errors are those of :mod:`services.runtime.errors`; answers are the models the HTTP API
serialises.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, date, datetime

from services.risk import domain, escalation, models, monitoring, roadmap
from services.risk.answers import catalogue
from services.risk.escalation import EscalationItem
from services.risk.kpi_codes import KpiCodes
from services.risk.models import EscalationSource
from services.risk.store import Escalated, RiskStore
from services.runtime.auth import Role
from services.runtime.errors import ErrorCode, IntegraError, ValidationFailed
from services.runtime.idempotency import idempotency_of
from services.runtime.metrics import RISK_ESCALATIONS
from services.runtime.openapi import DeletedById
from services.runtime.records import new_id, now
from services.runtime.shop_purge import ShopPurged
from services.runtime.use_cases import RoleTable
from services.runtime.wire import Page, check_id, check_scope
from services.runtime.wire_errors import wire_field, wire_fields

USE_CASES = RoleTable()
ROLES = USE_CASES.roles
"""The role each use case needs, by method name (filled by :func:`requires`)."""
requires = USE_CASES.requires
"""A use case that answers FORBIDDEN unless the caller's role includes the given one."""


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


def today() -> date:
    """Today in UTC: the day overdue views and slippage are computed for."""
    return datetime.now(UTC).date()


def kpi_plan(
    rules: Sequence[monitoring.MonitoringRule], event: models.KpiMeasurementEvent
) -> list[EscalationItem]:
    """The plan of a KPI measurement event: its breach is its measurement's (every revision
    of one measurement shares it)."""
    measurement_id = event.measurement_id or escalation.measurement_of(event.event_id)
    return escalation.kpi_plan(
        rules, event.shop_id, measurement_id, event.kpi_code, event.value, event.measured_at
    )


def updated_rule(
    current: monitoring.MonitoringRule, body: models.RuleUpdate
) -> monitoring.MonitoringRule:
    """A rule with the given fields changed, validated again as a whole."""
    changes = body.model_dump(exclude_unset=True)
    for name, value in changes.items():
        if value is None:
            raise ValidationFailed(wire_field(name), f"{wire_field(name)} cannot be cleared")
    merged = {
        "kpi_code": current.kpi_code,
        "comparator": current.comparator.value,
        "threshold": current.threshold,
        "category": current.category.value,
        "likelihood_step": current.likelihood_step,
        "enabled": current.enabled,
    }
    with wire_fields():
        return monitoring.validate_rule(current.id, **{**merged, **changes})


def _counted(escalated: Escalated, source: EscalationSource) -> models.EscalationOutcome:
    for category in escalated.categories:
        RISK_ESCALATIONS.labels(category, source.value).inc()
    return escalated.outcome


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
        return await self.store.create_risk(body, key, now(), today())

    @requires(Role.VIEWER)
    async def list_risks(
        self, query: models.RiskListQuery
    ) -> Page[models.Risk] | models.RiskBatch | models.ShopRisksBatch:
        """A page of risks; a page per shop of ``shop_ids``; or the risks of ``ids``."""
        as_of = today()
        if query.ids is not None:
            return models.RiskBatch(items=await self.store.risks_of_ids(query.ids, as_of))
        if query.shop_id is not None and query.shop_ids is not None:
            raise ValidationFailed("shopIds", "give shopId or shopIds, not both")
        if query.shop_ids is not None:
            pages = await self.store.shop_risk_pages(query, query.shop_ids, as_of)
            return models.ShopRisksBatch(items=pages)
        return await self.store.risk_page(query, as_of)

    @requires(Role.VIEWER)
    async def get_risk(self, risk_id: str) -> models.Risk:
        """One risk with its history; NOT_FOUND naming ``risk_id``."""
        return await self.store.risk(check_id(risk_id, "risk_id"), today())

    @requires(Role.ANALYST)
    async def update_risk(self, risk_id: str, body: models.RiskUpdate) -> models.Risk:
        """Change a risk's fields and assessments (nothing differs: nothing written)."""
        return await self.store.update_risk(check_id(risk_id, "risk_id"), body, now(), today())

    @requires(Role.ANALYST)
    async def change_status(self, risk_id: str, body: models.StatusChange) -> models.Risk:
        """Move a risk through its lifecycle; a move it does not allow is INVALID_TRANSITION."""
        return await self.store.change_status(check_id(risk_id, "risk_id"), body, now(), today())

    @requires(Role.ANALYST)
    async def add_action(
        self, risk_id: str, body: models.ActionCreate, *, idempotency_key: str | None = None
    ) -> models.Risk:
        """Add a mitigation action; a retried key answers the risk as it is."""
        check_id(risk_id, "risk_id")
        key = idempotency_of("addMitigationAction", idempotency_key, body, {"riskId": risk_id})
        return await self.store.add_action(risk_id, body, key, now(), today())

    @requires(Role.ANALYST)
    async def update_action(
        self, risk_id: str, action_id: str, body: models.ActionUpdate
    ) -> models.Risk:
        """Change or complete a mitigation action; NOT_FOUND naming ``action_id``."""
        check_id(action_id, "action_id")
        risk_id = check_id(risk_id, "risk_id")
        return await self.store.update_action(risk_id, action_id, body, now(), today())

    # --- views -----------------------------------------------------------------------------

    @requires(Role.VIEWER)
    async def matrices(self, query: models.ViewQuery) -> models.MatrixBatch:
        """The 5 × 5 matrix of the open risks of each shop (one command)."""
        return models.MatrixBatch(items=await self.store.matrices(query.shop_ids, query.kind))

    @requires(Role.VIEWER)
    async def summaries(self, query: models.ViewQuery) -> models.SummaryBatch:
        """Open risks by group and level for each shop (one command)."""
        return models.SummaryBatch(items=await self.store.summaries(query.shop_ids, query.kind))

    @requires(Role.VIEWER)
    async def overdue(self, query: models.OverdueQuery) -> models.Overdue:
        """Overdue reviews and actions of a shop as of a day (default: today, UTC)."""
        return await self.store.overdue(query.shop_id, query.as_of or today())

    # --- monitoring rules ------------------------------------------------------------------

    @requires(Role.VIEWER)
    async def list_rules(self) -> list[models.Rule]:
        """Every monitoring rule, built-in first."""
        return await self.store.all_rules()

    @requires(Role.VIEWER)
    async def get_rule(self, rule_id: str) -> models.Rule:
        """One monitoring rule; NOT_FOUND."""
        return await self.store.rule(check_rule_id(rule_id))

    @requires(Role.ADMIN)
    async def create_rule(
        self, body: models.RuleCreate, *, idempotency_key: str | None = None
    ) -> models.Rule:
        """Create a custom rule on a KPI of the catalogue or a custom KPI."""
        key = idempotency_of("createMonitoringRule", idempotency_key, body)
        with wire_fields():
            rule = monitoring.validate_rule(new_id(), **body.model_dump())
        await self.kpi_codes.check(body.kpi_code)
        return await self.store.create_rule(rule, key)

    @requires(Role.ADMIN)
    async def update_rule(self, rule_id: str, body: models.RuleUpdate) -> models.Rule:
        """Change a monitoring rule (built-in ones too)."""
        current = await self.store.monitoring_rule(check_rule_id(rule_id))
        rule = updated_rule(current, body)
        if rule.kpi_code != current.kpi_code:
            await self.kpi_codes.check(rule.kpi_code)
        return await self.store.save_rule(rule)

    @requires(Role.ADMIN)
    async def delete_rule(self, rule_id: str) -> DeletedById:
        """Delete a custom rule; a built-in one is CONFLICT (disable it instead)."""
        await self.store.delete_rule(check_rule_id(rule_id))
        return DeletedById(id=rule_id, deleted=True)

    # --- escalations -----------------------------------------------------------------------

    @requires(Role.ANALYST)
    async def kpi_event(self, event: models.KpiMeasurementEvent) -> models.EscalationOutcome:
        """Apply the monitoring rules to a KPI measurement, once per event and breach."""
        plan = kpi_plan(await self.store.enabled_rules(event.kpi_code), event)
        fingerprint = (
            f"kpi|{event.shop_id}|{event.kpi_code}|{event.value!r}|{event.measured_at.isoformat()}"
        )
        escalated = await self.store.escalate(event.event_id, event.shop_id, fingerprint, plan)
        return _counted(escalated, EscalationSource.KPI_RULE)

    @requires(Role.ANALYST)
    async def no_data_event(self, event: models.NoDataEvent) -> models.EscalationOutcome:
        """Escalate a shop without KPI data for 30 days, once per silence."""
        plan = escalation.no_data_plan(
            event.shop_id, event.last_measurement_at, event.shop_created_at, event.as_of or now()
        )
        start = escalation.silence_start(event.last_measurement_at, event.shop_created_at)
        fingerprint = f"no_data|{event.shop_id}|{start.isoformat() if start else 'never'}"
        escalated = await self.store.escalate(event.event_id, event.shop_id, fingerprint, plan)
        return _counted(escalated, EscalationSource.NO_DATA)

    # --- roadmaps --------------------------------------------------------------------------

    @requires(Role.VIEWER)
    async def roadmaps(self, query: models.ShopIdsQuery) -> models.RoadmapBatch:
        """The roadmap of each shop (one command)."""
        states = await self.store.shop_roadmaps(query.shop_ids, today())
        return models.RoadmapBatch(items=[state.roadmap for state in states])

    @requires(Role.VIEWER)
    async def get_roadmap(self, shop_id: str) -> models.Roadmap:
        """A shop's roadmap (missing stages are NOT_STARTED)."""
        [state] = await self.store.shop_roadmaps([check_scope(shop_id, "shop_id")], today())
        return state.roadmap

    @requires(Role.ANALYST)
    async def update_stage(
        self, shop_id: str, stage: domain.StageCode, body: models.StageUpdate
    ) -> models.Roadmap:
        """Change a stage of a shop's roadmap; escalate the stages that slip."""
        check_scope(shop_id, "shop_id")
        as_of = today()
        state = await self.store.change_stage(shop_id, stage, body, now(), as_of)
        await self._escalate_slips(shop_id, state.stages)
        return state.roadmap

    @requires(Role.ANALYST)
    async def check_slippage(self, shop_id: str) -> models.SlippageCheck:
        """Escalate the stages of a shop's roadmap that slip (once per stage)."""
        [state] = await self.store.shop_roadmaps([check_scope(shop_id, "shop_id")], today())
        outcomes = await self._escalate_slips(shop_id, state.stages)
        return models.SlippageCheck(shop_id=shop_id, escalations=outcomes)

    async def _escalate_slips(
        self, shop_id: str, stages: Sequence[roadmap.Stage]
    ) -> list[models.EscalationOutcome]:
        as_of = today()
        outcomes = []
        for stage in stages:
            item = escalation.slip_item(stage, as_of)
            if item is None:
                continue
            event_id = escalation.slip_event_id(shop_id, stage.code)
            escalated = await self.store.escalate(event_id, shop_id, event_id, [item])
            outcomes.append(_counted(escalated, EscalationSource.ROADMAP_SLIP))
        return outcomes

    # --- shops -----------------------------------------------------------------------------

    @requires(Role.ADMIN)
    async def purge_shop(self, shop_id: str) -> ShopPurged:
        """Forget a deleted shop: its risks, roadmap and breach claims (idempotent)."""
        return await self.store.forget_shop(check_id(shop_id, "shop_id"))
