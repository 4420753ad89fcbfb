"""The platform measures itself (§4.6): slow requests breach its SLA and raise its own risk.

Real slow requests pass through the real request-metrics middleware into the process's
metrics registry; the real platform recorder reads that registry (the one-process stack's
reader) and records ``SYSTEM`` measurements for the scope ``platform`` into the stack's kpi
database; the stack's outbox dispatcher delivers the breach to the risk service; the result is
read through GraphQL. The recorder works on the increase between two snapshots, so requests
observed before the test (the registry is process-global) do not count.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from services.kpi.platform import RegistryReader
from services.kpi.platform_recorder import PlatformRecorder
from services.kpi.store import KpiStore
from services.runtime.change_feed import ChangeFeed, FeedOptions
from services.runtime.metrics import RequestMetricsMiddleware, route_templates
from services.runtime.mongo import connect, database
from services.runtime.records import now
from services.runtime.settings import IntegraSettings
from tests.conftest import GraphQLClient

SLA_SECONDS = 0.05
"""A small SLA threshold (a histogram bucket bound) so that "slow" takes milliseconds."""
SLOW_SECONDS = 0.07
SLOW_REQUESTS = 8
WINDOW = timedelta(minutes=1)

PLATFORM = """
{ platform {
    kpis { kpiCode value status source measurementId target { comparator value source } }
    risks(limit: 50) { totalCount items { id category shopId inherent { likelihood }
      history { eventId kpiCode kpiValue } } }
    services { name ready }
} }
"""


@pytest.fixture
def settings(settings: IntegraSettings) -> IntegraSettings:
    """The test's settings with a 50 ms latency SLA."""
    return settings.model_copy(update={"sla_seconds": SLA_SECONDS})


@pytest.fixture
async def kpi_store(settings: IntegraSettings) -> AsyncIterator[KpiStore]:
    """A store over the stack's kpi database, for a recorder run driven by the test."""
    client = connect(settings, "kpi")
    try:
        db = database(client, settings, "kpi")
        yield KpiStore(db, ChangeFeed(db, "kpi", FeedOptions()))
    finally:
        await client.close()


def slow_app() -> RequestMetricsMiddleware:
    """A tiny API of the platform whose one endpoint answers just after the SLA threshold,
    measured by the same middleware as every service."""

    async def slow(_: Request) -> Response:
        await asyncio.sleep(SLOW_SECONDS)
        return JSONResponse({"ok": True})

    async def fast(_: Request) -> Response:
        return JSONResponse({"ok": True})

    routes = [Route("/slow", slow, methods=["GET"]), Route("/fast", fast, methods=["GET"])]
    return RequestMetricsMiddleware(
        Starlette(routes=routes), "platform_sla_test", route_templates(routes)
    )


async def send_slow_requests(client: httpx.AsyncClient) -> None:
    answers = await asyncio.gather(*(client.get("/slow") for _ in range(SLOW_REQUESTS)))
    assert all(a.status_code == 200 for a in answers)


async def delivered(gql: GraphQLClient, measurement_id: str) -> None:
    """Wait until the measurement's breach event reached the risk service."""
    query = "query($id: ID!) { measurement(id: $id) { escalation { state } } }"
    for _ in range(300):
        found = (await gql.data(query, {"id": measurement_id}))["measurement"]
        if found["escalation"]["state"] == "DELIVERED":
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"not delivered: {found}")


def by_code(docs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {d["kpi_code"]: d for d in docs}


def sla_events(risk: dict[str, Any]) -> list[str]:
    """The SLA breaches that raised the risk, in order."""
    return [h["eventId"] for h in risk["history"] if h["kpiCode"] == "sla_compliance"]


def other_events(risk: dict[str, Any]) -> set[str]:
    """The other breach events in the risk's history."""
    return {
        h["eventId"] for h in risk["history"] if h["eventId"] and h["kpiCode"] != "sla_compliance"
    }


async def test_slow_requests_breach_the_sla_and_raise_the_platforms_risk_once(
    gql: GraphQLClient, kpi_store: KpiStore, settings: IntegraSettings
) -> None:
    recorder = PlatformRecorder(
        lambda: kpi_store,
        RegistryReader(),
        settings.sla_seconds,
        interval=WINDOW.total_seconds(),
        window=WINDOW.total_seconds(),
    )
    minute = now().replace(second=0, microsecond=0)
    t0, t1, t2 = minute - 2 * WINDOW, minute - WINDOW, minute
    transport = httpx.ASGITransport(app=slow_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://slow") as client:
        assert await recorder.tick(t0) == []  # the first snapshot: nothing to compare yet
        await send_slow_requests(client)
        first = by_code(await recorder.tick(t1))

        sla = first["sla_compliance"]
        inputs = sla["current"]["inputs"]
        # Each slow request took ≥ 70 ms > 50 ms; anything else the process served in the
        # window adds to both counts.
        assert inputs["total"] >= SLOW_REQUESTS
        assert inputs["within_sla"] <= inputs["total"] - SLOW_REQUESTS
        assert sla["current"]["value"] < 95
        assert sla["current"]["source"] == "SYSTEM"
        assert (sla["shop_id"], sla["period_start"], sla["period_end"]) == ("platform", t0, t1)
        assert first["system_response_time"]["current"]["inputs"]["requests"] == inputs["total"]
        await delivered(gql, sla["_id"])

        platform = (await gql.data(PLATFORM))["platform"]
        kpis = {k["kpiCode"]: k for k in platform["kpis"]}
        assert set(kpis) == {"system_response_time", "sla_compliance", "process_errors"}
        assert kpis["sla_compliance"]["value"] == pytest.approx(sla["current"]["value"])
        assert kpis["sla_compliance"]["status"] == "MISSED"
        assert kpis["sla_compliance"]["target"] == {
            "comparator": "GTE",
            "value": 95.0,
            "source": "DEFAULT",
        }
        assert kpis["sla_compliance"]["measurementId"] == sla["_id"]
        assert {k["source"] for k in kpis.values()} == {"SYSTEM"}
        assert (kpis["process_errors"]["value"], kpis["process_errors"]["status"]) == (0.0, "MET")
        risks = platform["risks"]["items"]
        performance = [r for r in risks if r["category"] == "PERFORMANCE_UX"]
        assert len(performance) == 1
        assert performance[0]["shopId"] == "platform"
        # A loaded machine may also breach the mean response time in the same window: that
        # measurement raises the same risk (another breach), never a second risk.
        assert sla_events(performance[0]) == [sla["_id"]]
        assert other_events(performance[0]) <= {first["system_response_time"]["_id"]}
        assert {"name": "kpi", "ready": True} in platform["services"]
        assert {s["name"] for s in platform["services"]} == {"scoring", "risk", "kpi"}

        # The same window again is a duplicate: nothing new is recorded or escalated.
        assert await recorder.tick(t1) == []
        # The next slow window breaches again: the same risk is raised, none is created.
        await send_slow_requests(client)
        second_window = by_code(await recorder.tick(t2))
        second = second_window["sla_compliance"]
        assert second["current"]["value"] < 95
        await delivered(gql, second["_id"])

    again = (await gql.data(PLATFORM))["platform"]
    performance_again = [r for r in again["risks"]["items"] if r["category"] == "PERFORMANCE_UX"]
    assert [r["id"] for r in performance_again] == [performance[0]["id"]]
    assert sla_events(performance_again[0]) == [sla["_id"], second["_id"]]
    assert other_events(performance_again[0]) <= {
        first["system_response_time"]["_id"],
        second_window["system_response_time"]["_id"],
    }
    assert (
        performance_again[0]["inherent"]["likelihood"] > performance[0]["inherent"]["likelihood"]
        or performance[0]["inherent"]["likelihood"] == 5
    )
    latest = {k["kpiCode"]: k for k in again["kpis"]}["sla_compliance"]
    assert latest["measurementId"] == second["_id"]


MEASUREMENTS = """
query($from: DateTime!) {
  measurements(shopId: "platform", kpiCode: "sla_compliance", from: $from, limit: 100) {
    items { id periodStart periodEnd inputs { name value } value
      window { periodStart periodEnd inputs { name value } value } }
  }
  platform { kpis(codes: ["sla_compliance"]) { value status measurementId window { value } } }
}
"""


def _inputs(item: dict[str, Any]) -> dict[str, float]:
    return {i["name"]: i["value"] for i in item["inputs"]}


async def test_platform_periods_do_not_overlap_and_status_judges_the_last_window(
    gql: GraphQLClient, kpi_store: KpiStore, settings: IntegraSettings
) -> None:
    """One-minute periods (each request counted once) judged over three minutes: a slow
    minute followed by a quick one is still seen in the window the status judges."""
    recorder = PlatformRecorder(
        lambda: kpi_store, RegistryReader(), settings.sla_seconds, interval=60, window=180
    )
    minute = now().replace(second=0, microsecond=0)
    ticks = [minute - (4 - i) * WINDOW for i in range(5)]
    transport = httpx.ASGITransport(app=slow_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://slow") as client:
        assert await recorder.tick(ticks[0]) == []
        for number, tick in enumerate(ticks[1:], start=1):
            if number == 3:  # the slow minute: the last but one
                await send_slow_requests(client)
            await asyncio.gather(*(client.get("/fast") for _ in range(20)))
            assert by_code(await recorder.tick(tick))

    data = await gql.data(MEASUREMENTS, {"from": ticks[0].isoformat()})
    items = sorted(data["measurements"]["items"], key=lambda m: m["periodStart"])
    starts = [m["periodStart"] for m in items]
    ends = [m["periodEnd"] for m in items]
    assert starts == [t.isoformat().replace("+00:00", "Z") for t in ticks[:4]] or starts == [
        t.isoformat() for t in ticks[:4]
    ]
    assert starts[1:] == ends[:-1]  # consecutive, never overlapping
    last = items[-1]
    window = last["window"]
    assert (window["periodStart"], window["periodEnd"]) == (starts[1], ends[-1])
    summed = {name: sum(_inputs(m)[name] for m in items[1:]) for name in ("within_sla", "total")}
    assert _inputs(window) == summed
    assert window["value"] == pytest.approx(summed["within_sla"] / summed["total"] * 100)
    latest = data["platform"]["kpis"][0]
    assert latest["measurementId"] == last["id"]
    assert latest["window"]["value"] == pytest.approx(window["value"])
    assert latest["value"] == pytest.approx(last["value"])
    # The last minute alone meets the SLA; the window with the slow minute misses it.
    assert latest["value"] >= 95
    assert window["value"] < 90.25
    assert latest["status"] == "MISSED"
