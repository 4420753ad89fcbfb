"""Issue 14, items 1–4 and 11, through the one-process stack: each breach escalates once
(replaced measurements, daily no-data checks, shops never measured), monitoring rules name
real KPIs, and roadmap stages never start or end in the future."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest

from services.kpi.app import KpiService
from services.runtime.settings import IntegraSettings
from services.stack import create_stack_app
from tests.conftest import GraphQLClient
from tests.e2e.test_risk_graphql import STAGE
from tests.e2e.test_scoring_graphql import create_shop

SHOP = "e" * 24
MISSING = (
    "mutation($input: MissingKpiDataInput!) { reportMissingKpiData(input: $input) "
    "{ duplicate escalations { category createdRiskId raisedRiskIds escalatedByEvent } } }"
)


async def _risks(http: httpx.AsyncClient, shop_id: str) -> dict[str, int]:
    answer = await http.get("/risk/risks", params={"shopId": shop_id, "limit": 100})
    assert answer.status_code == 200, answer.text
    return {r["category"]: r["inherent"]["likelihood"] for r in answer.json()["items"]}


async def _delivered(http: httpx.AsyncClient, measurement_id: str, event_id: str) -> None:
    for _ in range(150):
        got = (await http.get(f"/kpi/measurements/{measurement_id}")).json()
        if got["escalation"]["eventId"] == event_id and got["escalation"]["state"] == "DELIVERED":
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{event_id} not delivered: {got}")


async def test_a_replaced_measurement_that_still_breaches_escalates_nothing_more(
    http: httpx.AsyncClient,
) -> None:
    body: dict[str, Any] = {
        "shopId": SHOP,
        "kpiCode": "sla_compliance",
        "periodStart": "2026-11-01T00:00:00Z",
        "periodEnd": "2026-11-02T00:00:00Z",
        "inputs": {"within_sla": 90, "total": 100},
    }
    first = (await http.post("/kpi/measurements", json=body)).json()
    await _delivered(http, first["id"], first["id"])
    escalated = await _risks(http, SHOP)
    assert escalated == {"PERFORMANCE_UX": 4, "VENDOR_RELIABILITY": 4}

    replaced = await http.post(
        "/kpi/measurements",
        json={**body, "inputs": {"within_sla": 80, "total": 100}, "replace": True, "reason": "fix"},
    )
    assert replaced.status_code in (200, 201), replaced.text
    await _delivered(http, first["id"], f"{first['id']}:2")
    assert await _risks(http, SHOP) == escalated  # was 4 → 5: escalated twice
    # A measurement of another period is another breach.
    other = {**body, "periodStart": "2026-11-02T00:00:00Z", "periodEnd": "2026-11-03T00:00:00Z"}
    second = (await http.post("/kpi/measurements", json=other)).json()
    await _delivered(http, second["id"], second["id"])
    assert await _risks(http, SHOP) == {"PERFORMANCE_UX": 5, "VENDOR_RELIABILITY": 5}


async def test_one_silence_escalates_once_however_many_days_it_is_reported(
    gql: GraphQLClient,
) -> None:
    shop_id = await create_shop(gql, "Silent Store")
    last = (datetime.now(UTC) - timedelta(days=40)).isoformat()
    day_1 = await gql.data(
        MISSING, {"input": {"eventId": "nd-day-1", "shopId": shop_id, "lastMeasurementAt": last}}
    )
    [first] = day_1["reportMissingKpiData"]["escalations"]
    assert first["createdRiskId"] is not None
    day_2 = await gql.data(
        MISSING, {"input": {"eventId": "nd-day-2", "shopId": shop_id, "lastMeasurementAt": last}}
    )
    [again] = day_2["reportMissingKpiData"]["escalations"]
    assert again == {
        "category": "NO_KPI_MONITORING",
        "createdRiskId": None,
        "raisedRiskIds": [],
        "escalatedByEvent": "nd-day-1",
    }
    # Data arrived and stopped again: a new silence escalates.
    later = (datetime.now(UTC) - timedelta(days=31)).isoformat()
    new_silence = await gql.data(
        MISSING, {"input": {"eventId": "nd-day-3", "shopId": shop_id, "lastMeasurementAt": later}}
    )
    [raised] = new_silence["reportMissingKpiData"]["escalations"]
    assert raised["raisedRiskIds"] == [first["createdRiskId"]]


async def test_a_shop_never_measured_is_silent_from_its_creation(gql: GraphQLClient) -> None:
    shop_id = await create_shop(gql, "Unmeasured Store")
    young = (datetime.now(UTC) - timedelta(days=10)).isoformat()
    fresh = await gql.data(
        MISSING,
        {
            "input": {
                "eventId": "nd-young",
                "shopId": shop_id,
                "lastMeasurementAt": None,
                "shopCreatedAt": young,
            }
        },
    )
    assert fresh["reportMissingKpiData"]["escalations"] == []
    old = (datetime.now(UTC) - timedelta(days=31)).isoformat()
    stale = await gql.data(
        MISSING,
        {
            "input": {
                "eventId": "nd-old",
                "shopId": shop_id,
                "lastMeasurementAt": None,
                "shopCreatedAt": old,
            }
        },
    )
    [escalation] = stale["reportMissingKpiData"]["escalations"]
    assert escalation["category"] == "NO_KPI_MONITORING"


@pytest.fixture
async def stack(
    settings: IntegraSettings, admin: dict[str, str]
) -> AsyncIterator[tuple[KpiService, httpx.AsyncClient]]:
    """The one-process stack, its kpi component and a client sending an ADMIN credential."""
    app = create_stack_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://integra", headers=admin
        ) as client:
            yield app.state.components["kpi"], client


async def _eventually_risks(http: httpx.AsyncClient, shop_id: str) -> dict[str, int]:
    for _ in range(100):
        risks = await _risks(http, shop_id)
        if risks:
            return risks
        await asyncio.sleep(0.1)
    raise AssertionError(f"no risk of {shop_id} escalated")


async def test_the_no_data_check_escalates_a_shop_never_measured_30_days_after_creation(
    stack: tuple[KpiService, httpx.AsyncClient],
) -> None:
    kpi, http = stack
    gql = GraphQLClient(http)
    shop_id = await create_shop(gql, "Never Measured Store")
    measured = await create_shop(gql, "Measured Store")
    end = (datetime.now(UTC) + timedelta(hours=1)).replace(microsecond=0, tzinfo=None).isoformat()
    recorded = await http.post(
        "/kpi/measurements",
        json={
            "shopId": measured,
            "kpiCode": "security_level",
            "periodStart": datetime.now(UTC).replace(microsecond=0).isoformat(),
            "periodEnd": (datetime.now(UTC) + timedelta(hours=1))
            .replace(microsecond=0)
            .isoformat(),
            "inputs": {"vulnerabilities": 0, "incidents": 0},
        },
    )
    assert recorded.status_code == 201, recorded.text
    enqueued = await kpi.no_data.check_once(datetime.now(UTC) + timedelta(days=29))
    assert [e for e in enqueued if measured in e or shop_id in e] == []
    enqueued = await kpi.no_data.check_once(datetime.now(UTC) + timedelta(days=31))
    [event_id] = [e for e in enqueued if shop_id in e]
    assert event_id.startswith(f"no-data:{shop_id}:created-")
    # The measured shop's silence counts from its data, never from its creation.
    assert [e for e in enqueued if measured in e] == [f"no-data:{measured}:{end}Z"]
    assert await _eventually_risks(http, shop_id) == {"NO_KPI_MONITORING": 4}
    # The next days' checks report the same silence: nothing more.
    later = await kpi.no_data.check_once(datetime.now(UTC) + timedelta(days=32))
    assert not [e for e in later if shop_id in e]
    await asyncio.sleep(0.3)
    assert await _risks(http, shop_id) == {"NO_KPI_MONITORING": 4}


async def test_a_rule_names_a_kpi_and_a_built_in_rule_is_disabled_not_deleted(
    gql: GraphQLClient, http: httpx.AsyncClient
) -> None:
    create = (
        "mutation($kpi: String!) { createMonitoringRule(input: {kpiCode: $kpi, comparator: GT, "
        'threshold: 1, category: "PERSONNEL"}) { id kpiCode } }'
    )
    unknown = await gql.error(create, {"kpi": "nope"})
    assert unknown["extensions"] == {"code": "VALIDATION_ERROR", "field": "kpiCode"}
    assert "nope" in unknown["message"]
    rest = await http.post(
        "/risk/rules",
        json={"kpiCode": "nope", "comparator": "GT", "threshold": 1, "category": "PERSONNEL"},
    )
    assert rest.status_code == 422, rest.text
    assert rest.json()["error"]["field"] == "kpiCode"
    custom = await http.post(
        "/kpi/catalogue",
        json={
            "code": "orders_per_visit",
            "name": "Orders per visit",
            "level": "STRATEGIC",
            "unit": "ratio",
            "direction": "UP",
            "formula": "orders / visits",
            "inputs": {"orders": "COUNT", "visits": "COUNT"},
        },
    )
    assert custom.status_code == 201, custom.text
    rule = await gql.data(create, {"kpi": "orders_per_visit"})
    assert rule["createMonitoringRule"]["kpiCode"] == "orders_per_visit"
    rule_id = rule["createMonitoringRule"]["id"]
    edit = await gql.error(
        'mutation($id: ID!) { updateMonitoringRule(id: $id, input: {kpiCode: "nope"}) { id } }',
        {"id": rule_id},
    )
    assert edit["extensions"] == {"code": "VALIDATION_ERROR", "field": "kpiCode"}

    built_in = "default-integration_roi-FINANCIAL_OVERRUN"
    refused = await gql.error(
        "mutation($id: ID!) { deleteMonitoringRule(id: $id) { deleted } }", {"id": built_in}
    )
    assert refused["extensions"]["code"] == "CONFLICT"
    assert "disable it" in refused["message"]
    disabled = await gql.data(
        "mutation($id: ID!) { updateMonitoringRule(id: $id, input: {enabled: false}) { enabled } }",
        {"id": built_in},
    )
    assert disabled["updateMonitoringRule"]["enabled"] is False


async def test_a_stage_never_starts_or_ends_in_the_future(gql: GraphQLClient) -> None:
    shop_id = await create_shop(gql, "Roadmap Dates Store")
    tomorrow = (datetime.now(UTC).date() + timedelta(days=1)).isoformat()
    future = await gql.error(
        STAGE,
        {
            "shop": shop_id,
            "stage": "AUDIT",
            "input": {"status": "IN_PROGRESS", "actualStart": tomorrow},
        },
    )
    assert future["extensions"] == {"code": "VALIDATION_ERROR", "field": "actualStart"}
    today = datetime.now(UTC).date()
    started = (today - timedelta(days=5)).isoformat()
    await gql.data(
        STAGE,
        {
            "shop": shop_id,
            "stage": "AUDIT",
            "input": {"status": "IN_PROGRESS", "actualStart": started},
        },
    )
    late_end = await gql.error(
        STAGE,
        {"shop": shop_id, "stage": "AUDIT", "input": {"status": "DONE", "actualEnd": tomorrow}},
    )
    assert late_end["extensions"] == {"code": "VALIDATION_ERROR", "field": "actualEnd"}
    # DONE without actualEnd ends today, as the schema says.
    done = await gql.data(STAGE, {"shop": shop_id, "stage": "AUDIT", "input": {"status": "DONE"}})
    audit = done["updateRoadmapStage"]["stages"][0]
    assert (audit["status"], audit["actualStart"], audit["actualEnd"]) == (
        "DONE",
        started,
        date.isoformat(datetime.now(UTC).date()),
    )
