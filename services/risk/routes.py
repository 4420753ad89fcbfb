"""The risk service's HTTP API: a thin adapter over :class:`services.risk.service.RiskService`.

Each handler parses the request into a model (body, query or path), calls one use case and
answers its model as JSON. The role each route declares (OpenAPI, 403) is the one the use case
enforces (:data:`services.risk.service.ROLES`); the ``Idempotency-Key`` header is the use case's
``idempotency_key``.
"""

from __future__ import annotations

from collections.abc import Callable

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from services.risk import domain, models
from services.risk.service import ROLES, RiskService, check_rule_id, check_stage
from services.runtime import idempotency, use_cases
from services.runtime.http import json_response, path_id, path_scope, query_model, read_model
from services.runtime.openapi import IDEMPOTENCY_KEY, DeletedById
from services.runtime.shop_purge import ShopPurged
from services.runtime.wire import Page, RecordId, ScopeId


def _key(request: Request) -> str | None:
    return request.headers.get(idempotency.HEADER)


def _rule_id(request: Request) -> str:
    return check_rule_id(str(request.path_params["rule_id"]))


# --- handlers: request → model → use case → response ----------------------------------------


async def get_catalogue(service: RiskService, _: Request) -> Response:
    return json_response(await service.get_catalogue())


async def create_risk(service: RiskService, request: Request) -> Response:
    body = await read_model(request, models.RiskCreate)
    return json_response(await service.create_risk(body, idempotency_key=_key(request)), 201)


async def list_risks(service: RiskService, request: Request) -> Response:
    return json_response(await service.list_risks(query_model(request, models.RiskListQuery)))


async def get_risk(service: RiskService, request: Request) -> Response:
    return json_response(await service.get_risk(path_id(request, "risk_id")))


async def update_risk(service: RiskService, request: Request) -> Response:
    body = await read_model(request, models.RiskUpdate)
    return json_response(await service.update_risk(path_id(request, "risk_id"), body))


async def change_status(service: RiskService, request: Request) -> Response:
    body = await read_model(request, models.StatusChange)
    return json_response(await service.change_status(path_id(request, "risk_id"), body))


async def create_action(service: RiskService, request: Request) -> Response:
    risk_id = path_id(request, "risk_id")
    body = await read_model(request, models.ActionCreate)
    risk = await service.add_action(risk_id, body, idempotency_key=_key(request))
    return json_response(risk)


async def patch_action(service: RiskService, request: Request) -> Response:
    action_id = path_id(request, "action_id")
    body = await read_model(request, models.ActionUpdate)
    risk = await service.update_action(path_id(request, "risk_id"), action_id, body)
    return json_response(risk)


async def matrices(service: RiskService, request: Request) -> Response:
    return json_response(await service.matrices(query_model(request, models.ViewQuery)))


async def summaries(service: RiskService, request: Request) -> Response:
    return json_response(await service.summaries(query_model(request, models.ViewQuery)))


async def overdue(service: RiskService, request: Request) -> Response:
    return json_response(await service.overdue(query_model(request, models.OverdueQuery)))


async def list_rules(service: RiskService, _: Request) -> Response:
    rules: list[BaseModel] = [*await service.list_rules()]
    return json_response(rules)


async def get_rule(service: RiskService, request: Request) -> Response:
    return json_response(await service.get_rule(_rule_id(request)))


async def create_rule(service: RiskService, request: Request) -> Response:
    body = await read_model(request, models.RuleCreate)
    return json_response(await service.create_rule(body, idempotency_key=_key(request)), 201)


async def update_rule(service: RiskService, request: Request) -> Response:
    rule_id = _rule_id(request)
    body = await read_model(request, models.RuleUpdate)
    return json_response(await service.update_rule(rule_id, body))


async def delete_rule(service: RiskService, request: Request) -> Response:
    return json_response(await service.delete_rule(_rule_id(request)))


async def kpi_event(service: RiskService, request: Request) -> Response:
    event = await read_model(request, models.KpiMeasurementEvent)
    return json_response(await service.kpi_event(event))


async def no_data_event(service: RiskService, request: Request) -> Response:
    return json_response(await service.no_data_event(await read_model(request, models.NoDataEvent)))


async def roadmaps(service: RiskService, request: Request) -> Response:
    return json_response(await service.roadmaps(query_model(request, models.ShopIdsQuery)))


async def get_roadmap(service: RiskService, request: Request) -> Response:
    return json_response(await service.get_roadmap(path_scope(request, "shop_id")))


async def update_stage(service: RiskService, request: Request) -> Response:
    shop_id = path_scope(request, "shop_id")
    stage = check_stage(str(request.path_params["stage"]))
    body = await read_model(request, models.StageUpdate)
    return json_response(await service.update_stage(shop_id, stage, body))


async def check_slippage(service: RiskService, request: Request) -> Response:
    return json_response(await service.check_slippage(path_scope(request, "shop_id")))


async def forget_shop(service: RiskService, request: Request) -> Response:
    return json_response(await service.purge_shop(path_id(request, "shop_id")))


# --- the route table ------------------------------------------------------------------------


Operation = use_cases.Operation[RiskService]
"""One route of the risk API over the use cases of :class:`RiskService`."""

risk_path = {"risk_id": RecordId}
scope_path = {"shop_id": ScopeId}
rule_path = {"rule_id": models.RuleId}

OPERATIONS: list[Operation] = [
    Operation(
        "/catalogue",
        get_catalogue,
        "GET",
        summary="Risk groups, categories and roadmap stages",
        response=models.Catalogue,
    ),
    Operation(
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
    Operation(
        "/risks",
        list_risks,
        "GET",
        summary="A page of risks; a page per shop of `shopIds`; or the risks of `ids`",
        query=models.RiskListQuery,
        response=Page[models.Risk] | models.RiskBatch | models.ShopRisksBatch,
    ),
    Operation(
        "/risks/{risk_id}",
        get_risk,
        "GET",
        summary="One risk with its history",
        params=risk_path,
        response=models.Risk,
        errors=(404,),
    ),
    Operation(
        "/risks/{risk_id}",
        update_risk,
        "PATCH",
        summary="Change a risk's fields and assessments",
        params=risk_path,
        body=models.RiskUpdate,
        response=models.Risk,
        errors=(404, 409),
    ),
    Operation(
        "/risks/{risk_id}/status",
        change_status,
        "POST",
        summary="Move a risk through its lifecycle",
        params=risk_path,
        body=models.StatusChange,
        response=models.Risk,
        errors=(404, 409),
    ),
    Operation(
        "/risks/{risk_id}/actions",
        create_action,
        "POST",
        uses="add_action",
        headers=IDEMPOTENCY_KEY,
        summary="Add a mitigation action to a risk",
        params=risk_path,
        body=models.ActionCreate,
        response=models.Risk,
        errors=(404, 409),
    ),
    Operation(
        "/risks/{risk_id}/actions/{action_id}",
        patch_action,
        "PATCH",
        uses="update_action",
        summary="Change or complete a mitigation action",
        params={**risk_path, "action_id": RecordId},
        body=models.ActionUpdate,
        response=models.Risk,
        errors=(404, 409),
    ),
    Operation(
        "/matrix",
        matrices,
        "GET",
        summary="The 5 × 5 matrix of the open risks of each shop of `shopIds`",
        query=models.ViewQuery,
        response=models.MatrixBatch,
    ),
    Operation(
        "/summary",
        summaries,
        "GET",
        summary="Open risks by group and level for each shop of `shopIds`",
        query=models.ViewQuery,
        response=models.SummaryBatch,
    ),
    Operation(
        "/overdue",
        overdue,
        "GET",
        summary="Overdue reviews and actions of a shop",
        query=models.OverdueQuery,
        response=models.Overdue,
    ),
    Operation(
        "/rules",
        list_rules,
        "GET",
        summary="Every monitoring rule",
        response=list[models.Rule],
    ),
    Operation(
        "/rules",
        create_rule,
        "POST",
        headers=IDEMPOTENCY_KEY,
        summary="Create a monitoring rule",
        body=models.RuleCreate,
        response=models.Rule,
        status=201,
        errors=(409,),
    ),
    Operation(
        "/rules/{rule_id}",
        get_rule,
        "GET",
        summary="One monitoring rule",
        params=rule_path,
        response=models.Rule,
        errors=(404,),
    ),
    Operation(
        "/rules/{rule_id}",
        update_rule,
        "PATCH",
        summary="Change a monitoring rule",
        params=rule_path,
        body=models.RuleUpdate,
        response=models.Rule,
        errors=(404, 409),
    ),
    Operation(
        "/rules/{rule_id}",
        delete_rule,
        "DELETE",
        summary="Delete a monitoring rule",
        params=rule_path,
        response=DeletedById,
        errors=(404, 409),
    ),
    Operation(
        "/escalations",
        kpi_event,
        "POST",
        summary="Apply the monitoring rules to a KPI measurement (idempotent by eventId)",
        body=models.KpiMeasurementEvent,
        response=models.EscalationOutcome,
        errors=(409,),
    ),
    Operation(
        "/escalations/no-data",
        no_data_event,
        "POST",
        summary="Escalate a shop without KPI data for 30 days (idempotent by eventId)",
        body=models.NoDataEvent,
        response=models.EscalationOutcome,
        errors=(409,),
    ),
    Operation(
        "/roadmaps",
        roadmaps,
        "GET",
        summary="The roadmap of each shop of `shopIds`",
        query=models.ShopIdsQuery,
        response=models.RoadmapBatch,
    ),
    Operation(
        "/shops/{shop_id}/roadmap",
        get_roadmap,
        "GET",
        summary="A shop's roadmap",
        params=scope_path,
        response=models.Roadmap,
    ),
    Operation(
        "/shops/{shop_id}/roadmap/check",
        check_slippage,
        "POST",
        summary="Escalate the stages of a shop's roadmap that slip",
        params=scope_path,
        response=models.SlippageCheck,
        errors=(409,),
    ),
    Operation(
        "/shops/{shop_id}/roadmap/{stage}",
        update_stage,
        "PATCH",
        summary="Change a stage of a shop's roadmap",
        params={**scope_path, "stage": domain.StageCode},
        body=models.StageUpdate,
        response=models.Roadmap,
        errors=(409,),
    ),
    Operation(
        "/shops/{shop_id}",
        forget_shop,
        "DELETE",
        uses="purge_shop",
        summary="Forget a deleted shop: delete its risks and roadmap (idempotent; the scoring "
        "service calls it when a shop is deleted); later writes for that shop are NOT_FOUND",
        params={"shop_id": RecordId},
        response=ShopPurged,
    ),
]
"""Every route of the risk service."""


def risk_routes(service: Callable[[], RiskService]) -> list[BaseRoute]:
    """The risk service's routes over the use cases that ``service()`` answers."""
    return [operation.route(service, ROLES) for operation in OPERATIONS]
