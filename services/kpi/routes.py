"""The kpi service's HTTP API: a thin adapter over :class:`services.kpi.service.KpiUseCases`.

Each handler parses the request into a model (body, query or path), calls one use case and
answers its model as JSON. The role each route declares (OpenAPI, 403) is the one the use case
enforces (:data:`services.kpi.service.ROLES`); the ``Idempotency-Key`` header is the use case's
``idempotency_key``. A recorded measurement is 201, a replaced one (a later revision) 200.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from services.kpi import models
from services.kpi.service import ROLES, KpiUseCases
from services.runtime import idempotency, use_cases
from services.runtime.http import json_response, path_id, path_scope, query_model, read_model
from services.runtime.openapi import IDEMPOTENCY_KEY
from services.runtime.shop_purge import ShopPurged
from services.runtime.wire import Page, RecordId, ScopeId


def _code(request: Request, name: str = "code") -> str:
    return str(request.path_params[name])


def _scope(request: Request) -> str:
    return path_scope(request, "shop_id", "shopId")


# --- handlers: request → model → use case → response ----------------------------------------


async def list_catalogue(service: KpiUseCases, request: Request) -> Response:
    query = query_model(request, models.CatalogueQuery)
    return json_response(await service.list_catalogue(query))


async def create_kpi(service: KpiUseCases, request: Request) -> Response:
    body = await read_model(request, models.CustomKpiCreate)
    return json_response(await service.create_kpi(body), status=201)


async def get_kpi(service: KpiUseCases, request: Request) -> Response:
    return json_response(await service.get_kpi(_code(request)))


async def delete_kpi(service: KpiUseCases, request: Request) -> Response:
    return json_response(await service.delete_kpi(_code(request)))


async def record_measurement(service: KpiUseCases, request: Request) -> Response:
    body = await read_model(request, models.MeasurementCreate)
    key = request.headers.get(idempotency.HEADER)
    measurement = await service.record_measurement(body, key)
    return json_response(measurement, status=200 if measurement.revision > 1 else 201)


async def list_measurements(service: KpiUseCases, request: Request) -> Response:
    query = query_model(request, models.MeasurementListQuery)
    return json_response(await service.list_measurements(query))


async def get_measurement(service: KpiUseCases, request: Request) -> Response:
    return json_response(await service.get_measurement(path_id(request, "measurement_id")))


async def series(service: KpiUseCases, request: Request) -> Response:
    query = query_model(request, models.SeriesQuery)
    return json_response(await service.scope_series(query))


async def series_batch(service: KpiUseCases, request: Request) -> Response:
    query = query_model(request, models.SeriesBatchQuery)
    return json_response(await service.series(query))


async def latest(service: KpiUseCases, request: Request) -> Response:
    return json_response(await service.latest(query_model(request, models.LatestQuery)))


async def list_targets(service: KpiUseCases, request: Request) -> Response:
    return json_response(await service.targets(query_model(request, models.TargetListQuery)))


async def put_target(service: KpiUseCases, request: Request) -> Response:
    shop_id, code = _scope(request), _code(request, "kpi_code")
    body = await read_model(request, models.TargetPut)
    return json_response(await service.set_target(shop_id, code, body))


async def get_target(service: KpiUseCases, request: Request) -> Response:
    return json_response(await service.get_target(_scope(request), _code(request, "kpi_code")))


async def delete_target(service: KpiUseCases, request: Request) -> Response:
    shop_id, code = _scope(request), _code(request, "kpi_code")
    return json_response(await service.delete_target(shop_id, code))


async def compute_profit(service: KpiUseCases, request: Request) -> Response:
    body = await read_model(request, models.ProfitIndicatorsIn)
    return json_response(await service.profit(body))


async def what_if(service: KpiUseCases, request: Request) -> Response:
    return json_response(await service.what_if(await read_model(request, models.WhatIfIn)))


async def financial_kpis(service: KpiUseCases, request: Request) -> Response:
    body = await read_model(request, models.FinancialIn)
    return json_response(await service.financial_kpis(body))


async def forget_shop(service: KpiUseCases, request: Request) -> Response:
    return json_response(await service.purge_shop(path_id(request, "shop_id")))


# --- the route table ------------------------------------------------------------------------


Operation = use_cases.Operation[KpiUseCases]


target_path = {"shop_id": ScopeId, "kpi_code": str}

OPERATIONS: list[Operation] = [
    Operation(
        "/catalogue",
        list_catalogue,
        "GET",
        summary="A page of KPIs (built-ins first), of a level; or the KPIs of `codes`",
        query=models.CatalogueQuery,
        response=Page[models.KpiOut] | models.KpiBatch,
    ),
    Operation(
        "/catalogue",
        create_kpi,
        "POST",
        summary="Define a custom KPI",
        body=models.CustomKpiCreate,
        response=models.KpiOut,
        status=201,
        errors=(409,),
    ),
    Operation(
        "/catalogue/{code}",
        get_kpi,
        "GET",
        summary="One KPI of the catalogue",
        params={"code": str},
        response=models.KpiOut,
        errors=(404,),
    ),
    Operation(
        "/catalogue/{code}",
        delete_kpi,
        "DELETE",
        summary="Delete a custom KPI",
        params={"code": str},
        response=models.Deleted,
        errors=(404, 409),
    ),
    Operation(
        "/measurements",
        record_measurement,
        "POST",
        headers=IDEMPOTENCY_KEY,
        summary="Record a measurement (201), or replace one with a reason (200)",
        body=models.MeasurementCreate,
        response=models.Measurement,
        status=201,
        other_statuses=(200,),
        errors=(404, 409),
    ),
    Operation(
        "/measurements",
        list_measurements,
        "GET",
        summary="A page of measurements, filtered; or the measurements of `ids`",
        query=models.MeasurementListQuery,
        response=Page[models.Measurement] | models.MeasurementBatch,
    ),
    Operation(
        "/measurements/{measurement_id}",
        get_measurement,
        "GET",
        summary="One measurement with its revisions",
        params={"measurement_id": RecordId},
        response=models.Measurement,
        errors=(404,),
    ),
    Operation(
        "/series",
        series,
        "GET",
        uses="scope_series",
        summary="A KPI's values over time for a scope",
        query=models.SeriesQuery,
        response=models.Series,
        errors=(404,),
    ),
    Operation(
        "/series/batch",
        series_batch,
        "GET",
        uses="series",
        summary="A KPI's values over time for each scope of `shopIds`",
        query=models.SeriesBatchQuery,
        response=models.SeriesBatch,
        errors=(404,),
    ),
    Operation(
        "/latest",
        latest,
        "GET",
        summary="The latest value and status of each KPI of each scope of `shopIds`",
        query=models.LatestQuery,
        response=models.LatestBatch,
    ),
    Operation(
        "/targets",
        list_targets,
        "GET",
        uses="targets",
        summary="A page of a scope's targets",
        query=models.TargetListQuery,
        response=Page[models.TargetOut],
    ),
    Operation(
        "/targets/{shop_id}/{kpi_code}",
        put_target,
        "PUT",
        uses="set_target",
        summary="Set a scope's target for a KPI",
        params=target_path,
        body=models.TargetPut,
        response=models.TargetOut,
        errors=(404, 409),
    ),
    Operation(
        "/targets/{shop_id}/{kpi_code}",
        get_target,
        "GET",
        summary="A scope's target for a KPI",
        params=target_path,
        response=models.TargetOut,
        errors=(404,),
    ),
    Operation(
        "/targets/{shop_id}/{kpi_code}",
        delete_target,
        "DELETE",
        summary="Remove a scope's target for a KPI",
        params=target_path,
        response=models.Deleted,
        errors=(404,),
    ),
    Operation(
        "/profit",
        compute_profit,
        "POST",
        uses="profit",
        summary="The profit model of one period",
        body=models.ProfitIndicatorsIn,
        response=models.ProfitOut,
    ),
    Operation(
        "/profit/what-if",
        what_if,
        "POST",
        summary="What-if analysis between a baseline and a scenario period",
        body=models.WhatIfIn,
        response=models.WhatIfOut,
    ),
    Operation(
        "/profit/financial-kpis",
        financial_kpis,
        "POST",
        summary="integration_roi and payback_period from two periods",
        body=models.FinancialIn,
        response=models.FinancialOut,
    ),
    Operation(
        "/shops/{shop_id}",
        forget_shop,
        "DELETE",
        uses="purge_shop",
        summary="Forget a deleted shop: delete its measurements and targets (idempotent; the "
        "scoring service calls it when a shop is deleted); later writes for that shop are "
        "NOT_FOUND",
        params={"shop_id": RecordId},
        response=ShopPurged,
    ),
]
"""Every route of the kpi service."""


def kpi_routes(service: Callable[[], KpiUseCases]) -> list[BaseRoute]:
    """The kpi service's routes over the use cases that ``service()`` answers."""
    return [operation.route(service, ROLES) for operation in OPERATIONS]
