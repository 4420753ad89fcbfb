"""The risk queries and mutations: each checks its arguments, calls the typed risk client
(through the request's DataLoaders for reads by key) and answers the GraphQL types. Mutations
naming a shop check, through the scoring service, that it exists."""

from __future__ import annotations

import re
from datetime import date

import strawberry

from gateway.context import Info
from gateway.idempotency import IdempotencyKey, scoped_key
from gateway.types.common import DeletePayload, request_model
from gateway.types.risk import (
    AssessmentKind,
    Risk,
    RiskFilter,
    RiskPage,
    RiskSort,
    StageCode,
    load_risk,
    require_scope,
    risk_query,
)
from gateway.types.risk_inputs import (
    AddMitigationActionInput,
    ChangeRiskStatusInput,
    CreateMonitoringRuleInput,
    CreateRiskInput,
    KpiMeasurementInput,
    MissingKpiDataInput,
    UpdateMitigationActionInput,
    UpdateMonitoringRuleInput,
    UpdateRiskInput,
    UpdateRoadmapStageInput,
)
from gateway.types.risk_views import (
    EscalationOutcome,
    MonitoringRule,
    RiskCatalogue,
    RiskMatrix,
    RiskOverdue,
    RiskSummary,
    Roadmap,
    shop_risk_matrix,
    shop_roadmap,
)
from gateway.types.scores import SortOrder
from services.risk import models
from services.runtime.errors import ErrorCode, IntegraError
from services.runtime.wire import check_id, check_scope

_RULE_ID = re.compile(r"^[A-Za-z0-9_-]{1,120}$")


def _rule_id(value: strawberry.ID) -> str:
    """A rule id, checked as the risk service checks its path (before the body)."""
    if not _RULE_ID.match(str(value)):
        raise IntegraError(ErrorCode.INVALID_ID, "rule_id must be a rule id", "rule_id")
    return str(value)


@strawberry.type
class RiskQuery:
    @strawberry.field(description="Risk groups and categories with their texts.")
    async def risk_catalogue(self, info: Info) -> RiskCatalogue:
        return RiskCatalogue.from_model(await info.context.clients.risk.catalogue())

    @strawberry.field(description="A risk by id, with its history; null if there is none.")
    async def risk(self, info: Info, id: strawberry.ID) -> Risk | None:
        return await load_risk(info, check_id(str(id)))

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
        query = risk_query(filter, sort, order, limit, offset, shop_id)
        return RiskPage.of(await info.context.clients.risk.risks(query), Risk.from_model)

    @strawberry.field(description="The 5 × 5 matrix of a shop's open risks.")
    async def risk_matrix(
        self, info: Info, shop_id: strawberry.ID, kind: AssessmentKind = AssessmentKind.INHERENT
    ) -> RiskMatrix:
        return await shop_risk_matrix(info, check_scope(shop_id, "shopId"), kind)

    @strawberry.field(description="A shop's open risks counted by group and level.")
    async def risk_summary(
        self, info: Info, shop_id: strawberry.ID, kind: AssessmentKind = AssessmentKind.INHERENT
    ) -> RiskSummary:
        scope = check_scope(shop_id, "shopId")
        query = models.ViewQuery.model_construct(shop_ids=[scope], kind=kind)
        summaries = await info.context.clients.risk.summaries(query)
        return RiskSummary.from_model(summaries[0])

    @strawberry.field(description="Overdue reviews and actions of a shop (default: today, UTC).")
    async def risk_overdue(
        self, info: Info, shop_id: strawberry.ID, as_of: date | None = None
    ) -> RiskOverdue:
        scope = check_scope(shop_id, "shopId")
        query = models.OverdueQuery.model_construct(shop_id=scope, as_of=as_of)
        return RiskOverdue.from_model(await info.context.clients.risk.overdue(query))

    @strawberry.field(description="Every monitoring rule, built-in first.")
    async def monitoring_rules(self, info: Info) -> list[MonitoringRule]:
        rules = await info.context.clients.risk.rules()
        return [MonitoringRule.from_model(r) for r in rules]

    @strawberry.field(description="A monitoring rule by id; null if there is none.")
    async def monitoring_rule(self, info: Info, id: strawberry.ID) -> MonitoringRule | None:
        try:
            rule = await info.context.clients.risk.rule(str(id))
        except IntegraError as error:
            if error.code is ErrorCode.NOT_FOUND:
                return None
            raise
        return MonitoringRule.from_model(rule)

    @strawberry.field(description="The integration roadmap of a shop (or the platform).")
    async def roadmap(self, info: Info, shop_id: strawberry.ID) -> Roadmap:
        return await shop_roadmap(info, check_scope(shop_id, "shopId"))


@strawberry.type
class RiskMutation:
    @strawberry.mutation(description="Add a risk to a shop's register (status IDENTIFIED).")
    async def create_risk(
        self, info: Info, input: CreateRiskInput, idempotency_key: IdempotencyKey = None
    ) -> Risk:
        key = scoped_key(idempotency_key)
        scope = await require_scope(info, input.shop_id, "input.shopId")
        risk = request_model(models.RiskCreate, input, shop_id=scope)
        return Risk.from_model(await info.context.clients.risk.create_risk(risk, key))

    @strawberry.mutation(description="Change a risk's texts, owner, assessments or review date.")
    async def update_risk(self, info: Info, id: strawberry.ID, input: UpdateRiskInput) -> Risk:
        risk_id = check_id(str(id))
        changes = request_model(models.RiskUpdate, input)
        return Risk.from_model(await info.context.clients.risk.update_risk(risk_id, changes))

    @strawberry.mutation(description="Move a risk through its lifecycle.")
    async def change_risk_status(
        self, info: Info, id: strawberry.ID, input: ChangeRiskStatusInput
    ) -> Risk:
        risk_id = check_id(str(id))
        change = request_model(models.StatusChange, input)
        return Risk.from_model(await info.context.clients.risk.change_status(risk_id, change))

    @strawberry.mutation(description="Add a mitigation action to a risk.")
    async def add_mitigation_action(
        self,
        info: Info,
        risk_id: strawberry.ID,
        input: AddMitigationActionInput,
        idempotency_key: IdempotencyKey = None,
    ) -> Risk:
        checked = check_id(str(risk_id), "riskId")
        key = scoped_key(idempotency_key)
        action = request_model(models.ActionCreate, input)
        return Risk.from_model(await info.context.clients.risk.add_action(checked, action, key))

    @strawberry.mutation(description="Change or complete a mitigation action.")
    async def update_mitigation_action(
        self,
        info: Info,
        risk_id: strawberry.ID,
        action_id: strawberry.ID,
        input: UpdateMitigationActionInput,
    ) -> Risk:
        risk = check_id(str(risk_id), "riskId")
        action = check_id(str(action_id), "actionId")
        changes = request_model(models.ActionUpdate, input)
        updated = await info.context.clients.risk.update_action(risk, action, changes)
        return Risk.from_model(updated)

    @strawberry.mutation(description="Create a custom monitoring rule.")
    async def create_monitoring_rule(
        self, info: Info, input: CreateMonitoringRuleInput, idempotency_key: IdempotencyKey = None
    ) -> MonitoringRule:
        key = scoped_key(idempotency_key)
        rule = request_model(models.RuleCreate, input)
        return MonitoringRule.from_model(await info.context.clients.risk.create_rule(rule, key))

    @strawberry.mutation(description="Change a monitoring rule (built-in ones too).")
    async def update_monitoring_rule(
        self, info: Info, id: strawberry.ID, input: UpdateMonitoringRuleInput
    ) -> MonitoringRule:
        rule_id = _rule_id(id)
        changes = request_model(models.RuleUpdate, input)
        updated = await info.context.clients.risk.update_rule(rule_id, changes)
        return MonitoringRule.from_model(updated)

    @strawberry.mutation(
        description="Delete a custom monitoring rule. A built-in rule cannot be deleted "
        "(CONFLICT): disable it with updateMonitoringRule(input: {enabled: false})."
    )
    async def delete_monitoring_rule(self, info: Info, id: strawberry.ID) -> DeletePayload:
        await info.context.clients.risk.delete_rule(str(id))
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
        changes = request_model(models.StageUpdate, input)
        roadmap = await info.context.clients.risk.update_stage(scope, stage, changes)
        return Roadmap.from_model(roadmap)

    @strawberry.mutation(description="Escalate the stages of a roadmap that slip as of today.")
    async def check_roadmap_slippage(
        self, info: Info, shop_id: strawberry.ID
    ) -> list[EscalationOutcome]:
        scope = await require_scope(info, shop_id, "shopId")
        check = await info.context.clients.risk.check_slippage(scope)
        return [EscalationOutcome.from_model(e) for e in check.escalations]

    @strawberry.mutation(
        description="Report a KPI measurement; breached rules escalate once per measurement "
        "and category (a replaced revision that still breaches escalates nothing more)."
    )
    async def report_kpi_measurement(
        self, info: Info, input: KpiMeasurementInput
    ) -> EscalationOutcome:
        scope = await require_scope(info, input.shop_id, "input.shopId")
        event = request_model(models.KpiMeasurementEvent, input, shop_id=scope)
        outcome = await info.context.clients.risk.report_measurement(event)
        return EscalationOutcome.from_model(outcome)

    @strawberry.mutation(description="Report when a shop was last measured (no-data rule).")
    async def report_missing_kpi_data(
        self, info: Info, input: MissingKpiDataInput
    ) -> EscalationOutcome:
        scope = await require_scope(info, input.shop_id, "input.shopId")
        event = request_model(models.NoDataEvent, input, shop_id=scope)
        return EscalationOutcome.from_model(await info.context.clients.risk.report_no_data(event))
