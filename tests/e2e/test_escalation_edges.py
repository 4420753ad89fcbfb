"""The escalation edges of issue 14 (items 1–4, 11), end to end on the one-process stack.

1. a replaced measurement that still breaches escalates nothing more;
2. the daily no-data reports of one silence escalate once; a new silence escalates again;
3. a shop that was never measured escalates NO_KPI_MONITORING 30 days after its creation
   (kpi reads the shops of a real scoring service);
4. a rule on an unknown KPI is refused; a built-in rule is disabled, not deleted;
11. a roadmap stage's actual dates may not lie in the future.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest

from services.kpi.app import KpiOptions, KpiService
from services.kpi.outbox import DispatcherOptions
from services.runtime.app import build_app
from services.runtime.embedded import free_port
from services.runtime.settings import IntegraSettings
from services.scoring.app import ScoringService
from tests.conftest import GraphQLClient, bearer, signed_jwt

CREATE_SHOP = "mutation($name: String!) { createShop(input: {name: $name}) { id } }"
RISKS = (
    "query($id: ID!) { shop(id: $id) { risks(limit: 50) { items { category "
    "inherent { likelihood } history { eventId } } } } }"
)
MISSING = (
    "mutation($input: MissingKpiDataInput!) { reportMissingKpiData(input: $input) "
    "{ duplicate escalations { category raisedRiskIds createdRiskId } } }"
)


async def _shop(gql: GraphQLClient, name: str) -> str:
    return str((await gql.data(CREATE_SHOP, {"name": name}))["createShop"]["id"])


async def _risks(gql: GraphQLClient, shop: str) -> dict[str, dict[str, Any]]:
    items = (await gql.data(RISKS, {"id": shop}))["shop"]["risks"]["items"]
    return {r["category"]: r for r in items}


async def _delivered(http: httpx.AsyncClient, measurement_id: str, revision: int) -> None:
    for _ in range(200):
        found = (await http.get(f"/kpi/measurements/{measurement_id}")).json()
        if found["revision"] == revision and found["escalation"]["state"] == "DELIVERED":
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"revision {revision} of {measurement_id} not delivered: {found}")


async def test_a_replaced_measurement_that_still_breaches_escalates_nothing_more(
    gql: GraphQLClient, http: httpx.AsyncClient
) -> None:
    shop = await _shop(gql, "Replaced")
    body = {
        "shopId": shop,
        "kpiCode": "sla_compliance",
        "periodStart": "2026-11-01T00:00:00Z",
        "periodEnd": "2026-11-02T00:00:00Z",
        "inputs": {"within_sla": 90, "total": 100},
    }
    first = (await http.post("/kpi/measurements", json=body)).json()
    await _delivered(http, first["id"], 1)
    before = await _risks(gql, shop)
    assert set(before) == {"PERFORMANCE_UX", "VENDOR_RELIABILITY"}

    replaced = await http.post(
        "/kpi/measurements",
        json={**body, "inputs": {"within_sla": 80, "total": 100}, "replace": True, "reason": "x"},
    )
    assert replaced.status_code == 200, replaced.text
    await _delivered(http, first["id"], 2)
    after = await _risks(gql, shop)
    for category, risk in before.items():
        assert after[category]["inherent"] == risk["inherent"]
        assert after[category]["history"] == risk["history"]


async def test_one_silence_escalates_once_and_a_new_silence_again(gql: GraphQLClient) -> None:
    shop = await _shop(gql, "Silent")
    silent_since = "2026-09-01T00:00:00Z"
    outcomes = [
        await gql.data(
            MISSING,
            {
                "input": {
                    "eventId": f"no-data:{shop}:{day}",
                    "shopId": shop,
                    "lastMeasurementAt": silent_since,
                    "asOf": f"2026-10-{day:02d}T00:00:00Z",
                }
            },
        )
        for day in (5, 6, 7)
    ]
    escalated = [o["reportMissingKpiData"]["escalations"] for o in outcomes]
    assert escalated[0][0]["createdRiskId"]
    assert [e[0]["raisedRiskIds"] + [e[0]["createdRiskId"]] for e in escalated[1:]] == [
        [None],
        [None],
    ]
    first = (await _risks(gql, shop))["NO_KPI_MONITORING"]  # created once, not raised daily
    assert [h["eventId"] for h in first["history"] if h["eventId"]] == [f"no-data:{shop}:5"]

    await gql.data(
        MISSING,
        {
            "input": {
                "eventId": f"no-data:{shop}:later",
                "shopId": shop,
                "lastMeasurementAt": "2026-10-20T00:00:00Z",  # data came, then stopped again
                "asOf": "2026-11-25T00:00:00Z",
            }
        },
    )
    again = (await _risks(gql, shop))["NO_KPI_MONITORING"]
    assert again["inherent"]["likelihood"] == first["inherent"]["likelihood"] + 1


@pytest.fixture
async def scoring_and_kpi(
    settings: IntegraSettings,
) -> AsyncIterator[tuple[httpx.AsyncClient, KpiService]]:
    """A real scoring service and a kpi service that reads its shops in process."""
    scoring = ScoringService(settings)
    scoring_app = build_app(scoring, settings, manage_lifecycle=False)
    options = KpiOptions(dispatcher=DispatcherOptions(poll_interval=3600), record_platform=False)
    kpi = KpiService(
        settings,
        risk_base_url=f"http://127.0.0.1:{free_port()}",
        options=options,
        scoring_transport=httpx.ASGITransport(app=scoring_app),
        scoring_base_url="http://scoring",
    )
    await scoring.start()
    await kpi.start()
    headers = bearer(signed_jwt("ADMIN", sub="edges"))
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=scoring_app),
            base_url="http://scoring",
            headers=headers,
        ) as client:
            yield client, kpi
    finally:
        await kpi.stop()
        await scoring.stop()


async def test_a_shop_never_measured_is_silent_from_its_creation(
    scoring_and_kpi: tuple[httpx.AsyncClient, KpiService],
) -> None:
    scoring, kpi = scoring_and_kpi
    created = (await scoring.post("/shops", json={"name": "Never measured"})).json()
    at = datetime.fromisoformat(created["createdAt"])
    assert await kpi.no_data.check_once(at + timedelta(days=29)) == []
    [event_id] = await kpi.no_data.check_once(at + timedelta(days=31))
    assert event_id.startswith(f"no-data:{created['id']}:created-")
    assert await kpi.no_data.check_once(at + timedelta(days=32)) == []  # the same silence


async def test_rules_name_existing_kpis_and_built_in_rules_are_disabled(
    gql: GraphQLClient,
) -> None:
    create = (
        "mutation($code: String!) { createMonitoringRule(input: {kpiCode: $code, comparator: GT,"
        ' threshold: 1, category: "PERSONNEL"}) { id kpiCode } }'
    )
    unknown = await gql.error(create, {"code": "nope"})
    assert unknown["extensions"] == {"code": "VALIDATION_ERROR", "field": "kpiCode"}
    assert "nope" in unknown["message"]
    assert (await gql.data(create, {"code": "churn_rate"}))["createMonitoringRule"]["kpiCode"]
    await gql.data(
        'mutation { createCustomKpi(input: {code: "edge_ratio", name: "Edge ratio", '
        'level: OPERATIONAL, unit: "%", direction: UP, formula: "a / b * 100", '
        'inputs: [{name: "a", kind: COUNT}, {name: "b", kind: COUNT}]}) { code } }'
    )
    custom = (await gql.data(create, {"code": "edge_ratio"}))["createMonitoringRule"]
    assert custom["kpiCode"] == "edge_ratio"

    rules = await gql.data("{ monitoringRules { id builtIn } }")
    built_in = next(r["id"] for r in rules["monitoringRules"] if r["builtIn"])
    refused = await gql.error(
        "mutation($id: ID!) { deleteMonitoringRule(id: $id) { deleted } }", {"id": built_in}
    )
    assert refused["extensions"]["code"] == "CONFLICT"
    assert "disable it" in refused["message"]


async def test_actual_roadmap_dates_may_not_lie_in_the_future(gql: GraphQLClient) -> None:
    shop = await _shop(gql, "Planner")
    stage = (
        "mutation($shop: ID!, $input: UpdateRoadmapStageInput!) { updateRoadmapStage("
        "shopId: $shop, stage: AUDIT, input: $input) { stages { code status actualEnd } } }"
    )
    tomorrow = (datetime.now(UTC).date() + timedelta(days=1)).isoformat()
    future = await gql.error(
        stage, {"shop": shop, "input": {"status": "IN_PROGRESS", "actualStart": tomorrow}}
    )
    assert future["extensions"] == {"code": "VALIDATION_ERROR", "field": "actualStart"}
    done = await gql.data(stage, {"shop": shop, "input": {"status": "DONE"}})
    audit = next(s for s in done["updateRoadmapStage"]["stages"] if s["code"] == "AUDIT")
    assert (audit["status"], audit["actualEnd"]) == ("DONE", date.today().isoformat())
