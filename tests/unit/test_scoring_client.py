"""The typed scoring client over HTTP: request models out, response models back (no service)."""

from __future__ import annotations

import json

import httpx
import pytest

from gateway.clients import ServiceClient
from gateway.scoring_client import HttpScoringClient
from gateway.types.common import request_model
from services.runtime.errors import ErrorCode, IntegraError
from services.scoring import models

ACTOR = {"clientId": "key:k1", "name": "Ann", "role": "ADMIN", "kind": "api-key"}
SHOP = {
    "id": "a" * 24,
    "name": "Shop",
    "url": None,
    "segment": "books",
    "createdBy": ACTOR,
    "createdAt": "2026-01-01T00:00:00Z",
    "updatedAt": "2026-01-02T00:00:00Z",
    "version": 3,
    "scoreSummary": None,
}


def _client(handler: httpx.MockTransport) -> HttpScoringClient:
    return HttpScoringClient(ServiceClient("scoring", "http://scoring", 2, handler))


async def test_a_page_of_shops_is_sent_as_parameters_and_read_into_models() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        page = {"items": [SHOP], "totalCount": 1, "limit": 5, "offset": 0}
        return httpx.Response(200, json=page)

    query = models.ShopListQuery(limit=5, sort=models.ShopSort.SH, with_score=True)
    page = await _client(httpx.MockTransport(answer)).shops(query)
    assert seen[0].url.path == "/shops"
    assert dict(seen[0].url.params) == {"limit": "5", "sort": "SH", "withScore": "true"}
    assert page.total_count == 1
    assert page.items[0].created_by.client_id == "key:k1"
    assert page.items[0].version == 3


async def test_a_creation_sends_the_set_fields_and_the_key() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(201, json=SHOP)

    shop = models.ShopCreate(name="Shop", segment="books")
    created = await _client(httpx.MockTransport(answer)).create_shop(shop, "k" * 64)
    assert json.loads(seen[0].content) == {"name": "Shop", "segment": "books"}
    assert seen[0].headers["Idempotency-Key"] == "k" * 64
    assert created.id == "a" * 24


async def test_an_explicit_null_is_sent_and_a_service_error_is_raised() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        error = {"code": "NOT_FOUND", "message": "shop not found", "field": "id"}
        return httpx.Response(404, json={"error": error})

    changes = models.ShopUpdate.model_validate({"url": None})
    with pytest.raises(IntegraError) as raised:
        await _client(httpx.MockTransport(answer)).update_shop("a" * 24, changes)
    assert json.loads(seen[0].content) == {"url": None}
    assert raised.value.code is ErrorCode.NOT_FOUND


def test_an_input_is_checked_as_the_service_checks_its_body() -> None:
    with pytest.raises(IntegraError) as raised:
        request_model(models.ShopCreate, {"name": "x", "url": "not a url"})
    assert raised.value.code is ErrorCode.VALIDATION_ERROR
    assert raised.value.field == "url"
