"""Risk end to end: GraphQL through the gateway into the risk service and nx-27017.

Breach events are also posted straight to the risk service (``/risk/escalations`` in the
one-process stack), as the kpi service will deliver them: at least once, possibly twice.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.conftest import GraphQLClient
from tests.e2e.test_scoring_graphql import create_shop, metric_value

RISK_FIELDS = """
id shopId category group title owner status allowedTransitions version
nextReviewAt reviewOverdue
inherent { likelihood likelihoodCode impact impactCode score level }
residual { likelihood impact score level }
actions { id text owner dueAt done doneAt overdue }
history { actor { clientId role kind } onBehalfOf action reason ruleId kpiCode kpiValue eventId
          changes { field before after } }
"""
CREATE = f"mutation($input: CreateRiskInput!) {{ createRisk(input: $input) {{ {RISK_FIELDS} }} }}"
STATUS = (
    "mutation($id: ID!, $input: ChangeRiskStatusInput!) "
    f"{{ changeRiskStatus(id: $id, input: $input) {{ {RISK_FIELDS} }} }}"
)
UPDATE = (
    "mutation($id: ID!, $input: UpdateRiskInput!) "
    f"{{ updateRisk(id: $id, input: $input) {{ {RISK_FIELDS} }} }}"
)
GET = f"query($id: ID!) {{ risk(id: $id) {{ {RISK_FIELDS} }} }}"
SHOP_RISKS = (
    "query($id: ID!, $f: RiskFilter) { shop(id: $id) { risks(filter: $f, limit: 50) "
    f"{{ totalCount items {{ {RISK_FIELDS} }} }} }} }}"
)
STAGE = (
    "mutation($shop: ID!, $stage: StageCode!, $input: UpdateRoadmapStageInput!) "
    "{ updateRoadmapStage(shopId: $shop, stage: $stage, input: $input) "
    "{ stages { code status actualStart actualEnd slippageDays slips } } }"
)
REPORT = (
    "mutation($input: KpiMeasurementInput!) { reportKpiMeasurement(input: $input) "
    "{ eventId duplicate escalations { category ruleId step raisedRiskIds createdRiskId } } }"
)

ADMIN_ACTOR = {"clientId": "jwt:test-admin", "role": "ADMIN", "kind": "JWT"}
"""The caller of the ``gql`` fixture, as history records it."""


async def create_risk(gql: GraphQLClient, shop_id: str, category: str, **extra: Any) -> Any:
    risk = {
        "shopId": shop_id,
        "category": category,
        "title": f"{category.lower()} risk",
        "owner": "Olga Owner",
        "inherent": {"likelihood": 2},
        "changedBy": "Ann Auditor",
        **extra,
    }
    return (await gql.data(CREATE, {"input": risk}))["createRisk"]


async def shop_risks(gql: GraphQLClient, shop_id: str, **filters: Any) -> Any:
    data = await gql.data(SHOP_RISKS, {"id": shop_id, "f": filters or None})
    return data["shop"]["risks"]


async def transition(gql: GraphQLClient, risk_id: str, status: str, reason: str = "ok") -> Any:
    return await gql(
        STATUS, {"id": risk_id, "input": {"status": status, "reason": reason, "changedBy": "Bob"}}
    )


def measurement(shop_id: str, event_id: str, kpi: str, value: float) -> dict[str, Any]:
    return {
        "eventId": event_id,
        "shopId": shop_id,
        "kpiCode": kpi,
        "value": value,
        "measuredAt": "2025-03-01T12:00:00+00:00",
    }


# --- catalogue and register -----------------------------------------------------------------


async def test_a_register_is_built_from_the_catalogue(gql: GraphQLClient) -> None:
    catalogue = (
        await gql.data(
            "{ riskCatalogue { groups { code categories { code } } "
            "categories { code group name defaultImpact defaultImpactLevel preventiveActions } } }"
        )
    )["riskCatalogue"]
    assert [g["code"] for g in catalogue["groups"]] == [
        "TECHNOLOGICAL",
        "CYBER",
        "ORGANIZATIONAL",
        "FINANCIAL",
        "ANALYTICAL",
    ]
    assert len(catalogue["categories"]) == 10
    cyber = next(g for g in catalogue["groups"] if g["code"] == "CYBER")
    assert [c["code"] for c in cyber["categories"]] == ["DATA_SECURITY", "COMPLIANCE"]

    shop_id = await create_shop(gql, "Register Store")
    for category in catalogue["categories"]:
        risk = await create_risk(gql, shop_id, category["code"])
        assert risk["group"] == category["group"]
        assert risk["inherent"]["impactCode"] == category["defaultImpactLevel"]
        assert risk["status"] == "IDENTIFIED"
        assert risk["history"][0]["onBehalfOf"] == "Ann Auditor"
        assert risk["history"][0]["actor"] == ADMIN_ACTOR
        assert risk["history"][0]["action"] == "CREATED"
    register = await shop_risks(gql, shop_id)
    assert register["totalCount"] == 10
    scores = [r["inherent"]["score"] for r in register["items"]]
    assert scores == sorted(scores, reverse=True)
    cyber_risks = await shop_risks(gql, shop_id, group=["CYBER"])
    assert {r["category"] for r in cyber_risks["items"]} == {"DATA_SECURITY", "COMPLIANCE"}
    high = await shop_risks(gql, shop_id, level=["MEDIUM"], category=["DATA_QUALITY"])
    assert [r["inherent"]["score"] for r in high["items"]] == [8]

    page = await gql.data(
        "query($s: ID!) { risks(shopId: $s, sort: TITLE, order: ASC, limit: 3, offset: 1) "
        "{ totalCount limit offset items { title } } }",
        {"s": shop_id},
    )
    titles = sorted(f"{c['code'].lower()} risk" for c in catalogue["categories"])
    assert [r["title"] for r in page["risks"]["items"]] == titles[1:4]
    assert page["risks"]["totalCount"] == 10


async def test_lifecycle_with_history_actions_and_a_rejected_transition(
    gql: GraphQLClient,
) -> None:
    shop_id = await create_shop(gql, "Lifecycle Store")
    risk = await create_risk(gql, shop_id, "DATA_SECURITY", inherent={"likelihood": 4, "impact": 5})
    assert risk["inherent"]["level"] == "CRITICAL"
    assert risk["allowedTransitions"] == ["ASSESSED"]
    for status in ("ASSESSED", "MITIGATING"):
        answer = await transition(gql, risk["id"], status, f"to {status}")
        assert not answer.get("errors"), answer
    rejected = await transition(gql, risk["id"], "CLOSED")
    error = rejected["errors"][0]
    assert error["extensions"] == {"code": "INVALID_TRANSITION", "field": "status"}
    assert "MITIGATING to CLOSED" in error["message"]
    before = (await gql.data(GET, {"id": risk["id"]}))["risk"]
    assert before["status"] == "MITIGATING"
    assert len(before["history"]) == 3

    added = await gql.data(
        'mutation($id: ID!) { addMitigationAction(riskId: $id, input: {text: "Enable MFA", '
        'owner: "Ivan", dueAt: "2020-02-01", changedBy: "Bob"}) { actions { id overdue } } }',
        {"id": risk["id"]},
    )
    action = added["addMitigationAction"]["actions"][0]
    assert action["overdue"] is True
    overdue = await gql.data(
        "query($s: ID!) { riskOverdue(shopId: $s) { actions { riskId action { text } } } }",
        {"s": shop_id},
    )
    assert overdue["riskOverdue"]["actions"] == [
        {"riskId": risk["id"], "action": {"text": "Enable MFA"}}
    ]
    done = await gql.data(
        "mutation($r: ID!, $a: ID!) { updateMitigationAction(riskId: $r, actionId: $a, "
        'input: {done: true, changedBy: "Ivan", reason: "rolled out"}) '
        "{ actions { done doneAt overdue } } }",
        {"r": risk["id"], "a": action["id"]},
    )
    completed = done["updateMitigationAction"]["actions"][0]
    assert completed["done"] is True
    assert completed["doneAt"] is not None
    assert completed["overdue"] is False

    updated = (
        await gql.data(
            UPDATE,
            {
                "id": risk["id"],
                "input": {
                    "residual": {"likelihood": 2},
                    "changedBy": "Carol",
                    "reason": "MFA in place",
                },
            },
        )
    )["updateRisk"]
    assert updated["residual"] == {"likelihood": 2, "impact": 5, "score": 10, "level": "HIGH"}
    for status in ("MONITORING", "CLOSED", "IDENTIFIED"):
        answer = await transition(gql, risk["id"], status)
        assert not answer.get("errors"), answer
    history = (await gql.data(GET, {"id": risk["id"]}))["risk"]["history"]
    assert [h["action"] for h in history] == [
        "CREATED",
        "STATUS_CHANGED",
        "STATUS_CHANGED",
        "ACTION_ADDED",
        "ACTION_UPDATED",
        "UPDATED",
        "STATUS_CHANGED",
        "STATUS_CHANGED",
        "STATUS_CHANGED",
    ]
    assert history[1]["changes"] == [
        {"field": "status", "before": "IDENTIFIED", "after": "ASSESSED"}
    ]
    assert history[1]["reason"] == "to ASSESSED"
    assert history[5]["onBehalfOf"] == "Carol"
    assert {h["actor"]["clientId"] for h in history} == {ADMIN_ACTOR["clientId"]}
    assert {"field": "residual.likelihood", "before": None, "after": "2"} in history[5]["changes"]


# --- bad input: a stable code naming the field, nothing written ------------------------------


async def risk_count(gql: GraphQLClient) -> int:
    return int((await gql.data("{ risks(limit: 1) { totalCount } }"))["risks"]["totalCount"])


@pytest.mark.parametrize(
    ("change", "code", "field"),
    [
        ({"inherent": {"likelihood": 6}}, "VALIDATION_ERROR", "inherent.likelihood"),
        ({"inherent": {"likelihood": 2, "impact": 0}}, "VALIDATION_ERROR", "inherent.impact"),
        ({"category": "ALIENS"}, "VALIDATION_ERROR", "category"),
        (
            {"inherent": {"likelihood": 2, "impact": 2}, "residual": {"likelihood": 3}},
            "VALIDATION_ERROR",
            "residual",
        ),
        ({"residual": {"likelihood": 1, "impact": 9}}, "VALIDATION_ERROR", "residual.impact"),
        ({"title": "  "}, "VALIDATION_ERROR", "title"),
        ({"shopId": "0" * 24}, "NOT_FOUND", "input.shopId"),
        ({"shopId": '{"$ne": 1}'}, "INVALID_ID", "input.shopId"),
    ],
)
async def test_invalid_risk_is_rejected_and_nothing_is_written(
    gql: GraphQLClient, change: dict[str, Any], code: str, field: str
) -> None:
    shop_id = await create_shop(gql, "Strict Store")
    risk = {
        "shopId": shop_id,
        "category": "DATA_QUALITY",
        "title": "t",
        "owner": "o",
        "inherent": {"likelihood": 2},
        "changedBy": "x",
        **change,
    }
    error = await gql.error(CREATE, {"input": risk})
    assert error["extensions"] == {"code": code, "field": field}
    assert "Traceback" not in error["message"]
    assert await risk_count(gql) == 0


async def test_invalid_update_leaves_the_risk_unchanged(gql: GraphQLClient) -> None:
    shop_id = await create_shop(gql, "Update Store")
    risk = await create_risk(gql, shop_id, "PERSONNEL", residual={"likelihood": 2})
    above = await gql.error(
        UPDATE, {"id": risk["id"], "input": {"inherent": {"likelihood": 1}, "changedBy": "x"}}
    )
    assert above["extensions"] == {"code": "VALIDATION_ERROR", "field": "residual"}
    out_of_range = await gql.error(
        UPDATE, {"id": risk["id"], "input": {"inherent": {"likelihood": 0}, "changedBy": "x"}}
    )
    assert out_of_range["extensions"]["field"] == "inherent.likelihood"
    missing = await gql.error(UPDATE, {"id": "f" * 24, "input": {"title": "new", "changedBy": "x"}})
    assert missing["extensions"]["code"] == "NOT_FOUND"
    after = (await gql.data(GET, {"id": risk["id"]}))["risk"]
    assert after["version"] == risk["version"]
    assert after["history"] == risk["history"]


# --- views ----------------------------------------------------------------------------------


async def test_matrix_and_summary_of_a_shop(gql: GraphQLClient) -> None:
    shop_id = await create_shop(gql, "Matrix Store")
    await create_risk(gql, shop_id, "DATA_QUALITY", inherent={"likelihood": 5, "impact": 5})
    await create_risk(
        gql,
        shop_id,
        "API_INCOMPATIBILITY",
        inherent={"likelihood": 3},
        residual={"likelihood": 1, "impact": 2},
    )
    closed = await create_risk(gql, shop_id, "COMPLIANCE")
    for status in ("ASSESSED", "ACCEPTED", "CLOSED"):
        await transition(gql, closed["id"], status)
    data = await gql.data(
        "query($id: ID!) { shop(id: $id) { "
        "inherent: riskMatrix { kind cells total unassessed } "
        "residual: riskMatrix(kind: RESIDUAL) { kind cells total unassessed } } "
        "riskSummary(shopId: $id) { total byLevel { level count } "
        "byGroup { group total byLevel { level count } } } }",
        {"id": shop_id},
    )
    inherent = data["shop"]["inherent"]
    assert inherent["total"] == 2
    assert inherent["cells"][4][4] == 1
    assert inherent["cells"][2][3] == 1
    assert sum(map(sum, inherent["cells"])) == 2
    residual = data["shop"]["residual"]
    assert residual["cells"][0][1] == 1
    assert (residual["total"], residual["unassessed"]) == (1, 1)
    summary = data["riskSummary"]
    assert summary["total"] == 2
    assert {c["level"]: c["count"] for c in summary["byLevel"]} == {
        "LOW": 0,
        "MEDIUM": 0,
        "HIGH": 1,
        "CRITICAL": 1,
    }
    technological = next(g for g in summary["byGroup"] if g["group"] == "TECHNOLOGICAL")
    assert technological["total"] == 2


async def test_overdue_reviews_as_of_a_day(gql: GraphQLClient) -> None:
    shop_id = await create_shop(gql, "Review Store")
    late = await create_risk(gql, shop_id, "PERSONNEL", nextReviewAt="2021-06-01")
    await create_risk(gql, shop_id, "COMPLIANCE", nextReviewAt="2999-06-01")
    assert late["reviewOverdue"] is True
    query = (
        "query($s: ID!, $d: Date) { riskOverdue(shopId: $s, asOf: $d) "
        "{ asOf reviews { id } actions { riskId } } }"
    )
    now = await gql.data(query, {"s": shop_id, "d": None})
    assert [r["id"] for r in now["riskOverdue"]["reviews"]] == [late["id"]]
    earlier = await gql.data(query, {"s": shop_id, "d": "2021-06-01"})
    assert earlier["riskOverdue"]["reviews"] == []


# --- roadmap --------------------------------------------------------------------------------


async def test_roadmap_order_rule_and_a_slip_escalating_once(gql: GraphQLClient) -> None:
    shop_id = await create_shop(gql, "Roadmap Store")
    roadmap = await gql.data(
        "query($id: ID!) { shop(id: $id) { roadmap { stages { code number status slips } } } }",
        {"id": shop_id},
    )
    stages = roadmap["shop"]["roadmap"]["stages"]
    assert [s["code"] for s in stages] == ["AUDIT", "ARCHITECTURE", "MVP", "SCALING", "MONITORING"]
    assert {s["status"] for s in stages} == {"NOT_STARTED"}

    early = await gql.error(
        STAGE, {"shop": shop_id, "stage": "ARCHITECTURE", "input": {"status": "DONE"}}
    )
    assert early["extensions"] == {"code": "INVALID_TRANSITION", "field": "status"}
    bad_dates = await gql.error(
        STAGE,
        {
            "shop": shop_id,
            "stage": "AUDIT",
            "input": {"status": "DONE", "actualStart": "2024-02-01", "actualEnd": "2024-01-01"},
        },
    )
    assert bad_dates["extensions"] == {"code": "VALIDATION_ERROR", "field": "actualEnd"}
    unknown = await gql.error(
        STAGE, {"shop": "0" * 24, "stage": "AUDIT", "input": {"status": "IN_PROGRESS"}}
    )
    assert unknown["extensions"] == {"code": "NOT_FOUND", "field": "shopId"}
    untouched = await gql.data(
        "query($s: ID!) { roadmap(shopId: $s) { stages { status } } }", {"s": shop_id}
    )
    assert {s["status"] for s in untouched["roadmap"]["stages"]} == {"NOT_STARTED"}
    assert await risk_count(gql) == 0

    started = await gql.data(
        STAGE,
        {
            "shop": shop_id,
            "stage": "AUDIT",
            "input": {"status": "IN_PROGRESS", "actualStart": "2024-01-01", "changedBy": "PM"},
        },
    )
    audit = started["updateRoadmapStage"]["stages"][0]
    assert audit["slips"] is True
    assert audit["slippageDays"] > 0
    overrun = await shop_risks(gql, shop_id, category=["FINANCIAL_OVERRUN"])
    assert overrun["totalCount"] == 1
    risk = overrun["items"][0]
    assert risk["status"] == "IDENTIFIED"
    assert risk["history"][0]["actor"] == ADMIN_ACTOR  # the caller whose write escalated
    assert risk["history"][0]["onBehalfOf"] is None
    assert risk["history"][0]["ruleId"] == "roadmap-slippage"
    assert risk["history"][0]["eventId"] == f"slip:{shop_id}:AUDIT"

    # Further changes and checks of the same slipping stage do not escalate again.
    finished = await gql.data(
        STAGE,
        {"shop": shop_id, "stage": "AUDIT", "input": {"status": "DONE", "actualEnd": "2024-03-01"}},
    )
    assert finished["updateRoadmapStage"]["stages"][0]["slippageDays"] == 60 - 21
    check = await gql.data(
        "mutation($s: ID!) { checkRoadmapSlippage(shopId: $s) { duplicate } }", {"s": shop_id}
    )
    assert check["checkRoadmapSlippage"] == [{"duplicate": True}]
    again = await shop_risks(gql, shop_id, category=["FINANCIAL_OVERRUN"])
    assert again["items"][0]["inherent"] == risk["inherent"]
    assert len(again["items"][0]["history"]) == 1
    architecture = await gql.data(
        STAGE, {"shop": shop_id, "stage": "ARCHITECTURE", "input": {"status": "DONE"}}
    )
    assert architecture["updateRoadmapStage"]["stages"][1]["status"] == "DONE"


# --- monitoring rules and escalations -------------------------------------------------------


async def test_a_breach_delivered_twice_escalates_once(
    gql: GraphQLClient, http: httpx.AsyncClient
) -> None:
    shop_id = await create_shop(gql, "Breach Store")
    slow = await create_risk(gql, shop_id, "PERFORMANCE_UX", inherent={"likelihood": 2})
    metrics_before = (await http.get("/metrics")).text
    event = measurement(shop_id, "measurement-1", "sla_compliance", 90.0)
    first = await http.post("/risk/escalations", json=event)
    second = await http.post("/risk/escalations", json=event)
    assert first.status_code == second.status_code == 200
    assert first.json()["duplicate"] is False
    assert second.json()["duplicate"] is True
    assert second.json()["escalations"] == first.json()["escalations"]
    by_category = {e["category"]: e for e in first.json()["escalations"]}
    assert by_category["PERFORMANCE_UX"]["raisedRiskIds"] == [slow["id"]]
    created_id = by_category["VENDOR_RELIABILITY"]["createdRiskId"]
    assert created_id is not None

    # A third delivery, through GraphQL this time, is still the same measurement.
    third = await gql.data(REPORT, {"input": event})
    assert third["reportKpiMeasurement"]["duplicate"] is True

    raised = (await gql.data(GET, {"id": slow["id"]}))["risk"]
    assert raised["inherent"]["likelihood"] == 3
    assert raised["inherent"]["level"] == "HIGH"
    entry = raised["history"][-1]
    assert entry["action"] == "ESCALATED"
    assert entry["actor"] == ADMIN_ACTOR  # the caller whose write escalated
    assert entry["onBehalfOf"] is None
    assert entry["ruleId"] == "default-sla_compliance-PERFORMANCE_UX"
    assert entry["kpiCode"] == "sla_compliance"
    assert entry["kpiValue"] == 90.0
    assert entry["eventId"] == "measurement-1"
    assert entry["changes"] == [{"field": "inherent.likelihood", "before": "2", "after": "3"}]
    assert len(raised["history"]) == 2

    metrics_after = (await http.get("/metrics")).text

    def escalations(text: str, category: str) -> float:
        return metric_value(text, "risk_escalations_total", category=category, source="kpi_rule")

    for category in ("PERFORMANCE_UX", "VENDOR_RELIABILITY"):
        assert escalations(metrics_after, category) - escalations(metrics_before, category) == 1


async def test_an_escalation_creates_a_risk_when_none_is_open(gql: GraphQLClient) -> None:
    shop_id = await create_shop(gql, "Empty Store")
    outcome = await gql.data(REPORT, {"input": measurement(shop_id, "m-1", "security_level", 2)})
    escalation = outcome["reportKpiMeasurement"]["escalations"]
    assert [(e["category"], e["raisedRiskIds"]) for e in escalation] == [("DATA_SECURITY", [])]
    created = (await gql.data(GET, {"id": escalation[0]["createdRiskId"]}))["risk"]
    assert created["status"] == "IDENTIFIED"
    assert created["owner"] is None
    assert created["inherent"]["likelihoodCode"] == "LIKELY"  # POSSIBLE raised by one step
    assert created["inherent"]["impactCode"] == "MAJOR"  # the category's default (HIGH)
    assert created["history"][0]["actor"] == ADMIN_ACTOR  # the caller whose write escalated
    assert created["history"][0]["onBehalfOf"] is None
    assert created["history"][0]["kpiValue"] == 2
    # A value within the threshold escalates nothing.
    calm = await gql.data(REPORT, {"input": measurement(shop_id, "m-2", "security_level", 0)})
    assert calm["reportKpiMeasurement"]["escalations"] == []
    assert (await shop_risks(gql, shop_id))["totalCount"] == 1


async def test_rules_are_editable_and_drive_escalation(gql: GraphQLClient) -> None:
    rules = (await gql.data("{ monitoringRules { id kpiCode comparator threshold builtIn } }"))[
        "monitoringRules"
    ]
    assert len(rules) == 8
    assert all(r["builtIn"] for r in rules)
    roi = "default-integration_roi-FINANCIAL_OVERRUN"
    edited = await gql.data(
        "mutation($id: ID!) { updateMonitoringRule(id: $id, input: {threshold: 10, "
        "likelihoodStep: 2}) { threshold likelihoodStep description } }",
        {"id": roi},
    )
    assert edited["updateMonitoringRule"]["threshold"] == 10
    custom = await gql.data(
        'mutation { createMonitoringRule(input: {kpiCode: "churn_rate", comparator: GT, '
        'threshold: 20, category: "PERSONNEL"}) { id builtIn enabled } }'
    )
    custom_id = custom["createMonitoringRule"]["id"]
    bad_step = await gql.error(
        'mutation { createMonitoringRule(input: {kpiCode: "x", comparator: GT, threshold: 1, '
        'category: "PERSONNEL", likelihoodStep: 5}) { id } }'
    )
    assert bad_step["extensions"] == {"code": "VALIDATION_ERROR", "field": "likelihoodStep"}
    bad_category = await gql.error(
        'mutation { createMonitoringRule(input: {kpiCode: "x", comparator: GT, threshold: 1, '
        'category: "NOPE"}) { id } }'
    )
    assert bad_category["extensions"] == {"code": "VALIDATION_ERROR", "field": "category"}
    built_in = await gql.error(
        "mutation($id: ID!) { deleteMonitoringRule(id: $id) { deleted } }", {"id": roi}
    )
    assert built_in["extensions"]["code"] == "CONFLICT"

    shop_id = await create_shop(gql, "Rule Store")
    risk = await create_risk(gql, shop_id, "FINANCIAL_OVERRUN", inherent={"likelihood": 1})
    await gql.data(REPORT, {"input": measurement(shop_id, "roi-1", "integration_roi", 5)})
    await gql.data(REPORT, {"input": measurement(shop_id, "churn-1", "churn_rate", 25)})
    raised = (await gql.data(GET, {"id": risk["id"]}))["risk"]
    assert raised["inherent"]["likelihood"] == 3  # the edited threshold and step
    assert (await shop_risks(gql, shop_id, category=["PERSONNEL"]))["totalCount"] == 1
    deleted = await gql.data(
        "mutation($id: ID!) { deleteMonitoringRule(id: $id) { deleted } }", {"id": custom_id}
    )
    assert deleted["deleteMonitoringRule"]["deleted"] is True
    assert await gql.data(
        "query($id: ID!) { monitoringRule(id: $id) { id } }", {"id": custom_id}
    ) == {"monitoringRule": None}


async def test_no_kpi_data_for_30_days_escalates_and_platform_risks(gql: GraphQLClient) -> None:
    query = (
        "mutation($input: MissingKpiDataInput!) { reportMissingKpiData(input: $input) "
        "{ duplicate escalations { category createdRiskId } } }"
    )
    recent = datetime.now(UTC) - timedelta(days=3)
    fresh = await gql.data(
        query,
        {
            "input": {
                "eventId": "nd-1",
                "shopId": "platform",
                "lastMeasurementAt": recent.isoformat(),
            }
        },
    )
    assert fresh["reportMissingKpiData"]["escalations"] == []
    stale = await gql.data(
        query, {"input": {"eventId": "nd-2", "shopId": "platform", "lastMeasurementAt": None}}
    )
    [escalation] = stale["reportMissingKpiData"]["escalations"]
    assert escalation["category"] == "NO_KPI_MONITORING"
    platform = await gql.data(
        'query { risks(shopId: "platform") { totalCount items { id shopId shop { id } } } }'
    )
    assert platform["risks"]["totalCount"] == 1
    assert platform["risks"]["items"][0]["shop"] is None
    assert platform["risks"]["items"][0]["id"] == escalation["createdRiskId"]


# --- federation, batching and metrics -------------------------------------------------------


async def test_risk_entities_resolve_through_entities(gql: GraphQLClient) -> None:
    shop_id = await create_shop(gql, "Federated Risks")
    risk = await create_risk(gql, shop_id, "COMPLIANCE")
    data = await gql.data(
        "query($r: [_Any!]!) { _entities(representations: $r) { "
        "... on Risk { id title shop { name } } } }",
        {"r": [{"__typename": "Risk", "id": risk["id"]}, {"__typename": "Risk", "id": "e" * 24}]},
    )
    assert data["_entities"] == [
        {"id": risk["id"], "title": "compliance risk", "shop": {"name": "Federated Risks"}},
        None,
    ]


async def test_fifty_shops_with_risks_cost_one_call_per_risk_read(
    gql: GraphQLClient, http: httpx.AsyncClient
) -> None:
    for index in range(50):
        shop_id = await create_shop(gql, f"Risky {index:02}")
        await create_risk(gql, shop_id, "DATA_QUALITY", inherent={"likelihood": 1 + index % 5})
    before = (await http.get("/metrics")).text
    data = await gql.data(
        "{ shops(limit: 50) { items { name "
        "risks(filter: {group: [TECHNOLOGICAL]}) { totalCount items { inherent { score } } } "
        "riskMatrix { total } roadmap { stages { status } } } } }"
    )
    after = (await http.get("/metrics")).text
    shops = data["shops"]["items"]
    assert len(shops) == 50
    assert all(s["risks"]["totalCount"] == 1 for s in shops)
    assert all(s["riskMatrix"]["total"] == 1 for s in shops)
    assert all(len(s["roadmap"]["stages"]) == 5 for s in shops)

    def calls(route: str, text: str) -> float:
        return metric_value(text, "gateway_service_calls_total", service="risk", route=route)

    def served(route: str, text: str) -> float:
        return metric_value(
            text, "http_server_request_duration_seconds_count", service="risk", http_route=route
        )

    for route in ("/risks", "/matrix", "/roadmaps"):
        assert calls(route, after) - calls(route, before) == 1, route
        # In one process the gateway calls the risk use cases directly: no HTTP request.
        assert served(route, after) == served(route, before), route


async def test_risk_metrics_readiness_and_direct_api(http: httpx.AsyncClient) -> None:
    ready = await http.get("/readyz")
    assert ready.json()["checks"] == {"database": True}
    assert ready.json()["services"] == {"scoring": True, "risk": True, "kpi": True}
    assert (await http.get("/risk/readyz")).json()["checks"] == {"database": True}
    missing = await http.get("/risk/risks/" + "f" * 24)
    assert missing.status_code == 404
    assert missing.json()["error"]["field"] == "risk_id"
    bad_scope = await http.get("/risk/shops/nope/roadmap")
    assert bad_scope.json()["error"]["code"] == "INVALID_ID"
    text = (await http.get("/metrics")).text
    assert (
        metric_value(
            text,
            "http_server_request_duration_seconds_count",
            service="risk",
            http_route="/risks/{risk_id}",
            http_request_method="GET",
            http_response_status_code="404",
        )
        >= 1
    )
    assert "f" * 24 not in text
