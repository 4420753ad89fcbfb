"""The typed kpi client over HTTP: batch queries out, response models back (no service)."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx

from gateway.clients import ServiceClient
from gateway.kpi_client import HttpKpiClient
from services.kpi import models
from services.kpi.domain import Grain


def _client(answer: object, seen: list[httpx.Request]) -> HttpKpiClient:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=answer)

    return HttpKpiClient(ServiceClient("kpi", "http://kpi", 2, httpx.MockTransport(handler)))


async def test_latest_values_are_asked_for_every_scope_at_once() -> None:
    seen: list[httpx.Request] = []
    answer = {"items": [{"shopId": "platform", "kpis": []}, {"shopId": "a" * 24, "kpis": []}]}
    query = models.LatestQuery.model_construct(shop_ids=["platform", "a" * 24], kpi_codes=None)
    latest = await _client(answer, seen).latest(query)
    assert seen[0].url.path == "/latest"
    assert seen[0].url.params.get_list("shopIds") == ["platform", "a" * 24]
    assert "kpiCodes" not in seen[0].url.params
    assert [item.shop_id for item in latest] == ["platform", "a" * 24]


async def test_a_series_batch_names_its_bounds_as_the_wire_does() -> None:
    seen: list[httpx.Request] = []
    answer: dict[str, list[object]] = {"items": []}
    start = datetime(2026, 1, 1, tzinfo=UTC)
    query = models.SeriesBatchQuery.model_construct(
        shop_ids=["platform"], kpi_code="uptime", grain=Grain.MONTH, from_=start, to=None
    )
    assert await _client(answer, seen).series(query) == []
    params = seen[0].url.params
    assert seen[0].url.path == "/series/batch"
    assert params["kpiCode"] == "uptime"
    assert params["grain"] == "MONTH"
    assert datetime.fromisoformat(params["from"]) == start
    assert "to" not in params
