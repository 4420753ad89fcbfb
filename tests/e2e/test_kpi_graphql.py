"""KPIs end to end: GraphQL through the gateway into the kpi service (and risk) over nx-27017.

A user records a month of a shop's integration KPIs, reads its series and statuses, revises a
period, runs the profit model, and sees a breach raise the shop's risks exactly once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.conftest import GraphQLClient
from tests.e2e.test_scoring_graphql import create_shop, metric_value

MEASUREMENT_FIELDS = """
id shopId kpiCode periodStart periodEnd value source reason revision
inputs { name value }
history { revision value reason source inputs { name value } escalation { eventId state } }
escalation { eventId state attempts }
"""
RECORD = (
    "mutation($input: RecordMeasurementInput!) "
    f"{{ recordMeasurement(input: $input) {{ {MEASUREMENT_FIELDS} }} }}"
)
SERIES = (
    "query($shop: ID!, $kpi: String!, $grain: KpiGrain, $from: DateTime, $to: DateTime) "
    "{ kpiSeries(shopId: $shop, kpiCode: $kpi, grain: $grain, from: $from, to: $to) "
    "{ shopId kpiCode grain unit direction kpi { name } "
    "points { periodStart periodEnd value count inputs { name value } } } }"
)
SET_TARGET = (
    "mutation($shop: ID!, $kpi: String!, $input: KpiTargetInput!) "
    "{ setKpiTarget(shopId: $shop, kpiCode: $kpi, input: $input) "
    "{ shopId kpiCode comparator value periodStart periodEnd } }"
)
SHOP_KPIS = (
    "query($id: ID!, $codes: [String!]) { shop(id: $id) { kpis(codes: $codes) { "
    "kpiCode value status fulfilment periodStart periodEnd recordedAt measurementId source "
    "target { comparator value source } kpi { code name unit } } } }"
)
COUNT = "query($shop: ID!) { measurements(shopId: $shop, limit: 1) { totalCount } }"
JUNE = datetime(2026, 6, 1, tzinfo=UTC)  # a Monday: days 1-28 are four ISO weeks


def day(n: int) -> tuple[str, str]:
    """June ``n`` 2026 as (periodStart, periodEnd)."""
    start = JUNE + timedelta(days=n - 1)
    return start.isoformat(), (start + timedelta(days=1)).isoformat()


def week(n: int) -> tuple[str, str]:
    """The n-th week (0-3) of June 2026 as (periodStart, periodEnd)."""
    start = JUNE + timedelta(weeks=n)
    return start.isoformat(), (start + timedelta(weeks=1)).isoformat()


def measurement_input(
    shop_id: str, kpi: str, period: tuple[str, str], inputs: Mapping[str, float], **extra: Any
) -> dict[str, Any]:
    return {
        "shopId": shop_id,
        "kpiCode": kpi,
        "periodStart": period[0],
        "periodEnd": period[1],
        "inputs": [{"name": k, "value": v} for k, v in inputs.items()],
        **extra,
    }


async def record(gql: GraphQLClient, *args: Any, **extra: Any) -> Any:
    data = await gql.data(RECORD, {"input": measurement_input(*args, **extra)})
    return data["recordMeasurement"]


async def series(gql: GraphQLClient, shop_id: str, kpi: str, grain: str, **bounds: str) -> Any:
    variables = {"shop": shop_id, "kpi": kpi, "grain": grain, **bounds}
    return (await gql.data(SERIES, variables))["kpiSeries"]


async def shop_kpis(gql: GraphQLClient, shop_id: str, codes: list[str] | None = None) -> Any:
    data = await gql.data(SHOP_KPIS, {"id": shop_id, "codes": codes})
    return {k["kpiCode"]: k for k in data["shop"]["kpis"]}


async def count(gql: GraphQLClient, shop_id: str) -> int:
    total: int = (await gql.data(COUNT, {"shop": shop_id}))["measurements"]["totalCount"]
    return total


async def delivered(gql: GraphQLClient, measurement_id: str) -> Any:
    """The measurement once its breach event reached the risk service."""
    query = f"query($id: ID!) {{ measurement(id: $id) {{ {MEASUREMENT_FIELDS} }} }}"
    for _ in range(200):
        found = (await gql.data(query, {"id": measurement_id}))["measurement"]
        if found["escalation"]["state"] == "DELIVERED":
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"not delivered: {found}")


def values(inputs: list[dict[str, Any]]) -> dict[str, float]:
    return {i["name"]: i["value"] for i in inputs}


# --- a month of KPIs ------------------------------------------------------------------------

SALES = {n: (n % 7 + 2, 50 * (n % 4 + 1)) for n in range(1, 29)}
"""June n: (successful_transactions, visits)."""


async def test_a_month_of_kpis_series_targets_and_history(gql: GraphQLClient) -> None:
    shop_id = await create_shop(gql, "Month Shop")
    for n, (sales, visits) in SALES.items():
        inputs = {"successful_transactions": sales, "visits": visits}
        first = await record(gql, shop_id, "sales_conversion", day(n), inputs)
        assert first["value"] == pytest.approx(sales / visits * 100)
        assert (first["revision"], first["source"], first["history"]) == (1, "MANUAL", [])
    for n in range(4):
        await record(gql, shop_id, "churn_rate", week(n), {"lost_customers": n, "customers": 200})
        await record(
            gql, shop_id, "team_engagement", week(n), {"active_participants": 6, "team_size": 10}
        )
    assert await count(gql, shop_id) == 28 + 8

    recorded = await series(gql, shop_id, "sales_conversion", "RECORDED")
    assert (recorded["unit"], recorded["direction"]) == ("%", "UP")
    assert recorded["kpi"] == {"name": "sales conversion"}
    assert [p["count"] for p in recorded["points"]] == [1] * 28
    assert recorded["points"][4]["value"] == pytest.approx(SALES[5][0] / SALES[5][1] * 100)

    weekly = await series(gql, shop_id, "sales_conversion", "WEEK")
    assert len(weekly["points"]) == 4
    for index, point in enumerate(weekly["points"]):
        days = range(7 * index + 1, 7 * index + 8)
        sales = sum(SALES[d][0] for d in days)
        visits = sum(SALES[d][1] for d in days)
        assert values(point["inputs"]) == {"successful_transactions": sales, "visits": visits}
        assert point["value"] == pytest.approx(sales / visits * 100)
        assert point["count"] == 7
        assert point["periodStart"] == week(index)[0]
    # Week 0: sales 3+4+5+6+7+8+2 = 35, visits 100+150+200+50+100+150+200 = 950:
    # 35 / 950 · 100 = 3.684 % — not 4.786 %, the mean of the daily percentages.
    assert weekly["points"][0]["value"] == pytest.approx(35 / 950 * 100)
    mean_of_days = sum(SALES[d][0] / SALES[d][1] * 100 for d in range(1, 8)) / 7
    assert mean_of_days == pytest.approx(4.7857, abs=1e-4)

    monthly = await series(gql, shop_id, "sales_conversion", "MONTH")
    [june] = monthly["points"]
    assert (june["periodStart"], june["periodEnd"]) == (
        JUNE.isoformat(),
        datetime(2026, 7, 1, tzinfo=UTC).isoformat(),
    )
    # Sales 4 · 35 = 140; visits 7 · (50 + 100 + 150 + 200) = 3500: 4 %.
    assert values(june["inputs"]) == {"successful_transactions": 140, "visits": 3500}
    assert june["value"] == pytest.approx(4.0)
    churn = await series(gql, shop_id, "churn_rate", "MONTH")
    # lost 0+1+2+3 = 6 over 4 · 200 customer-weeks: 0.75 %.
    assert churn["points"][0]["value"] == pytest.approx(0.75)
    late = await series(
        gql, shop_id, "sales_conversion", "WEEK", **{"from": week(2)[0], "to": week(3)[0]}
    )
    assert [p["periodStart"] for p in late["points"]] == [week(2)[0]]

    # Latest values and statuses: day 28 converts 2 / 50 = 4 %.
    latest = 4.0
    kpis = await shop_kpis(gql, shop_id)
    assert list(kpis) == ["sales_conversion", "team_engagement", "churn_rate"]
    sales_now = kpis["sales_conversion"]
    assert sales_now["value"] == pytest.approx(latest)
    assert (sales_now["status"], sales_now["target"], sales_now["fulfilment"]) == (None, None, None)
    assert sales_now["periodStart"] == day(28)[0]
    assert sales_now["kpi"] == {"code": "sales_conversion", "name": "sales conversion", "unit": "%"}
    team = kpis["team_engagement"]
    assert (team["value"], team["status"]) == (60.0, "MET")
    assert team["target"] == {"comparator": "GTE", "value": 50.0, "source": "DEFAULT"}
    assert team["fulfilment"] == pytest.approx(120.0)

    async def status_with_target(value: float) -> Any:
        target = await gql.data(
            SET_TARGET,
            {
                "shop": shop_id,
                "kpi": "sales_conversion",
                "input": {"comparator": "GTE", "value": value},
            },
        )
        assert target["setKpiTarget"]["value"] == value
        return (await shop_kpis(gql, shop_id, ["sales_conversion"]))["sales_conversion"]

    met = await status_with_target(3.2)
    assert (met["status"], met["target"]["source"]) == ("MET", "SHOP")
    assert met["fulfilment"] == pytest.approx(4 / 3.2 * 100)
    assert (await status_with_target(4.1))["status"] == "AT_RISK"  # misses by 2.4 % < 5 %
    assert (await status_with_target(5.0))["status"] == "MISSED"

    without_data = await shop_kpis(gql, shop_id, ["security_level", "customer_satisfaction"])
    assert without_data["security_level"]["status"] == "NO_DATA"
    assert without_data["security_level"]["value"] is None
    assert without_data["security_level"]["target"]["source"] == "DEFAULT"
    assert without_data["customer_satisfaction"]["status"] is None  # no target at all
    targets = await gql.data(
        "query($s: ID!) { kpiTargets(shopId: $s) { totalCount items { kpiCode value } } }",
        {"s": shop_id},
    )
    assert targets["kpiTargets"]["items"] == [{"kpiCode": "sales_conversion", "value": 5.0}]
    deleted = await gql.data(
        'mutation($s: ID!) { deleteKpiTarget(shopId: $s, kpiCode: "sales_conversion") '
        "{ id deleted } }",
        {"s": shop_id},
    )
    assert deleted["deleteKpiTarget"] == {"id": f"{shop_id}/sales_conversion", "deleted": True}
    assert (await shop_kpis(gql, shop_id, ["sales_conversion"]))["sales_conversion"][
        "status"
    ] is None

    # A period is revised only explicitly; the old revision stays in the history.
    revised_inputs = {"successful_transactions": 20, "visits": 150}
    conflict = await gql.error(
        RECORD,
        {"input": measurement_input(shop_id, "sales_conversion", day(5), revised_inputs)},
    )
    assert conflict["extensions"] == {"code": "CONFLICT", "field": "periodStart"}
    revised = await record(
        gql,
        shop_id,
        "sales_conversion",
        day(5),
        revised_inputs,
        replace=True,
        reason="late orders",
        source="IMPORT",
    )
    assert (revised["revision"], revised["reason"], revised["source"]) == (
        2,
        "late orders",
        "IMPORT",
    )
    assert revised["value"] == pytest.approx(20 / 150 * 100)
    [old] = revised["history"]
    assert (old["revision"], old["source"], old["reason"]) == (1, "MANUAL", None)
    assert values(old["inputs"]) == {"successful_transactions": SALES[5][0], "visits": SALES[5][1]}
    assert revised["escalation"]["eventId"] == f"{revised['id']}:2"
    assert old["escalation"]["eventId"] == revised["id"]
    assert await count(gql, shop_id) == 36
    week0 = (await series(gql, shop_id, "sales_conversion", "WEEK"))["points"][0]
    sales0, visits0 = 35 - 7 + 20, 950 - 100 + 150  # June 5 was 7 of 100
    assert values(week0["inputs"]) == {"successful_transactions": sales0, "visits": visits0}
    assert week0["value"] == pytest.approx(sales0 / visits0 * 100)
    listed = await gql.data(
        "query($s: ID!, $from: DateTime, $to: DateTime) { measurements(shopId: $s, "
        'kpiCode: "sales_conversion", from: $from, to: $to) { totalCount items { id revision '
        "shop { name } kpi { code } } } }",
        {"s": shop_id, "from": day(5)[0], "to": day(6)[0]},
    )
    assert listed["measurements"] == {
        "totalCount": 1,
        "items": [
            {
                "id": revised["id"],
                "revision": 2,
                "shop": {"name": "Month Shop"},
                "kpi": {"code": "sales_conversion"},
            }
        ],
    }


# --- breaches raise risks -------------------------------------------------------------------

SHOP_RISKS = (
    "query($id: ID!) { shop(id: $id) { risks(limit: 50) { totalCount items { id category "
    "inherent { likelihood } history { action eventId kpiCode kpiValue } } } } }"
)


async def test_a_breach_recorded_through_graphql_raises_the_risks_once(
    gql: GraphQLClient, http: httpx.AsyncClient
) -> None:
    shop_id = await create_shop(gql, "Breaching Shop")
    fine = await record(gql, shop_id, "sla_compliance", week(0), {"within_sla": 98, "total": 100})
    breach = await record(gql, shop_id, "sla_compliance", week(1), {"within_sla": 90, "total": 100})
    await delivered(gql, fine["id"])
    await delivered(gql, breach["id"])
    risks = (await gql.data(SHOP_RISKS, {"id": shop_id}))["shop"]["risks"]
    assert sorted(r["category"] for r in risks["items"]) == ["PERFORMANCE_UX", "VENDOR_RELIABILITY"]
    for risk in risks["items"]:
        escalations = [h for h in risk["history"] if h["eventId"]]
        assert [(h["eventId"], h["kpiCode"], h["kpiValue"]) for h in escalations] == [
            (breach["id"], "sla_compliance", 90.0)
        ]

    # The same event delivered again (at least once) changes nothing.
    again = await http.post(
        "/risk/escalations",
        json={
            "eventId": breach["id"],
            "shopId": shop_id,
            "kpiCode": "sla_compliance",
            "value": 90,
            "measuredAt": breach["periodEnd"],
        },
    )
    assert again.status_code in (200, 201), again.text
    assert (await gql.data(SHOP_RISKS, {"id": shop_id}))["shop"]["risks"] == risks

    # A revised breach is a new event of the same measurement: its breach escalated already.
    revised = await record(
        gql,
        shop_id,
        "sla_compliance",
        week(1),
        {"within_sla": 85, "total": 100},
        replace=True,
        reason="recount",
    )
    await delivered(gql, revised["id"])
    after = (await gql.data(SHOP_RISKS, {"id": shop_id}))["shop"]["risks"]
    assert after["totalCount"] == 2
    assert {r["id"] for r in after["items"]} == {r["id"] for r in risks["items"]}
    for risk in after["items"]:
        assert [h["eventId"] for h in risk["history"] if h["eventId"]] == [breach["id"]]
    assert after == risks


# --- validation -----------------------------------------------------------------------------

SLA = {"within_sla": 95, "total": 100}


@pytest.mark.parametrize(
    ("change", "code", "field"),
    [
        ({"inputs": [{"name": "within_sla", "value": 101}, {"name": "total", "value": 100}]},
         "VALIDATION_ERROR", "inputs.within_sla"),
        ({"inputs": [{"name": "within_sla", "value": 9.5}, {"name": "total", "value": 100}]},
         "VALIDATION_ERROR", "inputs.within_sla"),
        ({"inputs": [{"name": "within_sla", "value": 95}]}, "VALIDATION_ERROR", "inputs.total"),
        ({"inputs": [{"name": "within_sla", "value": 0}, {"name": "total", "value": 0}]},
         "VALIDATION_ERROR", "inputs.total"),
        ({"inputs": [{"name": "total", "value": 100}, {"name": "total", "value": 90},
                     {"name": "within_sla", "value": 1}]}, "VALIDATION_ERROR", "inputs.total"),
        ({"inputs": [*({"name": k, "value": v} for k, v in SLA.items()),
                     {"name": "extra", "value": 1}]}, "VALIDATION_ERROR", "inputs.extra"),
        ({"periodEnd": "2026-05-31T00:00:00+00:00"}, "VALIDATION_ERROR", "periodEnd"),
        ({"kpiCode": "no_such_kpi"}, "NOT_FOUND", "kpiCode"),
        ({"replace": True}, "VALIDATION_ERROR", "reason"),
        ({"shopId": "not-a-shop"}, "INVALID_ID", "input.shopId"),
        ({"shopId": "e" * 24}, "NOT_FOUND", "input.shopId"),
    ],
)  # fmt: skip
async def test_invalid_measurements_name_the_field_and_write_nothing(
    gql: GraphQLClient, change: dict[str, Any], code: str, field: str
) -> None:
    shop_id = await create_shop(gql, "Strict Shop")
    good = measurement_input(shop_id, "sla_compliance", day(1), SLA)
    error = await gql.error(RECORD, {"input": {**good, **change}})
    assert error["extensions"] == {"code": code, "field": field}, error
    assert await count(gql, shop_id) == 0
    assert await shop_kpis(gql, shop_id) == {}


async def test_invalid_targets_custom_kpis_and_profit_inputs_name_the_field(
    gql: GraphQLClient,
) -> None:
    shop_id = await create_shop(gql, "Strict Targets")
    half = await gql.error(
        SET_TARGET,
        {
            "shop": shop_id,
            "kpi": "churn_rate",
            "input": {"comparator": "LT", "value": 5, "periodStart": JUNE.isoformat()},
        },
    )
    assert half["extensions"] == {"code": "VALIDATION_ERROR", "field": "periodEnd"}
    unknown = await gql.error(
        SET_TARGET,
        {"shop": shop_id, "kpi": "nope", "input": {"comparator": "LT", "value": 5}},
    )
    assert unknown["extensions"] == {"code": "NOT_FOUND", "field": "kpiCode"}
    targets = await gql.data(
        "query($s: ID!) { kpiTargets(shopId: $s) { totalCount } }", {"s": shop_id}
    )
    assert targets["kpiTargets"]["totalCount"] == 0

    create = (
        "mutation($input: CreateCustomKpiInput!) { createCustomKpi(input: $input) "
        "{ code builtIn formula inputs { name kind aggregation } "
        "defaultTarget { comparator value } parts { part whole } } }"
    )
    custom: dict[str, Any] = {
        "code": "orders_per_visit",
        "name": "Orders per visit",
        "level": "CUSTOMER",
        "unit": "ratio",
        "direction": "UP",
        "formula": "orders / visits",
        "inputs": [{"name": "orders", "kind": "COUNT"}, {"name": "visits", "kind": "COUNT"}],
        "defaultTarget": {"comparator": "GTE", "value": 0.02},
        "parts": [{"part": "orders", "whole": "visits"}],
    }
    hostile = await gql.error(create, {"input": {**custom, "formula": "__import__('os')"}})
    assert hostile["extensions"] == {"code": "VALIDATION_ERROR", "field": "formula"}
    undeclared = await gql.error(create, {"input": {**custom, "inputs": custom["inputs"][:1]}})
    assert undeclared["extensions"] == {"code": "VALIDATION_ERROR", "field": "inputs.visits"}
    builtin = await gql.error(create, {"input": {**custom, "code": "churn_rate"}})
    assert builtin["extensions"]["field"] == "code"
    catalogue = "{ kpiCatalogue { totalCount } }"
    assert (await gql.data(catalogue))["kpiCatalogue"]["totalCount"] == 20

    created = (await gql.data(create, {"input": custom}))["createCustomKpi"]
    assert created["builtIn"] is False
    assert created["inputs"] == [
        {"name": "orders", "kind": "COUNT", "aggregation": "SUM"},
        {"name": "visits", "kind": "COUNT", "aggregation": "SUM"},
    ]
    assert (await gql.data(catalogue))["kpiCatalogue"]["totalCount"] == 21
    used = await record(gql, shop_id, "orders_per_visit", day(1), {"orders": 3, "visits": 60})
    assert used["value"] == pytest.approx(0.05)
    delete = 'mutation { deleteCustomKpi(code: "orders_per_visit") { id deleted } }'
    in_use = await gql.error(delete)
    assert in_use["extensions"] == {"code": "CONFLICT", "field": "code"}
    customer = await gql.data("{ kpiCatalogue(level: CUSTOMER) { totalCount items { code } } }")
    assert customer["kpiCatalogue"]["items"][-1] == {"code": "orders_per_visit"}
    one = await gql.data('{ kpi(code: "sla_compliance") { name unit defaultTarget { value } } }')
    assert one["kpi"] == {"name": "SLA compliance", "unit": "%", "defaultTarget": {"value": 95.0}}
    assert (await gql.data('{ kpi(code: "nope") { name } }'))["kpi"] is None

    bad_c1 = await gql.error(
        "query($i: ProfitWhatIfInput!) { profitWhatIf(input: $i) { profitChange } }",
        {"i": {"baseline": {**BASELINE, "c1": 1.5}, "scenario": SCENARIO}},
    )
    assert bad_c1["extensions"] == {"code": "VALIDATION_ERROR", "field": "baseline.c1"}
    bad_reach = await gql.error(
        "query($i: ProfitIndicatorsInput!) { profit(input: $i) { profit } }",
        {"i": {**BASELINE, "reach": -1}},
    )
    assert bad_reach["extensions"] == {"code": "VALIDATION_ERROR", "field": "reach"}
    bad_months = await gql.error(
        "query($i: FinancialKpisInput!) { financialKpis(input: $i) { profitDelta } }",
        {"i": {"before": BASELINE, "after": SCENARIO, "investment": 1, "months": 0}},
    )
    assert bad_months["extensions"] == {"code": "VALIDATION_ERROR", "field": "months"}


# --- the profit model -----------------------------------------------------------------------

BASELINE = {
    "reach": 10000, "c1": 0.05, "c": 0.2, "churn": 20, "pu": 50, "d": 2, "q1": 3, "rt": 0.5,
    "capex": 1000, "h": 5000, "cogs": 10000, "cac": 2000, "crc": 500,
}  # fmt: skip
SCENARIO = {**BASELINE, "c1": 0.06, "h": 5500, "cogs": 9000}


async def test_profit_and_what_if_worked_by_hand(gql: GraphQLClient) -> None:
    # Baseline (§4.4): L = 10000 · 0.05 = 500; CLs = 0.2 · 500 − 20 = 80; P = 50 · 2 = 100;
    # Qs = 3 − 0.5 = 2.5; LTV = 250; R = 80 · 250 = 20000;
    # TC = 1000 + 5000 + 10000 + 2000 + 500 = 18500; profit = 1500.
    profit = await gql.data(
        "query($i: ProfitIndicatorsInput!) { profit(input: $i) { leads clients averageCheck "
        "deals ltv revenue totalCosts profit indicators { c1 crc } } }",
        {"i": BASELINE},
    )
    assert profit["profit"] == {
        "leads": pytest.approx(500),
        "clients": pytest.approx(80),
        "averageCheck": pytest.approx(100),
        "deals": pytest.approx(2.5),
        "ltv": pytest.approx(250),
        "revenue": pytest.approx(20000),
        "totalCosts": pytest.approx(18500),
        "profit": pytest.approx(1500),
        "indicators": {"c1": 0.05, "crc": 500},
    }
    # Scenario: c1 = 0.06 gives L = 600, CLs = 100, R = 25000; h = 5500 and cogs = 9000 give
    # TC = 18000; profit = 7000, a change of +5500.
    # c1 alone: 25000 − 18500 = 6500 (+5000, +333.3 %); h alone: 20000 − 19000 = 1000
    # (−500, −33.3 %); cogs alone: 20000 − 17500 = 2500 (+1000, +66.7 %).
    # Favourable together (c1, cogs): 25000 − 17500 = 7500; interaction 5500 − 5500 = 0.
    what_if = await gql.data(
        "query($i: ProfitWhatIfInput!) { profitWhatIf(input: $i) { profitChange "
        "baseline { profit } scenario { profit revenue totalCosts } favourableCodes "
        "favourableProfit interaction contributions { code baselineValue scenarioValue "
        "profitAlone absolute relative favourable } } }",
        {"i": {"baseline": BASELINE, "scenario": SCENARIO}},
    )
    result = what_if["profitWhatIf"]
    assert result["baseline"]["profit"] == pytest.approx(1500)
    assert result["scenario"] == {
        "profit": pytest.approx(7000),
        "revenue": pytest.approx(25000),
        "totalCosts": pytest.approx(18000),
    }
    assert result["profitChange"] == pytest.approx(5500)
    assert result["contributions"] == [
        {
            "code": "c1",
            "baselineValue": 0.05,
            "scenarioValue": 0.06,
            "profitAlone": pytest.approx(6500),
            "absolute": pytest.approx(5000),
            "relative": pytest.approx(5000 / 1500 * 100),
            "favourable": True,
        },
        {
            "code": "h",
            "baselineValue": 5000,
            "scenarioValue": 5500,
            "profitAlone": pytest.approx(1000),
            "absolute": pytest.approx(-500),
            "relative": pytest.approx(-500 / 1500 * 100),
            "favourable": False,
        },
        {
            "code": "cogs",
            "baselineValue": 10000,
            "scenarioValue": 9000,
            "profitAlone": pytest.approx(2500),
            "absolute": pytest.approx(1000),
            "relative": pytest.approx(1000 / 1500 * 100),
            "favourable": True,
        },
    ]
    assert result["favourableCodes"] == ["c1", "cogs"]
    assert result["favourableProfit"] == pytest.approx(7500)
    assert result["interaction"] == pytest.approx(0, abs=1e-6)

    # ROI = 5500 / 11000 · 100 = 50 %; payback = 11000 / (5500 per month) = 2 months.
    financial = await gql.data(
        "query($i: FinancialKpisInput!) { financialKpis(input: $i) { profitBefore profitAfter "
        "profitDelta monthlyProfitIncrease integrationRoi { kpiCode value inputs { name value } } "
        "paybackPeriod { kpiCode value } } }",
        {"i": {"before": BASELINE, "after": SCENARIO, "investment": 11000, "months": 1}},
    )
    kpis = financial["financialKpis"]
    assert kpis["profitDelta"] == pytest.approx(5500)
    assert kpis["monthlyProfitIncrease"] == pytest.approx(5500)
    assert kpis["integrationRoi"]["value"] == pytest.approx(50.0)
    assert values(kpis["integrationRoi"]["inputs"]) == {
        "profit_delta": pytest.approx(5500),
        "investment": 11000,
    }
    assert kpis["paybackPeriod"] == {"kpiCode": "payback_period", "value": pytest.approx(2.0)}
    worse = await gql.data(
        "query($i: FinancialKpisInput!) { financialKpis(input: $i) { integrationRoi { value } "
        "paybackPeriod { value } } }",
        {"i": {"before": SCENARIO, "after": BASELINE, "investment": 11000, "months": 1}},
    )
    assert worse["financialKpis"] == {
        "integrationRoi": {"value": pytest.approx(-50.0)},
        "paybackPeriod": None,
    }


# --- batching and federation ----------------------------------------------------------------


async def test_fifty_shops_with_kpis_and_series_cost_one_call_each(
    gql: GraphQLClient, http: httpx.AsyncClient
) -> None:
    for index in range(50):
        shop_id = await create_shop(gql, f"Kpi Shop {index:02}")
        for n in range(2):
            inputs = {"lost_customers": index % 5 + n, "customers": 100}
            await record(gql, shop_id, "churn_rate", week(n), inputs)
    before = (await http.get("/metrics")).text
    data = await gql.data(
        "{ shops(limit: 50) { items { name kpis { kpiCode value status kpi { unit } } "
        'kpiSeries(kpiCode: "churn_rate", grain: MONTH) { points { value count } } } } }'
    )
    after = (await http.get("/metrics")).text
    shops = data["shops"]["items"]
    assert len(shops) == 50
    for index, shop in enumerate(shops):
        assert shop["name"] == f"Kpi Shop {index:02}"
        [kpi] = shop["kpis"]
        assert (kpi["kpiCode"], kpi["value"], kpi["kpi"]) == (
            "churn_rate",
            pytest.approx(index % 5 + 1),
            {"unit": "%"},
        )
        # (lost 2·(index mod 5) + 1) over 200 customer-weeks.
        assert shop["kpiSeries"]["points"] == [
            {"value": pytest.approx((2 * (index % 5) + 1) / 200 * 100), "count": 2}
        ]

    def calls(route: str, text: str) -> float:
        return metric_value(text, "gateway_service_calls_total", service="kpi", route=route)

    for route in ("/latest", "/series/batch", "/catalogue"):
        assert calls(route, after) - calls(route, before) == 1, route


async def test_a_page_reads_each_distinct_kpi_selection_once_and_keeps_directives(
    gql: GraphQLClient, http: httpx.AsyncClient
) -> None:
    for index in range(3):
        shop_id = await create_shop(gql, f"Page Kpis {index}")
        await record(gql, shop_id, "churn_rate", week(0), {"lost_customers": 1, "customers": 50})
        await record(
            gql, shop_id, "average_check", week(0), {"revenue": 1000.0, "transactions": 10.0}
        )
    before = (await http.get("/metrics")).text
    data = await gql.data(
        "query($codes: [String!], $no: Boolean!) { shops(limit: 3) { items { name "
        "all: kpis { kpiCode } churn: kpis(codes: $codes) { kpiCode value } "
        '...More hidden: kpis(codes: ["average_check"]) @include(if: $no) { kpiCode } } } } '
        'fragment More on Shop { again: kpis(codes: ["churn_rate", "churn_rate"]) { kpiCode } }',
        {"codes": ["churn_rate"], "no": False},
    )
    after = (await http.get("/metrics")).text
    for index, shop in enumerate(data["shops"]["items"]):
        assert shop == {
            "name": f"Page Kpis {index}",
            "all": [{"kpiCode": "average_check"}, {"kpiCode": "churn_rate"}],
            "churn": [{"kpiCode": "churn_rate", "value": pytest.approx(2.0)}],
            "again": [{"kpiCode": "churn_rate"}],
        }
    # Every KPI, and churn_rate alone (named twice, through a variable and a fragment); not
    # the field left out by its directive.
    latest = metric_value(after, "gateway_service_calls_total", service="kpi", route="/latest")
    was = metric_value(before, "gateway_service_calls_total", service="kpi", route="/latest")
    assert latest - was == 2


async def test_a_page_whose_kpis_fail_still_answers_its_shops(gql: GraphQLClient) -> None:
    await create_shop(gql, "Page Kpis Fail")
    answer = await gql(  # the kpi service refuses a code over 64 characters
        "query($codes: [String!]) { shops(limit: 1) { items { name kpis(codes: $codes) { "
        "kpiCode } } } }",
        {"codes": ["x" * 65]},
    )
    assert answer["data"] == {"shops": {"items": [{"name": "Page Kpis Fail", "kpis": None}]}}
    [error] = answer["errors"]
    assert error["path"] == ["shops", "items", 0, "kpis"]
    assert error["extensions"]["code"] == "VALIDATION_ERROR"


async def test_measurements_resolve_through_entities_in_one_call(
    gql: GraphQLClient, http: httpx.AsyncClient
) -> None:
    shop_id = await create_shop(gql, "Federated Kpis")
    first = await record(
        gql, shop_id, "churn_rate", week(0), {"lost_customers": 1, "customers": 50}
    )
    second = await record(
        gql,
        "platform",
        "process_errors",
        week(0),
        {"errors": 1, "operations": 1000},
        reason="an ADMIN backfills the platform scope",
    )
    before = (await http.get("/metrics")).text
    data = await gql.data(
        "query($r: [_Any!]!) { _entities(representations: $r) { "
        "... on KpiMeasurement { id kpiCode value shop { name } } } }",
        {
            "r": [
                {"__typename": "KpiMeasurement", "id": first["id"]},
                {"__typename": "KpiMeasurement", "id": "e" * 24},
                {"__typename": "KpiMeasurement", "id": second["id"]},
            ]
        },
    )
    after = (await http.get("/metrics")).text
    assert data["_entities"] == [
        {
            "id": first["id"],
            "kpiCode": "churn_rate",
            "value": 2.0,
            "shop": {"name": "Federated Kpis"},
        },
        None,
        {"id": second["id"], "kpiCode": "process_errors", "value": 1.0, "shop": None},
    ]
    calls = metric_value(
        after, "gateway_service_calls_total", service="kpi", route="/measurements"
    ) - metric_value(before, "gateway_service_calls_total", service="kpi", route="/measurements")
    assert calls == 1
    sdl = (await gql.data("{ _service { sdl } }"))["_service"]["sdl"]
    assert 'type KpiMeasurement @key(fields: "id")' in sdl


async def test_the_batched_series_route_answers_each_scope_once(
    gql: GraphQLClient, http: httpx.AsyncClient
) -> None:
    shop_id = await create_shop(gql, "Series Batch")
    empty = "d" * 24
    for n in range(3):
        await record(gql, shop_id, "churn_rate", week(n), {"lost_customers": n, "customers": 10})
    response = await http.get(
        "/kpi/series/batch",
        params=[
            ("shopIds", shop_id),
            ("shopIds", empty),
            ("shopIds", shop_id),
            ("shopIds", "platform"),
            ("kpiCode", "churn_rate"),
            ("grain", "MONTH"),
        ],
    )
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    assert [i["shopId"] for i in items] == [shop_id, empty, "platform"]
    assert items[0]["points"][0]["inputs"] == {"lost_customers": 3.0, "customers": 30.0}
    assert items[0]["points"][0]["value"] == pytest.approx(10.0)
    assert items[1]["points"] == items[2]["points"] == []
    unknown = await http.get("/kpi/series/batch", params={"shopIds": shop_id, "kpiCode": "nope"})
    assert (unknown.status_code, unknown.json()["error"]["field"]) == (404, "kpiCode")
    too_many = await http.get(
        "/kpi/series/batch",
        params={"shopIds": [f"{i:024x}" for i in range(101)], "kpiCode": "churn_rate"},
    )
    assert (too_many.status_code, too_many.json()["error"]["field"]) == (422, "shopIds")
