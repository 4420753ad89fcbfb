""":class:`gateway.risk_client.RiskClient` over the risk service's use cases in this process."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from gateway.in_process import InProcessCalls, answer_of, revalidated
from gateway.risk_client import RiskPage
from services.risk import models
from services.risk.domain import StageCode
from services.risk.routes import OPERATIONS
from services.risk.service import RiskService


class InProcessRiskClient:
    """The risk service's operations as direct calls of :class:`RiskService` (``service()``
    answers the running one)."""

    def __init__(self, service: Callable[[], RiskService]) -> None:
        self._service = service
        self._call = InProcessCalls("risk", OPERATIONS)

    async def catalogue(self) -> models.Catalogue:
        """See :meth:`RiskClient.catalogue`."""
        return await self._call(self._service().get_catalogue)

    async def risks(self, query: models.RiskListQuery) -> RiskPage:
        """See :meth:`RiskClient.risks`."""
        answer = await self._call(self._service().list_risks, revalidated(query))
        return answer_of(RiskPage, answer)

    async def risks_by_id(self, ids: Sequence[str]) -> list[models.Risk]:
        """See :meth:`RiskClient.risks_by_id`."""
        query = revalidated(models.RiskListQuery.model_construct(ids=list(ids)))
        answer = await self._call(self._service().list_risks, query)
        return answer_of(models.RiskBatch, answer).items

    async def shop_risks(self, query: models.RiskListQuery) -> list[models.ShopRisks]:
        """See :meth:`RiskClient.shop_risks`."""
        answer = await self._call(self._service().list_risks, revalidated(query))
        return answer_of(models.ShopRisksBatch, answer).items

    async def matrices(self, query: models.ViewQuery) -> list[models.RiskMatrix]:
        """See :meth:`RiskClient.matrices`."""
        return (await self._call(self._service().matrices, revalidated(query))).items

    async def summaries(self, query: models.ViewQuery) -> list[models.RiskSummary]:
        """See :meth:`RiskClient.summaries`."""
        return (await self._call(self._service().summaries, revalidated(query))).items

    async def overdue(self, query: models.OverdueQuery) -> models.Overdue:
        """See :meth:`RiskClient.overdue`."""
        return await self._call(self._service().overdue, revalidated(query))

    async def rules(self) -> list[models.Rule]:
        """See :meth:`RiskClient.rules`."""
        return await self._call(self._service().list_rules)

    async def rule(self, rule_id: str) -> models.Rule:
        """See :meth:`RiskClient.rule`."""
        return await self._call(self._service().get_rule, rule_id)

    async def create_rule(
        self, rule: models.RuleCreate, idempotency_key: str | None
    ) -> models.Rule:
        """See :meth:`RiskClient.create_rule`."""
        return await self._call(
            self._service().create_rule, revalidated(rule), idempotency_key=idempotency_key
        )

    async def update_rule(self, rule_id: str, changes: models.RuleUpdate) -> models.Rule:
        """See :meth:`RiskClient.update_rule`."""
        return await self._call(self._service().update_rule, rule_id, revalidated(changes))

    async def delete_rule(self, rule_id: str) -> None:
        """See :meth:`RiskClient.delete_rule`."""
        await self._call(self._service().delete_rule, rule_id)

    async def create_risk(
        self, risk: models.RiskCreate, idempotency_key: str | None
    ) -> models.Risk:
        """See :meth:`RiskClient.create_risk`."""
        return await self._call(
            self._service().create_risk, revalidated(risk), idempotency_key=idempotency_key
        )

    async def update_risk(self, risk_id: str, changes: models.RiskUpdate) -> models.Risk:
        """See :meth:`RiskClient.update_risk`."""
        return await self._call(self._service().update_risk, risk_id, revalidated(changes))

    async def change_status(self, risk_id: str, change: models.StatusChange) -> models.Risk:
        """See :meth:`RiskClient.change_status`."""
        return await self._call(self._service().change_status, risk_id, revalidated(change))

    async def add_action(
        self, risk_id: str, action: models.ActionCreate, idempotency_key: str | None
    ) -> models.Risk:
        """See :meth:`RiskClient.add_action`."""
        return await self._call(
            self._service().add_action,
            risk_id,
            revalidated(action),
            idempotency_key=idempotency_key,
        )

    async def update_action(
        self, risk_id: str, action_id: str, changes: models.ActionUpdate
    ) -> models.Risk:
        """See :meth:`RiskClient.update_action`."""
        service = self._service()
        return await self._call(service.update_action, risk_id, action_id, revalidated(changes))

    async def roadmaps(self, shop_ids: Sequence[str]) -> list[models.Roadmap]:
        """See :meth:`RiskClient.roadmaps`."""
        query = revalidated(models.ShopIdsQuery.model_construct(shop_ids=list(shop_ids)))
        return (await self._call(self._service().roadmaps, query)).items

    async def update_stage(
        self, shop_id: str, stage: StageCode, changes: models.StageUpdate
    ) -> models.Roadmap:
        """See :meth:`RiskClient.update_stage`."""
        service = self._service()
        return await self._call(service.update_stage, shop_id, stage, revalidated(changes))

    async def check_slippage(self, shop_id: str) -> models.SlippageCheck:
        """See :meth:`RiskClient.check_slippage`."""
        return await self._call(self._service().check_slippage, shop_id)

    async def report_measurement(
        self, event: models.KpiMeasurementEvent
    ) -> models.EscalationOutcome:
        """See :meth:`RiskClient.report_measurement`."""
        return await self._call(self._service().kpi_event, revalidated(event))

    async def report_no_data(self, event: models.NoDataEvent) -> models.EscalationOutcome:
        """See :meth:`RiskClient.report_no_data`."""
        return await self._call(self._service().no_data_event, revalidated(event))
