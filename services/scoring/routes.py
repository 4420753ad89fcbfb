"""The scoring service's HTTP API: a thin adapter over
:class:`services.scoring.service.ScoringService`.

Each handler parses the request into a model (body, query or path), calls one use case and
answers its model as JSON. The role each route declares (OpenAPI, 403) is the one the use case
enforces (:data:`services.scoring.service.ROLES`); the ``Idempotency-Key`` header is the use
case's ``idempotency_key``.
"""

from __future__ import annotations

from collections.abc import Callable

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from services.runtime import idempotency, use_cases
from services.runtime.http import json_response, path_id, query_model, read_model
from services.runtime.openapi import IDEMPOTENCY_KEY, DeletedByName
from services.runtime.wire import Page, PageQuery, RecordId
from services.scoring import models
from services.scoring.service import ROLES, ScoringService


def _key(request: Request) -> str | None:
    return request.headers.get(idempotency.HEADER)


def _name(request: Request) -> str:
    return str(request.path_params["name"])


# --- handlers: request → model → use case → response ----------------------------------------


async def create_shop(service: ScoringService, request: Request) -> Response:
    body = await read_model(request, models.ShopCreate)
    return json_response(await service.create_shop(body, idempotency_key=_key(request)), 201)


async def list_shops(service: ScoringService, request: Request) -> Response:
    return json_response(await service.list_shops(query_model(request, models.ShopListQuery)))


async def get_shop(service: ScoringService, request: Request) -> Response:
    return json_response(await service.get_shop(path_id(request, "shop_id")))


async def update_shop(service: ScoringService, request: Request) -> Response:
    shop_id = path_id(request, "shop_id")
    body = await read_model(request, models.ShopUpdate)
    return json_response(await service.update_shop(shop_id, body))


async def delete_shop(service: ScoringService, request: Request) -> Response:
    return json_response(await service.delete_shop(path_id(request, "shop_id")))


async def create_assessment(service: ScoringService, request: Request) -> Response:
    shop_id = path_id(request, "shop_id")
    body = await read_model(request, models.AssessmentCreate)
    assessment = await service.record_assessment(shop_id, body, idempotency_key=_key(request))
    return json_response(assessment, 201)


async def shop_history(service: ScoringService, request: Request) -> Response:
    shop_id = path_id(request, "shop_id")
    page = query_model(request, PageQuery)
    return json_response(await service.shop_history(shop_id, page))


async def list_profiles(service: ScoringService, _: Request) -> Response:
    profiles: list[BaseModel] = [*await service.list_profiles()]
    return json_response(profiles)


async def create_profile(service: ScoringService, request: Request) -> Response:
    body = await read_model(request, models.ProfileCreate)
    return json_response(await service.create_profile(body, idempotency_key=_key(request)), 201)


async def get_profile(service: ScoringService, request: Request) -> Response:
    return json_response(await service.get_profile(_name(request)))


async def update_profile(service: ScoringService, request: Request) -> Response:
    body = await read_model(request, models.ProfileUpdate)
    return json_response(await service.update_profile(_name(request), body))


async def delete_profile(service: ScoringService, request: Request) -> Response:
    return json_response(await service.delete_profile(_name(request)))


async def assessments_batch(service: ScoringService, request: Request) -> Response:
    return json_response(await service.assessments(query_model(request, models.IdsQuery)))


async def shop_histories(service: ScoringService, request: Request) -> Response:
    return json_response(await service.histories(query_model(request, models.HistoriesQuery)))


async def get_assessment(service: ScoringService, request: Request) -> Response:
    return json_response(await service.get_assessment(path_id(request, "assessment_id")))


async def current_scores(service: ScoringService, request: Request) -> Response:
    query = query_model(request, models.ShopIdsQuery)
    return json_response(await service.current_scores(query))


async def ranking(service: ScoringService, request: Request) -> Response:
    return json_response(await service.ranking(query_model(request, PageQuery)))


# --- the route table ------------------------------------------------------------------------

Operation = use_cases.Operation[ScoringService]
"""One route of the scoring API over the use cases of :class:`ScoringService`."""

shop_path = {"shop_id": RecordId}
profile_path = {"name": str}

OPERATIONS: list[Operation] = [
    Operation(
        "/shops",
        create_shop,
        "POST",
        headers=IDEMPOTENCY_KEY,
        summary="Create a shop (name unique case-insensitively)",
        body=models.ShopCreate,
        response=models.Shop,
        status=201,
        errors=(409,),
    ),
    Operation(
        "/shops",
        list_shops,
        "GET",
        summary="A page of shops, sorted; or the shops of `ids` (a batch)",
        query=models.ShopListQuery,
        response=Page[models.Shop] | models.ShopBatch,
    ),
    Operation(
        "/shops/{shop_id}",
        get_shop,
        "GET",
        summary="One shop",
        params=shop_path,
        response=models.Shop,
        errors=(404,),
    ),
    Operation(
        "/shops/{shop_id}",
        update_shop,
        "PATCH",
        summary="Change a shop's fields",
        params=shop_path,
        body=models.ShopUpdate,
        response=models.Shop,
        errors=(404, 409),
    ),
    Operation(
        "/shops/{shop_id}",
        delete_shop,
        "DELETE",
        summary="Delete a shop and its assessments; its risks, roadmap, measurements and "
        "targets are then deleted in the risk and kpi services (durably, retried)",
        params=shop_path,
        response=models.Deleted,
        errors=(404, 409),
    ),
    Operation(
        "/shops/{shop_id}/assessments",
        create_assessment,
        "POST",
        uses="record_assessment",
        headers=IDEMPOTENCY_KEY,
        summary="Record an assessment of a shop",
        params=shop_path,
        body=models.AssessmentCreate,
        response=models.Assessment,
        status=201,
        errors=(404, 409),
    ),
    Operation(
        "/shops/{shop_id}/assessments",
        shop_history,
        "GET",
        summary="A page of a shop's assessments, newest first",
        params=shop_path,
        query=PageQuery,
        response=Page[models.Assessment],
        errors=(404,),
    ),
    Operation(
        "/profiles",
        list_profiles,
        "GET",
        summary="Every weight profile",
        response=list[models.Profile],
    ),
    Operation(
        "/profiles",
        create_profile,
        "POST",
        headers=IDEMPOTENCY_KEY,
        summary="Create a custom weight profile",
        body=models.ProfileCreate,
        response=models.Profile,
        status=201,
        errors=(409,),
    ),
    Operation(
        "/profiles/{name}",
        get_profile,
        "GET",
        summary="One weight profile",
        params=profile_path,
        response=models.Profile,
        errors=(404,),
    ),
    Operation(
        "/profiles/{name}",
        update_profile,
        "PUT",
        summary="New weights of a custom profile",
        params=profile_path,
        body=models.ProfileUpdate,
        response=models.Profile,
        errors=(404, 409),
    ),
    Operation(
        "/profiles/{name}",
        delete_profile,
        "DELETE",
        summary="Delete a custom profile",
        params=profile_path,
        response=DeletedByName,
        errors=(404, 409),
    ),
    Operation(
        "/assessments",
        assessments_batch,
        "GET",
        uses="assessments",
        summary="The assessments of `ids` (a batch)",
        query=models.IdsQuery,
        response=models.AssessmentBatch,
    ),
    Operation(
        "/histories",
        shop_histories,
        "GET",
        uses="histories",
        summary="A page of assessment history for each shop of `shopIds` (a batch)",
        query=models.HistoriesQuery,
        response=models.ShopHistories,
    ),
    Operation(
        "/assessments/{assessment_id}",
        get_assessment,
        "GET",
        summary="One assessment",
        params={"assessment_id": RecordId},
        response=models.Assessment,
        errors=(404,),
    ),
    Operation(
        "/scores",
        current_scores,
        "GET",
        summary="The current assessment of each shop of `shopIds`",
        query=models.ShopIdsQuery,
        response=models.AssessmentBatch,
    ),
    Operation(
        "/ranking",
        ranking,
        "GET",
        summary="Shops by current SH with the criterion × shop matrix",
        query=PageQuery,
        response=models.Ranking,
    ),
]
"""Every route of the scoring service."""


def scoring_routes(service: Callable[[], ScoringService]) -> list[BaseRoute]:
    """The scoring service's routes over the use cases that ``service()`` answers."""
    return [operation.route(service, ROLES) for operation in OPERATIONS]
