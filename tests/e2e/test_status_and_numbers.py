"""Issue 14, "Status and numbers", seen where a user saw them: through GraphQL and REST.

Target status at the edge of the inclusive 5 % band, SH and advice gains as the method's tables
show them, derived criteria within the share tolerance, roll-ups of the financial KPIs from
summed inputs, and the profit model's refusal of negative clients and deals.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import GraphQLClient
from tests.e2e.test_kpi_graphql import BASELINE, record, series, shop_kpis
from tests.e2e.test_scoring_graphql import create_shop
from tests.e2e.test_scoring_graphql import record as record_assessment

OCTOBER = ("2026-10-01T00:00:00+00:00", "2026-11-01T00:00:00+00:00")
NOVEMBER = ("2026-11-01T00:00:00+00:00", "2026-12-01T00:00:00+00:00")
PROFIT = "query($i: ProfitIndicatorsInput!) { profit(input: $i) { clients deals revenue } }"
WHAT_IF = (
    "query($i: ProfitWhatIfInput!) { profitWhatIf(input: $i) "
    "{ baseline { profit } contributions { code absolute relative favourable } } }"
)


async def test_values_at_the_edge_of_the_at_risk_band_are_at_risk(gql: GraphQLClient) -> None:
    shop_id = await create_shop(gql, "Edge of the band")
    # 52.5 / 100 = 0.525 against <= 0.5 (band 0.025); 95 / 100 = 0.95 against > 1 (band
    # 0.05); 1805 / 2000 · 100 = 90.25 against >= 95 (band 4.75): all exactly at the edge.
    await record(
        gql,
        shop_id,
        "system_response_time",
        OCTOBER,
        {"total_response_seconds": 52.5, "requests": 100},
    )
    await record(
        gql, shop_id, "operating_cost_reduction", OCTOBER, {"costs_before": 95, "costs_after": 100}
    )
    await record(gql, shop_id, "sla_compliance", OCTOBER, {"within_sla": 1805, "total": 2000})
    await record(gql, shop_id, "process_errors", OCTOBER, {"errors": 5251, "operations": 1000000})
    kpis = await shop_kpis(gql, shop_id)
    assert kpis["system_response_time"]["value"] == 0.525
    assert kpis["system_response_time"]["status"] == "AT_RISK"
    assert kpis["operating_cost_reduction"]["value"] == 0.95
    assert kpis["operating_cost_reduction"]["status"] == "AT_RISK"
    assert kpis["sla_compliance"]["status"] == "AT_RISK"
    # Just beyond the edge (5.251 against <= 5, band 0.25) is still a miss.
    assert kpis["process_errors"]["status"] == "MISSED"


async def test_sh_and_gains_are_shown_as_the_tables_round_them(gql: GraphQLClient) -> None:
    shop_id = await create_shop(gql, "Half up")
    criteria = {"U": 80, "I": 80, "R": 80, "C": 80, "T": 80, "L": 80, "S": 80, "M": 80}
    assessment = await record_assessment(
        gql, shop_id, assessor="a", criteria={**criteria, "E": 25.75}
    )
    assert assessment["sh"] == 54.25
    assert assessment["shRounded"] == 54.3  # was 54.2: half to even on the binary value
    shown = await gql.data(
        "query($id: ID!) { shop(id: $id) { score { shRounded } } "
        "ranking(limit: 100) { items { shopId shRounded } } }",
        {"id": shop_id},
    )
    assert shown["shop"]["score"]["shRounded"] == 54.3
    (entry,) = [e for e in shown["ranking"]["items"] if e["shopId"] == shop_id]
    assert entry["shRounded"] == 54.3

    # U: 0.07 · 30 = 2.1, R: 0.25 · 8.4 = 2.1000000000000014 and T: 0.13 · 30 =
    # 3.9000000000000004 in binary; the noise ranked R before U.
    tied = {**dict.fromkeys(criteria, 100), "U": 70, "R": 91.6, "T": 70, "E": 0}
    advice = (await record_assessment(gql, shop_id, assessor="a", criteria=tied))["advice"]
    assert [(g["criterion"], g["gain"]) for g in advice["gains"]] == [
        ("T", 3.9), ("U", 2.1), ("R", 2.1), ("I", 0.0), ("C", 0.0), ("L", 0.0), ("S", 0.0),
        ("M", 0.0),
    ]  # fmt: skip


async def test_relevance_within_the_share_tolerance_is_accepted(gql: GraphQLClient) -> None:
    shop_id = await create_shop(gql, "Shares within tolerance")
    engines = [
        {"name": "Google", "share": 0.5000000005, "rating": 100},
        {"name": "Bing", "share": 0.5, "rating": 100},
    ]
    assessment = await record_assessment(
        gql,
        shop_id,
        assessor="a",
        criteria={"U": 70, "I": 70, "C": 50, "T": 88, "L": 75, "S": 65, "M": 70, "E": 5},
        relevance={"searchEngines": engines, "catalogues": []},
    )
    relevance = {c["criterion"]: c for c in assessment["criteria"]}["R"]
    assert relevance == {
        "criterion": "R",
        "value": 100.0,
        "band": "EXCELLENT",
        "weight": 0.25,
        "derived": True,
    }


async def test_financial_kpis_roll_up_from_summed_inputs(gql: GraphQLClient) -> None:
    shop_id = await create_shop(gql, "Quarterly ROI")
    await record(gql, shop_id, "integration_roi", OCTOBER, {"profit_delta": 0, "investment": 1000})
    await record(
        gql, shop_id, "integration_roi", NOVEMBER, {"profit_delta": 400, "investment": 2000}
    )
    quarter = await series(gql, shop_id, "integration_roi", "QUARTER")
    (point,) = quarter["points"]
    assert point["value"] == pytest.approx(400 / 3000 * 100)  # was 400 / 2000 = 20 %
    assert {i["name"]: i["value"] for i in point["inputs"]} == {
        "profit_delta": 400,
        "investment": 3000,
    }
    described = await gql.data(
        '{ roi: kpi(code: "integration_roi") { description inputs { name aggregation } } '
        'payback: kpi(code: "payback_period") { description } }'
    )
    assert "the period's own amounts" in described["roi"]["description"]
    assert "not a running total" in described["payback"]["description"]
    assert {i["aggregation"] for i in described["roi"]["inputs"]} == {"SUM"}


async def test_negative_clients_or_deals_are_refused_naming_both_fields(
    gql: GraphQLClient, http: httpx.AsyncClient
) -> None:
    # BASELINE: c · L = 0.2 · 10 000 · 0.05 = 100 new clients, q1 = 3 deals per client. Together
    # churn 150 and rt 4 made (100 − 150) · 100 · (3 − 4) = +5 000 revenue.
    churned = await gql.error(PROFIT, {"i": {**BASELINE, "churn": 150}})
    assert churned["extensions"] == {"code": "VALIDATION_ERROR", "field": "churn"}
    assert "churn (150) may not exceed c · L" in churned["message"]
    assert "(100)" in churned["message"]
    returned = await gql.error(
        WHAT_IF, {"i": {"baseline": BASELINE, "scenario": {**BASELINE, "rt": 4}}}
    )
    assert returned["extensions"] == {"code": "VALIDATION_ERROR", "field": "scenario.rt"}
    assert "rt (4) may not exceed q1 (3)" in returned["message"]
    both = await http.post("/kpi/profit", json={**BASELINE, "churn": 150, "rt": 4})
    assert both.status_code == 422
    error: dict[str, Any] = both.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert error["field"] == "churn"
    at_the_edge = await gql.data(PROFIT, {"i": {**BASELINE, "churn": 100, "rt": 3}})
    assert at_the_edge["profit"] == {"clients": 0, "deals": 0, "revenue": 0}


async def test_relative_contribution_against_a_loss_is_null(gql: GraphQLClient) -> None:
    # BASELINE's profit is 1 500; with cogs 13 000 it loses 1 500. Cutting cogs by 1 000 gains
    # +1 000, which read "+66.7 %" of a loss.
    losing = {**BASELINE, "cogs": 13000}
    answer = await gql.data(
        WHAT_IF, {"i": {"baseline": losing, "scenario": {**losing, "cogs": 12000}}}
    )
    result = answer["profitWhatIf"]
    assert result["baseline"]["profit"] == pytest.approx(-1500)
    assert result["contributions"] == [
        {"code": "cogs", "absolute": pytest.approx(1000), "relative": None, "favourable": True}
    ]
    gaining = await gql.data(
        WHAT_IF, {"i": {"baseline": BASELINE, "scenario": {**BASELINE, "cogs": 9000}}}
    )
    (contribution,) = gaining["profitWhatIf"]["contributions"]
    assert contribution["relative"] == pytest.approx(1000 / 1500 * 100)
