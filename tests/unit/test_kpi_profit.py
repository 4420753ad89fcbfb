"""The profit model of an online store and its what-if analysis (§4.4)."""

from __future__ import annotations

import math
from dataclasses import fields, replace

import pytest

from services.kpi.domain import CATALOGUE
from services.kpi.measuring import compute_value
from services.kpi.profit import (
    INDICATOR_CODES,
    ProfitIndicators,
    average_check,
    clients,
    deals,
    integration_roi_inputs,
    leads,
    ltv,
    monthly_profit_increase,
    payback_period_inputs,
    profit,
    profit_delta,
    revenue,
    total_costs,
    what_if,
)
from services.runtime.errors import ValidationFailed

# The month before automation (worked by hand):
#   L   = reach · c1          = 10 000 · 0.05      = 500 leads
#   CLs = c · L − churn       = 0.2 · 500 − 20     = 80 clients
#   P   = pu · d              = 50 · 2             = 100 per check
#   Qs  = q1 − rt             = 3 − 0.5            = 2.5 deals per client
#   LTV = P · Qs              = 100 · 2.5          = 250
#   R   = CLs · LTV           = 80 · 250           = 20 000
#   TC  = 1000 + 5000 + 8000 + 2000 + 1000         = 17 000
#   profit = R − TC                                = 3 000
BASELINE = ProfitIndicators(
    reach=10_000,
    c1=0.05,
    c=0.2,
    churn=20,
    pu=50,
    d=2,
    q1=3,
    rt=0.5,
    capex=1_000,
    h=5_000,
    cogs=8_000,
    cac=2_000,
    crc=1_000,
)

# The month after automation: better sales conversion (c 0.2 → 0.25), fewer lost clients
# (churn 20 → 10), a higher price (pu 50 → 55), but more personnel costs (h 5000 → 5500) and
# capital expenditure (capex 1000 → 1500).
#   CLs = 0.25 · 500 − 10 = 115;  LTV = 55 · 2 · 2.5 = 275;  R = 115 · 275 = 31 625
#   TC  = 1500 + 5500 + 8000 + 2000 + 1000 = 18 000;  profit = 13 625
SCENARIO = replace(BASELINE, c=0.25, churn=10, pu=55, h=5_500, capex=1_500)


def test_the_indicators_are_the_thirteen_of_the_specification() -> None:
    assert INDICATOR_CODES == (
        "reach", "c1", "c", "churn", "pu", "d", "q1", "rt", "capex", "h", "cogs", "cac", "crc",
    )  # fmt: skip
    assert tuple(f.name for f in fields(ProfitIndicators)) == INDICATOR_CODES


def test_every_formula_on_the_baseline() -> None:
    assert leads(BASELINE) == pytest.approx(500)
    assert clients(BASELINE) == pytest.approx(80)
    assert average_check(BASELINE) == pytest.approx(100)
    assert deals(BASELINE) == pytest.approx(2.5)
    assert ltv(BASELINE) == pytest.approx(250)
    assert revenue(BASELINE) == pytest.approx(20_000)
    assert total_costs(BASELINE) == pytest.approx(17_000)
    assert profit(BASELINE) == pytest.approx(3_000)


def test_revenue_is_the_expanded_formula_of_the_specification() -> None:
    # R = (reach · c1 · c − churn) · pu · d · (q1 − rt)
    ind = ProfitIndicators(
        reach=1234, c1=0.3, c=0.7, churn=11, pu=9.5, d=1.7, q1=2.2, rt=0.4,
        capex=1, h=2, cogs=3, cac=4, crc=5,
    )  # fmt: skip
    expected = (1234 * 0.3 * 0.7 - 11) * 9.5 * 1.7 * (2.2 - 0.4)
    assert revenue(ind) == pytest.approx(expected)
    assert profit(ind) == pytest.approx(expected - 15)


def test_every_formula_on_the_scenario() -> None:
    assert clients(SCENARIO) == pytest.approx(115)
    assert ltv(SCENARIO) == pytest.approx(275)
    assert revenue(SCENARIO) == pytest.approx(31_625)
    assert total_costs(SCENARIO) == pytest.approx(18_000)
    assert profit(SCENARIO) == pytest.approx(13_625)


def test_churn_above_new_clients_and_returns_above_deals_are_refused() -> None:
    # 0.2 · 500 − 150 would be −50 clients; 3 − 4 would be −1 deal per client; both together
    # would have multiplied into a positive revenue.
    with pytest.raises(ValidationFailed) as churn:
        replace(BASELINE, churn=150)
    assert churn.value.field == "churn"
    assert "churn (150) may not exceed c · L" in churn.value.message
    assert "(100)" in churn.value.message
    with pytest.raises(ValidationFailed) as returns:
        replace(BASELINE, rt=4)
    assert returns.value.field == "rt"
    assert "rt (4) may not exceed q1 (3)" in returns.value.message
    with pytest.raises(ValidationFailed):
        replace(BASELINE, churn=150, rt=4)


def test_churn_equal_to_new_clients_and_returns_equal_to_deals_are_zero() -> None:
    none_left = replace(BASELINE, churn=100, rt=3)
    assert clients(none_left) == pytest.approx(0)
    assert deals(none_left) == 0
    assert revenue(none_left) == pytest.approx(0)
    # c · L as written (0.3 · 100 = 30) even where its binary product rounds the other way.
    assert clients(replace(BASELINE, reach=1000, c1=0.1, c=0.3, churn=30)) == pytest.approx(0)


# ------------------------------------------------------------------------------------------
# Validation
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("code", INDICATOR_CODES)
def test_no_indicator_may_be_negative(code: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        replace(BASELINE, **{code: -0.1})
    assert caught.value.field == code


@pytest.mark.parametrize("code", ["c1", "c"])
def test_conversions_are_fractions(code: str) -> None:
    with pytest.raises(ValidationFailed, match="between 0 and 1") as caught:
        replace(BASELINE, **{code: 1.01})
    assert caught.value.field == code
    assert getattr(replace(BASELINE, **{code: 1}), code) == 1
    assert getattr(replace(BASELINE, churn=0, **{code: 0}), code) == 0


@pytest.mark.parametrize("code", INDICATOR_CODES)
@pytest.mark.parametrize("bad", [math.nan, math.inf, 10**400])
def test_indicators_must_be_finite(code: str, bad: float) -> None:
    with pytest.raises(ValidationFailed, match="finite") as caught:
        replace(BASELINE, **{code: bad})
    assert caught.value.field == code


@pytest.mark.parametrize("bad", [True, "5", None])
def test_indicators_must_be_numbers(bad: object) -> None:
    with pytest.raises(ValidationFailed, match="must be a number") as caught:
        replace(BASELINE, reach=bad)  # type: ignore[arg-type]
    assert caught.value.field == "reach"


def test_indicators_are_stored_as_floats() -> None:
    assert isinstance(BASELINE.reach, float)


def test_from_mapping_and_as_dict_round_trip() -> None:
    assert ProfitIndicators.from_mapping(BASELINE.as_dict()) == BASELINE
    assert list(BASELINE.as_dict()) == list(INDICATOR_CODES)


def test_from_mapping_rejects_missing_and_unknown_indicators() -> None:
    values = BASELINE.as_dict()
    del values["cogs"]
    with pytest.raises(ValidationFailed, match="indicator cogs is required") as caught:
        ProfitIndicators.from_mapping(values)
    assert caught.value.field == "cogs"
    with pytest.raises(ValidationFailed, match="unknown indicator tax") as caught:
        ProfitIndicators.from_mapping({**BASELINE.as_dict(), "tax": 1})
    assert caught.value.field == "tax"


def test_an_overflowing_model_is_a_clear_error() -> None:
    huge = replace(BASELINE, reach=1e300, c1=1, c=1, churn=0, pu=1e300)
    with pytest.raises(ValidationFailed, match="not a finite number") as caught:
        profit(huge)
    assert caught.value.field == "indicators"


# ------------------------------------------------------------------------------------------
# What-if analysis
# ------------------------------------------------------------------------------------------


def test_what_if_worked_by_hand() -> None:
    result = what_if(BASELINE, SCENARIO)
    assert result.baseline_profit == pytest.approx(3_000)
    assert result.scenario_profit == pytest.approx(13_625)
    assert result.profit_change == pytest.approx(10_625)

    by_code = {item.code: item for item in result.contributions}
    # Only the changed indicators, in specification order.
    assert [item.code for item in result.contributions] == ["c", "churn", "pu", "capex", "h"]

    # c alone: CLs = 0.25 · 500 − 20 = 105; R = 105 · 250 = 26 250; profit = 26 250 − 17 000
    #   = 9 250; contribution 9 250 − 3 000 = 6 250 = 208.33 % of 3 000.
    c = by_code["c"]
    assert (c.baseline_value, c.scenario_value) == (0.2, 0.25)
    assert c.profit_alone == pytest.approx(9_250)
    assert c.absolute == pytest.approx(6_250)
    assert c.relative == pytest.approx(6_250 / 3_000 * 100)
    assert c.favourable

    # churn alone: CLs = 100 − 10 = 90; R = 90 · 250 = 22 500; profit 5 500; +2 500 (83.33 %).
    churn = by_code["churn"]
    assert churn.profit_alone == pytest.approx(5_500)
    assert churn.absolute == pytest.approx(2_500)
    assert churn.relative == pytest.approx(250 / 3)
    assert churn.favourable

    # pu alone: LTV = 55 · 2 · 2.5 = 275; R = 80 · 275 = 22 000; profit 5 000; +2 000 (66.67 %).
    pu = by_code["pu"]
    assert pu.profit_alone == pytest.approx(5_000)
    assert pu.absolute == pytest.approx(2_000)
    assert pu.relative == pytest.approx(200 / 3)

    # h alone: TC = 17 500; profit 2 500; −500 (−16.67 %): unfavourable. Same for capex.
    for code in ("h", "capex"):
        item = by_code[code]
        assert item.profit_alone == pytest.approx(2_500)
        assert item.absolute == pytest.approx(-500)
        assert item.relative == pytest.approx(-50 / 3)
        assert not item.favourable

    # All favourable changes (c, churn, pu) together, costs at baseline:
    #   CLs = 115, LTV = 275, R = 31 625, TC = 17 000, profit = 14 625.
    assert result.favourable_codes == ("c", "churn", "pu")
    assert result.favourable_profit == pytest.approx(14_625)

    # Sum of contributions = 6 250 + 2 500 + 2 000 − 500 − 500 = 9 750; the change is 10 625,
    # so the interaction is 875 = ΔCLs · ΔLTV = 35 · 25 (more clients buying at a higher price).
    assert result.interaction == pytest.approx(875)
    total = sum(item.absolute for item in result.contributions) + result.interaction
    assert total == pytest.approx(result.profit_change)


def test_what_if_without_changes() -> None:
    result = what_if(BASELINE, BASELINE)
    assert result.contributions == ()
    assert result.favourable_profit == result.baseline_profit == result.scenario_profit
    assert result.profit_change == 0
    assert result.interaction == 0


def test_what_if_with_purely_additive_changes_has_no_interaction() -> None:
    result = what_if(BASELINE, replace(BASELINE, cogs=7_000, crc=1_500))
    assert result.interaction == pytest.approx(0)
    assert result.favourable_codes == ("cogs",)
    assert result.favourable_profit == pytest.approx(4_000)


def test_relative_contribution_is_none_when_the_baseline_breaks_even() -> None:
    # Baseline revenue 20 000; raising cogs by 3 000 makes total costs 20 000 and profit 0.
    even = replace(BASELINE, cogs=11_000)
    assert profit(even) == pytest.approx(0)
    result = what_if(even, replace(even, cogs=10_000))
    (item,) = result.contributions
    assert item.absolute == pytest.approx(1_000)
    assert item.relative is None


def test_relative_contribution_is_none_when_the_baseline_loses_money() -> None:
    # +1 000 against a loss of 2 000 is no readable percentage (it was "+50 %"; a change of
    # +19 600 against a loss of 2 000 read "980 %").
    losing = replace(BASELINE, cogs=13_000)  # profit −2 000
    result = what_if(losing, replace(losing, cogs=12_000))  # +1 000
    (item,) = result.contributions
    assert item.absolute == pytest.approx(1_000)
    assert item.relative is None
    assert item.favourable


def test_a_one_indicator_combination_may_shrink_the_client_base() -> None:
    # Scenario: reach 10 000 → 1 000 and churn 20 → 5 (valid: 0.2 · 50 = 10 ≥ 5). Reach alone
    # against the baseline's churn of 20 gives 10 − 20 = −10 clients: revenue −2 500, profit
    # −21 000, as the formulas say; only one factor of revenue can turn negative that way.
    result = what_if(BASELINE, replace(BASELINE, reach=1_000, churn=5))
    reach, churn = result.contributions
    assert reach.profit_alone == pytest.approx(-2_500 - 17_000)
    assert churn.profit_alone == pytest.approx(95 * 250 - 17_000)
    assert not reach.favourable
    assert churn.favourable


def test_favourable_profit_is_the_baseline_when_nothing_improves() -> None:
    result = what_if(BASELINE, replace(BASELINE, h=6_000, reach=9_000))
    assert result.favourable_codes == ()
    assert result.favourable_profit == pytest.approx(result.baseline_profit)


def test_a_change_with_no_effect_on_profit_is_listed_but_not_favourable() -> None:
    # With no net clients (c · L = churn), a better price changes nothing.
    flat = replace(BASELINE, churn=100)
    result = what_if(flat, replace(flat, pu=80))
    (item,) = result.contributions
    assert item.code == "pu"
    assert item.absolute == 0
    assert not item.favourable


# ------------------------------------------------------------------------------------------
# Financial KPIs from two periods
# ------------------------------------------------------------------------------------------


def test_profit_delta_and_monthly_increase() -> None:
    assert profit_delta(BASELINE, SCENARIO) == pytest.approx(10_625)
    assert profit_delta(SCENARIO, BASELINE) == pytest.approx(-10_625)
    assert monthly_profit_increase(BASELINE, SCENARIO, 1) == pytest.approx(10_625)
    assert monthly_profit_increase(BASELINE, SCENARIO, 3) == pytest.approx(10_625 / 3)


@pytest.mark.parametrize("months", [0, -1, math.nan, math.inf])
def test_the_period_length_must_be_positive_and_finite(months: float) -> None:
    with pytest.raises(ValidationFailed) as caught:
        monthly_profit_increase(BASELINE, SCENARIO, months)
    assert caught.value.field == "months"


def test_integration_roi_inputs_feed_the_kpi() -> None:
    inputs = integration_roi_inputs(BASELINE, SCENARIO, investment=50_000)
    assert inputs == pytest.approx({"profit_delta": 10_625, "investment": 50_000})
    # ROI = 10 625 / 50 000 · 100 = 21.25 %
    assert compute_value(CATALOGUE["integration_roi"], inputs) == pytest.approx(21.25)


def test_integration_roi_may_be_negative() -> None:
    inputs = integration_roi_inputs(SCENARIO, BASELINE, investment=50_000)
    assert compute_value(CATALOGUE["integration_roi"], inputs) == pytest.approx(-21.25)


def test_payback_period_inputs_feed_the_kpi() -> None:
    inputs = payback_period_inputs(BASELINE, SCENARIO, investment=50_000, months=1)
    assert inputs == pytest.approx({"investment": 50_000, "monthly_profit_increase": 10_625})
    # payback = 50 000 / 10 625 = 4.706 months
    assert compute_value(CATALOGUE["payback_period"], inputs) == pytest.approx(50_000 / 10_625)


@pytest.mark.parametrize("investment", [0, -1, math.inf])
def test_the_investment_must_be_positive_and_finite(investment: float) -> None:
    with pytest.raises(ValidationFailed) as caught:
        integration_roi_inputs(BASELINE, SCENARIO, investment)
    assert caught.value.field == "investment"
    with pytest.raises(ValidationFailed) as caught:
        payback_period_inputs(BASELINE, SCENARIO, investment, months=1)
    assert caught.value.field == "investment"


@pytest.mark.parametrize("after", [BASELINE, replace(BASELINE, h=6_000)])
def test_no_payback_without_a_profit_increase(after: ProfitIndicators) -> None:
    with pytest.raises(ValidationFailed, match="never pays back") as caught:
        payback_period_inputs(BASELINE, after, investment=10_000, months=1)
    assert caught.value.field == "monthly_profit_increase"
