"""The risk service as the gateway uses it: one typed interface, and its HTTP implementation.

:class:`RiskClient` names the operations in the service's own models
(:mod:`services.risk.models`); it knows nothing of paths, status codes or headers, so an
in-process implementation can stand in for :class:`HttpRiskClient`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from pydantic import TypeAdapter

from gateway.clients import ServiceClient, key_header, query_params, request_body
from services.risk import models
from services.risk.domain import StageCode
from services.runtime.wire import Page

RiskPage = Page[models.Risk]
_RULES = TypeAdapter(list[models.Rule])


class RiskClient(Protocol):
    """The risk service's operations. ``idempotency_key`` is the caller-scoped key
    (:func:`gateway.idempotency.scoped_key`); a missing record raises NOT_FOUND."""

    async def catalogue(self) -> models.Catalogue:
        """Risk groups, categories and roadmap stages."""
        ...

    async def risks(self, query: models.RiskListQuery) -> RiskPage:
        """A page of risks, filtered and sorted (``shop_ids`` and ``ids`` unset)."""
        ...

    async def risks_by_id(self, ids: Sequence[str]) -> list[models.Risk]:
        """The risks of ``ids`` that exist (at most 100)."""
        ...

    async def shop_risks(self, query: models.RiskListQuery) -> list[models.ShopRisks]:
        """A page of risks for each scope of ``query.shop_ids``, in its order."""
        ...

    async def matrices(self, query: models.ViewQuery) -> list[models.RiskMatrix]:
        """The 5 × 5 matrices of the scopes of the query, in its order."""
        ...

    async def summaries(self, query: models.ViewQuery) -> list[models.RiskSummary]:
        """The open risks of the scopes of the query by group and level, in its order."""
        ...

    async def overdue(self, query: models.OverdueQuery) -> models.Overdue:
        """Overdue reviews and actions of a scope."""
        ...

    async def rules(self) -> list[models.Rule]:
        """Every monitoring rule, built-in first."""
        ...

    async def rule(self, rule_id: str) -> models.Rule:
        """A monitoring rule by id."""
        ...

    async def create_rule(
        self, rule: models.RuleCreate, idempotency_key: str | None
    ) -> models.Rule:
        """Create a custom monitoring rule."""
        ...

    async def update_rule(self, rule_id: str, changes: models.RuleUpdate) -> models.Rule:
        """Change a monitoring rule."""
        ...

    async def delete_rule(self, rule_id: str) -> None:
        """Delete a custom monitoring rule."""
        ...

    async def create_risk(
        self, risk: models.RiskCreate, idempotency_key: str | None
    ) -> models.Risk:
        """Add a risk to a register."""
        ...

    async def update_risk(self, risk_id: str, changes: models.RiskUpdate) -> models.Risk:
        """Change a risk's fields (those set in ``changes``)."""
        ...

    async def change_status(self, risk_id: str, change: models.StatusChange) -> models.Risk:
        """Move a risk through its lifecycle."""
        ...

    async def add_action(
        self, risk_id: str, action: models.ActionCreate, idempotency_key: str | None
    ) -> models.Risk:
        """Add a mitigation action to a risk."""
        ...

    async def update_action(
        self, risk_id: str, action_id: str, changes: models.ActionUpdate
    ) -> models.Risk:
        """Change or complete a mitigation action."""
        ...

    async def roadmaps(self, shop_ids: Sequence[str]) -> list[models.Roadmap]:
        """The roadmaps of the scopes, in their order."""
        ...

    async def update_stage(
        self, shop_id: str, stage: StageCode, changes: models.StageUpdate
    ) -> models.Roadmap:
        """Change a roadmap stage."""
        ...

    async def check_slippage(self, shop_id: str) -> models.SlippageCheck:
        """Escalate the stages of a roadmap that slip as of today."""
        ...

    async def report_measurement(
        self, event: models.KpiMeasurementEvent
    ) -> models.EscalationOutcome:
        """Apply the monitoring rules to a KPI measurement."""
        ...

    async def report_no_data(self, event: models.NoDataEvent) -> models.EscalationOutcome:
        """Apply the no-data rule to a scope's last measurement."""
        ...


class HttpRiskClient:
    """:class:`RiskClient` over the risk service's HTTP API. Batches of ids the gateway holds
    are sent unchecked (the service checks them, as it does for any caller)."""

    def __init__(self, transport: ServiceClient) -> None:
        self.transport = transport

    async def catalogue(self) -> models.Catalogue:
        """See :meth:`RiskClient.catalogue`."""
        return models.Catalogue.model_validate_json(await self.transport.send("GET", "/catalogue"))

    async def risks(self, query: models.RiskListQuery) -> RiskPage:
        """See :meth:`RiskClient.risks`."""
        answer = await self.transport.send("GET", "/risks", params=query_params(query))
        return RiskPage.model_validate_json(answer)

    async def risks_by_id(self, ids: Sequence[str]) -> list[models.Risk]:
        """See :meth:`RiskClient.risks_by_id`."""
        query = models.RiskListQuery.model_construct(ids=list(ids))
        answer = await self.transport.send("GET", "/risks", params=query_params(query))
        return models.RiskBatch.model_validate_json(answer).items

    async def shop_risks(self, query: models.RiskListQuery) -> list[models.ShopRisks]:
        """See :meth:`RiskClient.shop_risks`."""
        answer = await self.transport.send("GET", "/risks", params=query_params(query))
        return models.ShopRisksBatch.model_validate_json(answer).items

    async def matrices(self, query: models.ViewQuery) -> list[models.RiskMatrix]:
        """See :meth:`RiskClient.matrices`."""
        answer = await self.transport.send("GET", "/matrix", params=query_params(query))
        return models.MatrixBatch.model_validate_json(answer).items

    async def summaries(self, query: models.ViewQuery) -> list[models.RiskSummary]:
        """See :meth:`RiskClient.summaries`."""
        answer = await self.transport.send("GET", "/summary", params=query_params(query))
        return models.SummaryBatch.model_validate_json(answer).items

    async def overdue(self, query: models.OverdueQuery) -> models.Overdue:
        """See :meth:`RiskClient.overdue`."""
        answer = await self.transport.send("GET", "/overdue", params=query_params(query))
        return models.Overdue.model_validate_json(answer)

    async def rules(self) -> list[models.Rule]:
        """See :meth:`RiskClient.rules`."""
        return _RULES.validate_json(await self.transport.send("GET", "/rules"))

    async def rule(self, rule_id: str) -> models.Rule:
        """See :meth:`RiskClient.rule`."""
        answer = await self.transport.send("GET", "/rules/{rule_id}", path={"rule_id": rule_id})
        return models.Rule.model_validate_json(answer)

    async def create_rule(
        self, rule: models.RuleCreate, idempotency_key: str | None
    ) -> models.Rule:
        """See :meth:`RiskClient.create_rule`."""
        answer = await self.transport.send(
            "POST", "/rules", content=request_body(rule), headers=key_header(idempotency_key)
        )
        return models.Rule.model_validate_json(answer)

    async def update_rule(self, rule_id: str, changes: models.RuleUpdate) -> models.Rule:
        """See :meth:`RiskClient.update_rule`."""
        answer = await self.transport.send(
            "PATCH",
            "/rules/{rule_id}",
            path={"rule_id": rule_id},
            content=request_body(changes),
        )
        return models.Rule.model_validate_json(answer)

    async def delete_rule(self, rule_id: str) -> None:
        """See :meth:`RiskClient.delete_rule`."""
        await self.transport.send("DELETE", "/rules/{rule_id}", path={"rule_id": rule_id})

    async def create_risk(
        self, risk: models.RiskCreate, idempotency_key: str | None
    ) -> models.Risk:
        """See :meth:`RiskClient.create_risk`."""
        answer = await self.transport.send(
            "POST", "/risks", content=request_body(risk), headers=key_header(idempotency_key)
        )
        return models.Risk.model_validate_json(answer)

    async def update_risk(self, risk_id: str, changes: models.RiskUpdate) -> models.Risk:
        """See :meth:`RiskClient.update_risk`."""
        return await self._risk_change("PATCH", "/risks/{risk_id}", risk_id, changes)

    async def change_status(self, risk_id: str, change: models.StatusChange) -> models.Risk:
        """See :meth:`RiskClient.change_status`."""
        return await self._risk_change("POST", "/risks/{risk_id}/status", risk_id, change)

    async def add_action(
        self, risk_id: str, action: models.ActionCreate, idempotency_key: str | None
    ) -> models.Risk:
        """See :meth:`RiskClient.add_action`."""
        answer = await self.transport.send(
            "POST",
            "/risks/{risk_id}/actions",
            path={"risk_id": risk_id},
            content=request_body(action),
            headers=key_header(idempotency_key),
        )
        return models.Risk.model_validate_json(answer)

    async def update_action(
        self, risk_id: str, action_id: str, changes: models.ActionUpdate
    ) -> models.Risk:
        """See :meth:`RiskClient.update_action`."""
        answer = await self.transport.send(
            "PATCH",
            "/risks/{risk_id}/actions/{action_id}",
            path={"risk_id": risk_id, "action_id": action_id},
            content=request_body(changes),
        )
        return models.Risk.model_validate_json(answer)

    async def _risk_change(
        self,
        method: str,
        route: str,
        risk_id: str,
        change: models.RiskUpdate | models.StatusChange,
    ) -> models.Risk:
        answer = await self.transport.send(
            method, route, path={"risk_id": risk_id}, content=request_body(change)
        )
        return models.Risk.model_validate_json(answer)

    async def roadmaps(self, shop_ids: Sequence[str]) -> list[models.Roadmap]:
        """See :meth:`RiskClient.roadmaps`."""
        query = models.ShopIdsQuery.model_construct(shop_ids=list(shop_ids))
        answer = await self.transport.send("GET", "/roadmaps", params=query_params(query))
        return models.RoadmapBatch.model_validate_json(answer).items

    async def update_stage(
        self, shop_id: str, stage: StageCode, changes: models.StageUpdate
    ) -> models.Roadmap:
        """See :meth:`RiskClient.update_stage`."""
        answer = await self.transport.send(
            "PATCH",
            "/shops/{shop_id}/roadmap/{stage}",
            path={"shop_id": shop_id, "stage": stage.value},
            content=request_body(changes),
        )
        return models.Roadmap.model_validate_json(answer)

    async def check_slippage(self, shop_id: str) -> models.SlippageCheck:
        """See :meth:`RiskClient.check_slippage`."""
        answer = await self.transport.send(
            "POST", "/shops/{shop_id}/roadmap/check", path={"shop_id": shop_id}
        )
        return models.SlippageCheck.model_validate_json(answer)

    async def report_measurement(
        self, event: models.KpiMeasurementEvent
    ) -> models.EscalationOutcome:
        """See :meth:`RiskClient.report_measurement`."""
        answer = await self.transport.send("POST", "/escalations", content=request_body(event))
        return models.EscalationOutcome.model_validate_json(answer)

    async def report_no_data(self, event: models.NoDataEvent) -> models.EscalationOutcome:
        """See :meth:`RiskClient.report_no_data`."""
        answer = await self.transport.send(
            "POST", "/escalations/no-data", content=request_body(event)
        )
        return models.EscalationOutcome.model_validate_json(answer)
