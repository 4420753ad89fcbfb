"""The kpi service end to end: its HTTP API over nx-27017, and the durable path of its events.

The service runs for real (``KpiService`` started, its ASGI app driven through
``httpx.ASGITransport``). Events are delivered over TCP to a receiving app served by uvicorn on
a loopback port, standing where the risk service's escalation endpoint will be; it records
every event it is sent, so the tests can prove that nothing is lost while it is down, that
failures are retried, and that a repeated delivery carries the same ``eventId``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from services.kpi.app import KpiOptions, KpiService, create_app
from services.kpi.outbox import DispatcherOptions
from services.kpi.platform import ScrapeReader
from services.kpi.platform_recorder import PlatformRecorder
from services.runtime.app import build_app
from services.runtime.embedded import free_port
from services.runtime.metrics import REGISTRY
from services.runtime.settings import IntegraSettings
from tests.conftest import bearer, signed_jwt

SHOP = "5" * 24
OTHER = "6" * 24
FAST = DispatcherOptions(
    poll_interval=0.05,
    backoff_base=0.05,
    backoff_cap=0.3,
    timeout=1.0,
    lease=5.0,
    stats_interval=0.05,
)

ADMIN = bearer(signed_jwt("ADMIN", sub="kpi-test"))


# --- the receiving end ---------------------------------------------------------------------------


class Receiver:
    """An HTTP server on a loopback port that records the events POSTed to it.

    ``fail_first`` answers 500 to the first attempts of each event; ``slow_first`` applies the
    first attempt of each event but answers only after that many seconds (a lost answer).
    """

    def __init__(self, port: int, fail_first: int = 0, slow_first: float = 0.0) -> None:
        self.port = port
        self.fail_first = fail_first
        self.slow_first = slow_first
        self.attempts: Counter[str] = Counter()
        self.applied: list[dict[str, Any]] = []
        self.paths: dict[str, str] = {}
        self._lock = threading.Lock()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def applied_ids(self) -> list[str]:
        with self._lock:
            return [event["eventId"] for event in self.applied]

    async def _receive(self, request: Request) -> Response:
        event = await request.json()
        with self._lock:
            self.attempts[event["eventId"]] += 1
            attempt = self.attempts[event["eventId"]]
            self.paths[event["eventId"]] = request.url.path
            if attempt > self.fail_first:
                self.applied.append(event)
        if attempt <= self.fail_first:
            return JSONResponse({"error": {"code": "INTERNAL_ERROR"}}, status_code=500)
        if attempt == 1 and self.slow_first:
            await asyncio.sleep(self.slow_first)
        return JSONResponse({"applied": True})

    def start(self) -> None:
        app = Starlette(
            routes=[
                Route("/escalations", self._receive, methods=["POST"]),
                Route("/escalations/no-data", self._receive, methods=["POST"]),
            ]
        )
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            assert time.monotonic() < deadline, "receiver did not start"
            assert self._thread.is_alive(), "receiver exited"
            time.sleep(0.01)

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(10)
        self._server = self._thread = None


@pytest.fixture
def receiver() -> Any:
    server = Receiver(free_port())
    yield server
    server.stop()


# --- the service ---------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def running_kpi(
    settings: IntegraSettings, risk_url: str, dispatcher: DispatcherOptions = FAST
) -> AsyncIterator[tuple[KpiService, httpx.AsyncClient]]:
    """A started kpi service whose events go to ``risk_url``, and an HTTP client for its API."""
    options = KpiOptions(dispatcher=dispatcher, record_platform=False)
    service = KpiService(settings, risk_base_url=risk_url, options=options)
    app = build_app(service, settings, manage_lifecycle=False)
    await service.start()
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://kpi", headers=ADMIN
        ) as client:
            yield service, client
    finally:
        await service.stop()


@pytest.fixture
async def kpi(
    settings: IntegraSettings,
) -> AsyncIterator[tuple[KpiService, httpx.AsyncClient]]:
    """The kpi service with nobody listening for its events."""
    async with running_kpi(settings, f"http://127.0.0.1:{free_port()}") as running:
        yield running


@pytest.fixture
def api(kpi: tuple[KpiService, httpx.AsyncClient]) -> httpx.AsyncClient:
    return kpi[1]


async def eventually(check: Callable[[], Awaitable[bool]], within: float = 15.0) -> None:
    deadline = time.monotonic() + within
    while not await check():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


def error_of(response: httpx.Response) -> dict[str, Any]:
    body: dict[str, Any] = response.json()["error"]
    return body


def week(n: int) -> tuple[str, str]:
    """The n-th ISO week of 2025 from Monday 6 January, as (periodStart, periodEnd)."""
    start = datetime(2025, 1, 6, tzinfo=UTC) + timedelta(weeks=n)
    return start.isoformat(), (start + timedelta(weeks=1)).isoformat()


def measurement(
    kpi_code: str, inputs: dict[str, Any], n: int = 0, shop: str = SHOP, **extra: Any
) -> dict[str, Any]:
    start, end = week(n)
    return {
        "shopId": shop,
        "kpiCode": kpi_code,
        "periodStart": start,
        "periodEnd": end,
        "inputs": inputs,
        **extra,
    }


async def record(api: httpx.AsyncClient, body: dict[str, Any], status: int = 201) -> Any:
    response = await api.post("/measurements", json=body)
    assert response.status_code == status, response.text
    return response.json()


async def count(api: httpx.AsyncClient, shop: str = SHOP) -> int:
    response = await api.get("/measurements", params={"shopId": shop})
    assert response.status_code == 200, response.text
    total: int = response.json()["totalCount"]
    return total


def metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


FINDS = "db_client_operation_duration_seconds_count"
FIND_LABELS = {
    "service": "kpi", "db_system_name": "mongodb", "db_operation_name": "find", "error_type": ""
}  # fmt: skip


# --- the catalogue -------------------------------------------------------------------------------


async def test_the_catalogue_has_the_twenty_kpis_of_the_specification(
    api: httpx.AsyncClient,
) -> None:
    response = await api.get("/catalogue")
    assert response.status_code == 200
    page = response.json()
    assert page["totalCount"] == 20
    codes = [k["code"] for k in page["items"]]
    assert codes[:3] == ["integration_compatibility", "system_response_time", "security_level"]
    assert codes[-1] == "resolved_requests_share"
    by_code = {k["code"]: k for k in page["items"]}
    assert by_code["sla_compliance"] == {
        "code": "sla_compliance",
        "name": "SLA compliance",
        "level": "OPERATIONAL",
        "unit": "%",
        "direction": "UP",
        "formula": "within_sla / total * 100",
        "inputs": [
            {"name": "within_sla", "kind": "COUNT", "aggregation": "SUM"},
            {"name": "total", "kind": "COUNT", "aggregation": "SUM"},
        ],
        "defaultTarget": {"comparator": "GTE", "value": 95.0},
        "parts": [{"part": "within_sla", "whole": "total"}],
        "builtIn": True,
        "description": "Share of operations completed within the SLA, in percent.",
        "createdBy": None,
    }
    assert by_code["system_response_time"]["defaultTarget"] == {"comparator": "LTE", "value": 0.5}
    assert by_code["internal_communications"]["direction"] == "NONE"
    financial = (await api.get("/catalogue", params={"level": "FINANCIAL"})).json()
    assert [k["code"] for k in financial["items"]] == [
        "integration_roi",
        "payback_period",
        "operating_cost_reduction",
    ]
    second = (await api.get("/catalogue", params={"limit": 5, "offset": 18})).json()
    assert [k["code"] for k in second["items"]] == ["team_response_time", "resolved_requests_share"]
    one = await api.get("/catalogue/payback_period")
    assert one.json()["inputs"][0] == {
        "name": "investment",
        "kind": "NON_NEGATIVE_AMOUNT",
        "aggregation": "SUM",  # the period's own investment, summed on roll-up (issue 14)
    }
    assert "not a running total" in one.json()["description"]
    missing = await api.get("/catalogue/nope")
    assert missing.status_code == 404
    assert error_of(missing)["field"] == "code"
    batch = await api.get("/catalogue", params=[("codes", "churn_rate"), ("codes", "zzz_unknown")])
    assert [k["code"] for k in batch.json()["items"]] == ["churn_rate"]


HOSTILE_FORMULAS = [
    "__import__('os').system('rm -rf /')",
    "orders ** 2",
    "orders; visits",
    "orders.__class__",
    "exec(orders)",
    "ORDERS / visits",
    "orders / visits)",
    "(" * 40 + "orders" + ")" * 40,
    "orders + " * 100 + "visits",
    "1٢ + orders",
    "$where",
    "",
]


async def test_custom_kpis_are_validated_stored_used_and_deleted(api: httpx.AsyncClient) -> None:
    body = {
        "code": "orders_per_visit",
        "name": "Orders per visit",
        "level": "CUSTOMER",
        "unit": "ratio",
        "direction": "UP",
        "formula": "orders / (visits + bounces)",
        "inputs": {"orders": "COUNT", "visits": "COUNT", "bounces": "COUNT"},
        "defaultTarget": {"comparator": "GTE", "value": 0.02},
        "parts": [{"part": "orders", "whole": "visits"}],
    }
    for formula in HOSTILE_FORMULAS:
        response = await api.post("/catalogue", json={**body, "formula": formula})
        assert response.status_code == 422, (formula, response.text)
        assert error_of(response)["field"] in {"formula", "inputs.orders"}, formula
    undeclared = await api.post("/catalogue", json={**body, "inputs": {"orders": "COUNT"}})
    assert error_of(undeclared)["field"] == "inputs.bounces"
    builtin = await api.post("/catalogue", json={**body, "code": "churn_rate"})
    assert error_of(builtin)["field"] == "code"
    assert (await api.get("/catalogue")).json()["totalCount"] == 20

    created = await api.post("/catalogue", json=body)
    assert created.status_code == 201, created.text
    assert created.json()["builtIn"] is False
    assert [i["name"] for i in created.json()["inputs"]] == ["bounces", "orders", "visits"]
    assert (await api.post("/catalogue", json=body)).status_code == 409
    catalogue = (await api.get("/catalogue")).json()
    assert catalogue["totalCount"] == 21
    assert catalogue["items"][-1]["code"] == "orders_per_visit"
    page = (await api.get("/catalogue", params={"offset": 20})).json()
    assert [k["code"] for k in page["items"]] == ["orders_per_visit"]

    inputs = {"orders": 3, "visits": 50, "bounces": 10}
    recorded = await record(api, measurement("orders_per_visit", inputs))
    assert recorded["value"] == pytest.approx(0.05)
    too_many = await api.post(
        "/measurements",
        json=measurement("orders_per_visit", {**inputs, "orders": 51}, n=1),
    )
    assert error_of(too_many)["field"] == "inputs.orders"
    assert (await api.delete("/catalogue/orders_per_visit")).status_code == 409
    assert (await api.delete("/catalogue/churn_rate")).status_code == 409

    other = {**body, "code": "unused_kpi"}
    assert (await api.post("/catalogue", json=other)).status_code == 201
    deleted = await api.delete("/catalogue/unused_kpi")
    assert deleted.json() == {"id": "unused_kpi", "deleted": True}
    assert (await api.get("/catalogue/unused_kpi")).status_code == 404


# --- measurements --------------------------------------------------------------------------------


async def test_invalid_measurements_name_the_field_and_write_nothing(
    api: httpx.AsyncClient,
) -> None:
    good = measurement("sla_compliance", {"within_sla": 95, "total": 100})
    cases: list[tuple[dict[str, Any], int, str, str]] = [
        ({"inputs": {"within_sla": 95, "total": 100, "extra": 1}}, 422, "VALIDATION_ERROR",
         "inputs.extra"),
        ({"inputs": {"within_sla": 95}}, 422, "VALIDATION_ERROR", "inputs.total"),
        ({"inputs": {"within_sla": -1, "total": 100}}, 422, "VALIDATION_ERROR",
         "inputs.within_sla"),
        ({"inputs": {"within_sla": 9.5, "total": 100}}, 422, "VALIDATION_ERROR",
         "inputs.within_sla"),
        ({"inputs": {"within_sla": 0, "total": 0}}, 422, "VALIDATION_ERROR", "inputs.total"),
        ({"inputs": {"within_sla": 101, "total": 100}}, 422, "VALIDATION_ERROR",
         "inputs.within_sla"),
        ({"inputs": {"within_sla": True, "total": 100}}, 422, "VALIDATION_ERROR",
         "inputs.within_sla"),
        ({"inputs": {"within_sla": "95", "total": 100}}, 422, "VALIDATION_ERROR",
         "inputs.within_sla"),
        ({"periodEnd": good["periodStart"]}, 422, "VALIDATION_ERROR", "periodEnd"),
        ({"periodStart": "yesterday"}, 422, "VALIDATION_ERROR", "periodStart"),
        ({"shopId": "not-a-shop"}, 422, "VALIDATION_ERROR", "shopId"),
        ({"source": "GUESS"}, 422, "VALIDATION_ERROR", "source"),
        ({"kpiCode": "no_such_kpi"}, 404, "NOT_FOUND", "kpiCode"),
        ({"replace": True}, 422, "VALIDATION_ERROR", "reason"),
        ({"value": 3}, 422, "VALIDATION_ERROR", "value"),
    ]  # fmt: skip
    for changes, status, code, field in cases:
        response = await api.post("/measurements", json={**good, **changes})
        assert response.status_code == status, (changes, response.text)
        assert error_of(response)["code"] == code, changes
        assert error_of(response)["field"] == field, (changes, response.json())
    # JSON allows 1e999, which Python reads as infinity.
    overflow = json.dumps({**good, "inputs": {"within_sla": "OVERFLOW", "total": 100}}).replace(
        '"OVERFLOW"', "1e999"
    )
    response = await api.post(
        "/measurements", content=overflow, headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert error_of(response)["field"] == "inputs.within_sla"
    assert await count(api) == 0
    assert (await api.get("/latest", params={"shopIds": SHOP})).json()["items"][0]["kpis"] == []


async def test_a_replacement_keeps_the_old_revision_in_history(api: httpx.AsyncClient) -> None:
    body = measurement("process_errors", {"errors": 3, "operations": 1000}, source="IMPORT")
    first = await record(api, body)
    assert first["value"] == pytest.approx(3.0)
    assert first["revision"] == 1
    assert first["source"] == "IMPORT"
    assert first["escalation"]["eventId"] == first["id"]
    assert first["history"] == []

    again = await api.post(
        "/measurements", json={**body, "inputs": {"errors": 9, "operations": 1000}}
    )
    assert again.status_code == 409
    assert error_of(again)["code"] == "CONFLICT"
    assert error_of(again)["field"] == "periodStart"
    assert first["id"] in error_of(again)["message"]

    replaced = await record(
        api,
        {
            **body,
            "inputs": {"errors": 9, "operations": 1000},
            "source": "MANUAL",
            "replace": True,
            "reason": "recount",
        },
        status=200,
    )
    assert replaced["id"] == first["id"]
    assert replaced["revision"] == 2
    assert replaced["value"] == pytest.approx(9.0)
    assert replaced["reason"] == "recount"
    assert replaced["source"] == "MANUAL"
    assert replaced["escalation"]["eventId"] == f"{first['id']}:2"
    [old] = replaced["history"]
    assert old["revision"] == 1
    assert old["value"] == pytest.approx(3.0)
    assert old["inputs"] == {"errors": 3, "operations": 1000}
    assert old["source"] == "IMPORT"
    assert old["escalation"]["eventId"] == first["id"]
    assert old["escalation"]["state"] in {"SUPERSEDED", "DELIVERED"}
    assert await count(api) == 1

    fetched = (await api.get(f"/measurements/{first['id']}")).json()
    assert fetched == replaced
    batch = await api.get("/measurements", params=[("ids", first["id"]), ("ids", "0" * 24)])
    assert [m["id"] for m in batch.json()["items"]] == [first["id"]]
    assert (await api.get("/measurements/" + "0" * 24)).status_code == 404
    assert error_of(await api.get("/measurements/xyz"))["code"] == "INVALID_ID"


async def test_measurements_are_listed_newest_first_and_filtered(api: httpx.AsyncClient) -> None:
    for n in range(4):
        await record(api, measurement("security_level", {"vulnerabilities": n, "incidents": 0}, n))
    await record(
        api, measurement("security_level", {"vulnerabilities": 0, "incidents": 1}, 0, OTHER)
    )
    page = (await api.get("/measurements", params={"shopId": SHOP, "limit": 2})).json()
    assert page["totalCount"] == 4
    assert [m["value"] for m in page["items"]] == [3, 2]
    start, _ = week(1)
    end, _ = week(3)
    ranged = await api.get(
        "/measurements",
        params={"shopId": SHOP, "kpiCode": "security_level", "from": start, "to": end},
    )
    assert [m["value"] for m in ranged.json()["items"]] == [2, 1]
    backwards = await api.get("/measurements", params={"from": end, "to": start})
    assert error_of(backwards)["field"] == "to"


# --- series --------------------------------------------------------------------------------------


async def test_series_roll_up_recomputes_from_summed_inputs(api: httpx.AsyncClient) -> None:
    weeks = {0: (10, 100), 1: (30, 200), 3: (5, 50), 5: (40, 100)}  # weeks 0-3 start in January
    for n, (sales, visits) in weeks.items():
        inputs = {"successful_transactions": sales, "visits": visits}
        await record(api, measurement("sales_conversion", inputs, n))

    async def series(grain: str, **params: str) -> Any:
        query = {"shopId": SHOP, "kpiCode": "sales_conversion", "grain": grain, **params}
        response = await api.get("/series", params=query)
        assert response.status_code == 200, response.text
        return response.json()

    recorded = await series("RECORDED")
    assert [p["value"] for p in recorded["points"]] == pytest.approx([10, 15, 10, 40])
    assert recorded["unit"] == "%"
    month = await series("MONTH")
    assert [p["periodStart"] for p in month["points"]] == [
        "2025-01-01T00:00:00Z",
        "2025-02-01T00:00:00Z",
    ]
    january = month["points"][0]
    assert january["inputs"] == {"successful_transactions": 45.0, "visits": 350.0}
    assert january["value"] == pytest.approx(45 / 350 * 100)  # not the mean of 10, 15, 10
    assert january["count"] == 3
    assert month["points"][1]["value"] == pytest.approx(40.0)
    quarter = await series("QUARTER")
    assert [p["value"] for p in quarter["points"]] == pytest.approx([85 / 450 * 100])
    assert quarter["points"][0]["periodEnd"] == "2025-04-01T00:00:00Z"
    weekly = await series("WEEK")
    assert len(weekly["points"]) == 4
    february = await series("MONTH", **{"from": "2025-02-01T00:00:00Z"})
    assert [p["count"] for p in february["points"]] == [1]
    bad = await api.get("/series", params={"shopId": SHOP, "kpiCode": "x", "grain": "DAY"})
    assert error_of(bad)["field"] == "grain"


# --- targets and the latest view -----------------------------------------------------------------


async def test_targets_give_status_and_fulfilment_in_the_latest_view(
    api: httpx.AsyncClient,
) -> None:
    sla = measurement("sla_compliance", {"within_sla": 96, "total": 100})
    await record(api, sla)
    await record(
        api, measurement("system_response_time", {"total_response_seconds": 10, "requests": 40})
    )

    async def latest(*shops: str) -> list[Any]:
        response = await api.get("/latest", params=[("shopIds", s) for s in shops])
        assert response.status_code == 200, response.text
        items: list[Any] = response.json()["items"]
        return items

    [shop] = await latest(SHOP)
    by_code = {k["kpiCode"]: k for k in shop["kpis"]}
    assert [k["kpiCode"] for k in shop["kpis"]] == ["system_response_time", "sla_compliance"]
    assert by_code["sla_compliance"]["status"] == "MET"
    assert by_code["sla_compliance"]["target"] == {
        "comparator": "GTE",
        "value": 95.0,
        "source": "DEFAULT",
        "periodStart": None,
        "periodEnd": None,
    }
    assert by_code["sla_compliance"]["fulfilment"] == pytest.approx(96 / 95 * 100)
    response_time = by_code["system_response_time"]
    assert (response_time["value"], response_time["status"]) == (0.25, "MET")
    assert response_time["fulfilment"] == pytest.approx(200.0)  # DOWN: target / actual

    put = await api.put(f"/targets/{SHOP}/sla_compliance", json={"comparator": "GTE", "value": 97})
    assert put.status_code == 200, put.text
    assert put.json()["comparator"] == "GTE"
    await api.put(f"/targets/{SHOP}/churn_rate", json={"comparator": "LTE", "value": 5})
    [shop, other, platform] = await latest(SHOP, OTHER, "platform")
    by_code = {k["kpiCode"]: k for k in shop["kpis"]}
    assert by_code["sla_compliance"]["status"] == "AT_RISK"  # 96 misses 97 by < 5 %
    assert by_code["sla_compliance"]["target"]["source"] == "SHOP"
    assert by_code["churn_rate"]["status"] == "NO_DATA"
    assert by_code["churn_rate"]["value"] is None
    assert (other["shopId"], other["kpis"]) == (OTHER, [])
    assert platform == {"shopId": "platform", "kpis": []}

    await record(
        api,
        {
            **sla,
            "inputs": {"within_sla": 80, "total": 100},
            "replace": True,
            "reason": "late errors",
        },
        status=200,
    )
    [shop] = await latest(SHOP)
    assert {k["kpiCode"]: k["status"] for k in shop["kpis"]}["sla_compliance"] == "MISSED"

    # A target with a period judges only measurements within it; else the default applies.
    await api.put(
        f"/targets/{SHOP}/sla_compliance",
        json={
            "comparator": "GTE",
            "value": 50,
            "periodStart": "2026-01-01T00:00:00Z",
            "periodEnd": "2027-01-01T00:00:00Z",
        },
    )
    [shop] = await latest(SHOP)
    sla_now = {k["kpiCode"]: k for k in shop["kpis"]}["sla_compliance"]
    assert (sla_now["target"]["source"], sla_now["status"]) == ("DEFAULT", "MISSED")
    targets = (await api.get("/targets", params={"shopId": SHOP})).json()
    assert [t["kpiCode"] for t in targets["items"]] == ["churn_rate", "sla_compliance"]
    assert targets["items"][1]["periodStart"] == "2026-01-01T00:00:00Z"
    assert (await api.delete(f"/targets/{SHOP}/churn_rate")).status_code == 200
    assert (await api.get(f"/targets/{SHOP}/churn_rate")).status_code == 404
    only = await api.get("/latest", params={"shopIds": SHOP, "kpiCodes": "sla_compliance"})
    assert [k["kpiCode"] for k in only.json()["items"][0]["kpis"]] == ["sla_compliance"]

    errors = {
        "comparator": await api.put(
            f"/targets/{SHOP}/churn_rate", json={"comparator": "EQ", "value": 1}
        ),
        "periodEnd": await api.put(
            f"/targets/{SHOP}/churn_rate",
            json={"comparator": "LT", "value": 1, "periodStart": "2025-01-01T00:00:00Z"},
        ),
        "kpiCode": await api.put(f"/targets/{SHOP}/nope", json={"comparator": "LT", "value": 1}),
        "shopId": await api.put("/targets/nope/churn_rate", json={"comparator": "LT", "value": 1}),
    }
    for field, response in errors.items():
        assert error_of(response)["field"] == field, response.text
    assert error_of(errors["shopId"])["code"] == "INVALID_ID"


async def test_latest_costs_a_bounded_number_of_commands(api: httpx.AsyncClient) -> None:
    shops = [f"{i:024x}" for i in range(1, 41)]
    for shop in shops[:20]:
        await record(
            api, measurement("churn_rate", {"lost_customers": 1, "customers": 20}, 0, shop)
        )
        await api.put(f"/targets/{shop}/team_engagement", json={"comparator": "GTE", "value": 60})
    before = metric(FINDS, **FIND_LABELS)
    response = await api.get("/latest", params=[("shopIds", s) for s in shops])
    after = metric(FINDS, **FIND_LABELS)
    items = response.json()["items"]
    assert [i["shopId"] for i in items] == shops
    assert sum(len(i["kpis"]) for i in items) == 40
    assert 1 <= after - before <= 3


# --- the profit model ----------------------------------------------------------------------------

BASELINE = {
    "reach": 10000, "c1": 0.05, "c": 0.2, "churn": 20, "pu": 50, "d": 2, "q1": 3, "rt": 0.5,
    "capex": 1000, "h": 5000, "cogs": 10000, "cac": 2000, "crc": 500,
}  # fmt: skip
SCENARIO = {**BASELINE, "c": 0.25, "crc": 1000}


async def test_profit_what_if_and_financial_kpis_worked_by_hand(api: httpx.AsyncClient) -> None:
    # Baseline: L = 500, CLs = 0.2·500 − 20 = 80, P = 100, Qs = 2.5, LTV = 250,
    # R = 80·250 = 20000, TC = 18500, profit = 1500.
    result = (await api.post("/profit", json=BASELINE)).json()
    assert {k: v for k, v in result.items() if k != "indicators"} == pytest.approx(
        {
            "leads": 500,
            "clients": 80,
            "averageCheck": 100,
            "deals": 2.5,
            "ltv": 250,
            "revenue": 20000,
            "totalCosts": 18500,
            "profit": 1500,
        }
    )
    # Scenario: c = 0.25 gives CLs = 105, R = 26250; crc = 1000 gives TC = 19000: 7250.
    # c alone: 26250 − 18500 = 7750 (+6250, +416.7 %); crc alone: 20000 − 19000 = 1000
    # (−500, −33.3 %); favourable together: c only, 7750; interaction 5750 − 5750 = 0.
    response = await api.post("/profit/what-if", json={"baseline": BASELINE, "scenario": SCENARIO})
    assert response.status_code == 200, response.text
    what_if = response.json()
    assert what_if["baseline"]["profit"] == pytest.approx(1500)
    assert what_if["scenario"]["profit"] == pytest.approx(7250)
    assert what_if["profitChange"] == pytest.approx(5750)
    assert what_if["contributions"] == [
        {
            "code": "c",
            "baselineValue": 0.2,
            "scenarioValue": 0.25,
            "profitAlone": pytest.approx(7750),
            "absolute": pytest.approx(6250),
            "relative": pytest.approx(6250 / 1500 * 100),
            "favourable": True,
        },
        {
            "code": "crc",
            "baselineValue": 500,
            "scenarioValue": 1000,
            "profitAlone": pytest.approx(1000),
            "absolute": pytest.approx(-500),
            "relative": pytest.approx(-500 / 1500 * 100),
            "favourable": False,
        },
    ]
    assert what_if["favourableCodes"] == ["c"]
    assert what_if["favourableProfit"] == pytest.approx(7750)
    assert what_if["interaction"] == pytest.approx(0, abs=1e-9)

    financial = await api.post(
        "/profit/financial-kpis",
        json={"before": BASELINE, "after": SCENARIO, "investment": 11500, "months": 1},
    )
    assert financial.status_code == 200, financial.text
    kpis = financial.json()
    assert kpis["profitDelta"] == pytest.approx(5750)
    assert kpis["integrationRoi"]["kpiCode"] == "integration_roi"
    assert kpis["integrationRoi"]["value"] == pytest.approx(50.0)
    assert kpis["paybackPeriod"]["value"] == pytest.approx(2.0)
    assert kpis["paybackPeriod"]["inputs"] == {
        "investment": 11500,
        "monthly_profit_increase": pytest.approx(5750),
    }
    worse = await api.post(
        "/profit/financial-kpis",
        json={"before": SCENARIO, "after": BASELINE, "investment": 11500, "months": 2},
    )
    assert worse.json()["integrationRoi"]["value"] == pytest.approx(-50.0)
    assert worse.json()["paybackPeriod"] is None

    invalid = {
        "baseline.c1": await api.post(
            "/profit/what-if", json={"baseline": {**BASELINE, "c1": 1.5}, "scenario": SCENARIO}
        ),
        "scenario.reach": await api.post(
            "/profit/what-if", json={"baseline": BASELINE, "scenario": {**SCENARIO, "reach": -1}}
        ),
        "investment": await api.post(
            "/profit/financial-kpis",
            json={"before": BASELINE, "after": SCENARIO, "investment": 0, "months": 1},
        ),
        "months": await api.post(
            "/profit/financial-kpis",
            json={"before": BASELINE, "after": SCENARIO, "investment": 1, "months": 0},
        ),
        "crc": await api.post("/profit", json={k: v for k, v in BASELINE.items() if k != "crc"}),
        "pu": await api.post("/profit", json={**BASELINE, "pu": "50"}),
    }
    for field, response in invalid.items():
        assert response.status_code == 422, response.text
        assert error_of(response)["field"] == field, response.text


# --- the durable path of events ------------------------------------------------------------------


async def pending_outboxes(service: KpiService) -> list[dict[str, Any]]:
    return [d["outbox"] async for d in service.store.measurements.find({}, {"outbox": 1})]


async def test_an_outage_of_the_receiver_loses_nothing(
    settings: IntegraSettings, receiver: Receiver
) -> None:
    unreachable = metric("kpi_outbox_delivery_attempts_total", kind="breach", outcome="unreachable")
    async with running_kpi(settings, receiver.url) as (service, api):
        recorded = []
        for n in range(10):
            body = measurement("sla_compliance", {"within_sla": 90 + n % 3, "total": 100}, n)
            recorded.append(await record(api, body))
        ids = {m["id"] for m in recorded}

        async def retried_while_down() -> bool:
            outboxes = await pending_outboxes(service)
            return len(outboxes) == 10 and all(o["attempts"] >= 2 for o in outboxes)

        await eventually(retried_while_down)
        assert all(o["state"] == "PENDING" for o in await pending_outboxes(service))
        assert receiver.applied_ids == []
        assert (
            metric("kpi_outbox_delivery_attempts_total", kind="breach", outcome="unreachable")
            >= unreachable + 20
        )
        await eventually(
            lambda: _gauge_is(metric("kpi_outbox_pending_events", kind="breach") == 10)
        )

        receiver.start()

        async def all_delivered() -> bool:
            outboxes = await pending_outboxes(service)
            return all(o["state"] == "DELIVERED" for o in outboxes)

        await eventually(all_delivered)
        assert set(receiver.applied_ids) == ids
        assert len(receiver.applied_ids) == 10  # answered 2xx: each applied once
        by_id = {event["eventId"]: event for event in receiver.applied}
        first = recorded[0]
        assert by_id[first["id"]] == {
            "eventId": first["id"],
            "measurementId": first["id"],
            "shopId": SHOP,
            "kpiCode": "sla_compliance",
            "value": first["value"],
            "measuredAt": first["periodEnd"],
        }
        assert {receiver.paths[i] for i in ids} == {"/escalations"}
        await eventually(lambda: _gauge_is(metric("kpi_outbox_pending_events", kind="breach") == 0))
        for m in recorded:
            fetched = (await api.get(f"/measurements/{m['id']}")).json()
            assert fetched["escalation"]["state"] == "DELIVERED"
            assert fetched["escalation"]["deliveredAt"] is not None


async def _gauge_is(condition: bool) -> bool:
    return condition


async def test_failed_attempts_are_retried_until_accepted(
    settings: IntegraSettings, receiver: Receiver
) -> None:
    receiver.fail_first = 2
    receiver.start()
    async with running_kpi(settings, receiver.url) as (service, api):
        recorded = [
            await record(
                api, measurement("team_engagement", {"active_participants": n, "team_size": 10}, n)
            )
            for n in range(3)
        ]

        async def delivered() -> bool:
            return all(o["state"] == "DELIVERED" for o in await pending_outboxes(service))

        await eventually(delivered)
        replaced = await record(
            api,
            measurement(
                "team_engagement",
                {"active_participants": 9, "team_size": 10},
                0,
                replace=True,
                reason="missed a participant",
            ),
            status=200,
        )
        await eventually(delivered)
    ids = [m["id"] for m in recorded] + [f"{recorded[0]['id']}:2"]
    assert replaced["escalation"]["eventId"] == ids[-1]
    # The 2025 weeks are old: the no-data monitor may also report the shop's silence if its
    # first check runs after the recordings; only the breach events are this test's subject.
    breaches = [i for i in receiver.applied_ids if not i.startswith("no-data:")]
    assert sorted(breaches) == sorted(ids)
    assert all(receiver.attempts[i] == 3 for i in ids)
    async with running_kpi(settings, receiver.url) as (service, api):
        for m in recorded[1:]:
            assert (await api.get(f"/measurements/{m['id']}")).json()["escalation"]["attempts"] == 3


async def test_a_lost_answer_makes_a_duplicate_with_the_same_event_id(
    settings: IntegraSettings, receiver: Receiver
) -> None:
    receiver.slow_first = 1.0
    receiver.start()
    impatient = DispatcherOptions(
        poll_interval=0.05, backoff_base=0.05, backoff_cap=0.2, timeout=0.3, stats_interval=1
    )
    async with running_kpi(settings, receiver.url, impatient) as (service, api):
        m = await record(api, measurement("churn_rate", {"lost_customers": 2, "customers": 40}))

        async def delivered() -> bool:
            return all(o["state"] == "DELIVERED" for o in await pending_outboxes(service))

        await eventually(delivered)
        fetched = (await api.get(f"/measurements/{m['id']}")).json()
    # The first attempt was applied but its answer came too late: at least once, same id.
    assert receiver.applied_ids == [m["id"], m["id"]]
    assert receiver.applied[0] == receiver.applied[1]
    assert fetched["escalation"]["attempts"] == 2


async def test_a_scope_without_data_for_30_days_escalates_no_data(
    settings: IntegraSettings, receiver: Receiver
) -> None:
    receiver.start()
    async with running_kpi(settings, receiver.url) as (service, api):
        end = datetime.now(UTC).replace(microsecond=0) - timedelta(days=31)
        body = {
            "shopId": OTHER,
            "kpiCode": "security_level",
            "periodStart": (end - timedelta(days=1)).isoformat(),
            "periodEnd": end.isoformat(),
            "inputs": {"vulnerabilities": 0, "incidents": 0},
        }
        await record(api, body)
        await record(
            api,
            measurement("security_level", {"vulnerabilities": 0, "incidents": 0}, shop=SHOP, n=100),
        )
        [event_id] = await service.no_data.check_once()
        since = end.isoformat().replace("+00:00", "Z")
        assert event_id == f"no-data:{OTHER}:{since}"  # one event per silence, not per day
        assert await service.no_data.check_once() == []  # the next check: the same silence

        async def arrived() -> bool:
            return event_id in receiver.applied_ids

        await eventually(arrived)
    [event] = [e for e in receiver.applied if e["eventId"] == event_id]
    assert event == {
        "eventId": event_id,
        "shopId": OTHER,
        "lastMeasurementAt": end.isoformat().replace("+00:00", "Z"),
    }
    assert receiver.paths[event_id] == "/escalations/no-data"


# --- the platform's own KPIs ---------------------------------------------------------------------


async def test_platform_kpis_from_the_scraped_metrics_of_the_service(
    settings: IntegraSettings, kpi: tuple[KpiService, httpx.AsyncClient]
) -> None:
    service, api = kpi
    app_transport = api._transport  # the kpi app's ASGI transport
    reader = ScrapeReader(["http://kpi/metrics"], transport=app_transport)
    recorder = PlatformRecorder(lambda: service.store, reader, 0.5, interval=60, window=60)
    t0 = datetime(2025, 5, 1, 10, 0, tzinfo=UTC)
    assert await recorder.tick(t0) == []
    for _ in range(6):
        assert (await api.get("/catalogue/churn_rate")).status_code == 200
    assert (await api.get("/catalogue/unknown")).status_code == 404
    await api.get("/healthz")  # probes are not the platform's API
    docs = await recorder.tick(t0 + timedelta(minutes=1))
    inputs = {d["kpi_code"]: d["current"]["inputs"] for d in docs}
    assert inputs["system_response_time"]["requests"] == 7
    assert inputs["sla_compliance"] == {"within_sla": 7, "total": 7}
    assert inputs["process_errors"] == {"errors": 0, "operations": 7}

    [platform] = (await api.get("/latest", params={"shopIds": "platform"})).json()["items"]
    statuses = {k["kpiCode"]: (k["source"], k["status"]) for k in platform["kpis"]}
    assert statuses == {
        "system_response_time": ("SYSTEM", "MET"),
        "process_errors": ("SYSTEM", "MET"),
        "sla_compliance": ("SYSTEM", "MET"),
    }
    listed = await api.get("/measurements", params={"shopId": "platform"})
    assert listed.json()["totalCount"] == 3
    exposition = (await api.get("/metrics")).text
    for name in (
        "kpi_outbox_delivery_attempts_total",
        "kpi_outbox_pending_events",
        "kpi_outbox_oldest_pending_age_seconds",
        "kpi_platform_recordings_total",
    ):
        assert name in exposition


async def test_the_running_recorder_records_the_platform_from_the_registry(
    settings: IntegraSettings,
) -> None:
    # Periods long enough that a loaded host (the whole suite on 2 cores) still sends traffic
    # in each one and never stalls past a window (which restarts the grid).
    options = KpiOptions(
        dispatcher=FAST, record_platform=True, platform_interval=0.5, platform_window=1.0
    )
    service = KpiService(settings, risk_base_url=f"http://127.0.0.1:{free_port()}", options=options)
    app = build_app(service, settings, manage_lifecycle=False)
    await service.start()
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://kpi", headers=ADMIN
        ) as api:

            async def recorded() -> bool:
                await api.get("/catalogue/churn_rate")  # traffic for the windows
                page = await api.get("/measurements", params={"shopId": "platform"})
                return bool(page.json()["totalCount"] >= 3)

            await eventually(recorded, within=45.0)
            page = (await api.get("/measurements", params={"shopId": "platform"})).json()
    finally:
        await service.stop()
    codes = {m["kpiCode"] for m in page["items"]}
    assert codes == {"system_response_time", "sla_compliance", "process_errors"}
    assert {m["source"] for m in page["items"]} == {"SYSTEM"}
    first = page["items"][0]
    start = datetime.fromisoformat(first["periodStart"])
    end = datetime.fromisoformat(first["periodEnd"])
    assert end - start == timedelta(seconds=0.5)  # one interval: periods never overlap
    window = first["window"]
    assert datetime.fromisoformat(window["periodStart"]) == end - timedelta(seconds=1.0)
    assert datetime.fromisoformat(window["periodEnd"]) == end


async def test_the_standalone_app_starts_and_stops_with_its_lifespan(
    settings: IntegraSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INTEGRA_KPI_PLATFORM_RECORDER", "false")
    monkeypatch.setenv("INTEGRA_KPI_OUTBOX_POLL_SECONDS", "0.05")
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://kpi", headers=ADMIN
        ) as api:
            ready = await api.get("/readyz")
            assert ready.json() == {"status": "ready", "checks": {"database": True}}
            assert (await api.get("/catalogue")).json()["totalCount"] == 20
