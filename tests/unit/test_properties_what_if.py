"""Properties of the profit model's what-if attribution (domain.md §4.4).

Changing nothing changes nothing; each contribution is the profit with that one indicator at
its scenario value minus the baseline profit (computed here from the formula of §4.4 written
out in full); the contributions and the interaction add up to the change; no valid period has
negative clients or deals.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from services.kpi.profit import (
    INDICATOR_CODES,
    ProfitIndicators,
    clients,
    deals,
    profit,
    what_if,
)
from services.runtime.errors import ValidationFailed

FAST = settings(max_examples=200, deadline=None)

fractions = st.floats(min_value=0, max_value=1, allow_nan=False)
amounts = st.floats(min_value=0, max_value=1e5, allow_nan=False)


@st.composite
def periods(draw: st.DrawFn) -> ProfitIndicators:
    """A valid period: churn at most the new clients, returns at most the deals."""
    reach, c1, c = draw(amounts), draw(fractions), draw(fractions)
    q1 = draw(st.floats(min_value=0, max_value=20, allow_nan=False))
    return ProfitIndicators(
        reach=reach,
        c1=c1,
        c=c,
        churn=draw(fractions) * (c * (reach * c1)),
        pu=draw(amounts),
        d=draw(st.floats(min_value=0, max_value=20, allow_nan=False)),
        q1=q1,
        rt=draw(fractions) * q1,
        capex=draw(amounts),
        h=draw(amounts),
        cogs=draw(amounts),
        cac=draw(amounts),
        crc=draw(amounts),
    )


def profit_of(values: Mapping[str, float]) -> float:
    """§4.4 in one line: (reach · c1 · c − churn) · pu · d · (q1 − rt) − TC."""
    v = values
    revenue = (v["reach"] * v["c1"] * v["c"] - v["churn"]) * v["pu"] * v["d"] * (v["q1"] - v["rt"])
    return revenue - math.fsum(v[code] for code in ("capex", "h", "cogs", "cac", "crc"))


def close(a: float, b: float, scale: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9 * max(1.0, scale))


@FAST
@given(periods())
def test_changing_nothing_changes_nothing(baseline: ProfitIndicators) -> None:
    result = what_if(baseline, baseline)
    assert result.contributions == ()
    assert result.profit_change == 0
    assert result.favourable_profit == result.baseline_profit == profit(baseline)
    assert result.interaction == 0


@FAST
@given(periods(), periods(), st.sets(st.sampled_from(INDICATOR_CODES), min_size=1))
def test_each_contribution_is_its_one_indicator_profit_minus_the_baseline(
    baseline: ProfitIndicators, other: ProfitIndicators, changed: set[str]
) -> None:
    # The scenario takes the other period's values for some indicators; it may be invalid as a
    # period of its own (churn above its new clients), then there is nothing to compare.
    values = baseline.as_dict() | {code: other.as_dict()[code] for code in changed}
    try:
        scenario = ProfitIndicators.from_mapping(values)
    except ValidationFailed:
        assume(False)
    result = what_if(baseline, scenario)
    base = baseline.as_dict()
    scale = max(abs(result.baseline_profit), abs(result.scenario_profit), 1.0) * 1e3
    expected_codes = [code for code in INDICATOR_CODES if base[code] != values[code]]
    assert [item.code for item in result.contributions] == expected_codes
    for item in result.contributions:
        alone = profit_of(base | {item.code: item.scenario_value})
        assert close(item.profit_alone, alone, scale)
        assert item.absolute == item.profit_alone - result.baseline_profit
        assert item.favourable is (item.absolute > 0)
        if result.baseline_profit > 0:
            assert item.relative == item.absolute / result.baseline_profit * 100
        else:
            assert item.relative is None
    total = math.fsum(item.absolute for item in result.contributions) + result.interaction
    assert close(total, result.profit_change, scale)


@FAST
@given(periods())
def test_no_valid_period_has_negative_clients_or_deals(period: ProfitIndicators) -> None:
    assert clients(period) >= 0
    assert deals(period) >= 0


@FAST
@given(periods(), st.floats(min_value=1e-6, max_value=1e6, allow_nan=False))
def test_more_churn_than_new_clients_or_returns_than_deals_is_refused(
    period: ProfitIndicators, excess: float
) -> None:
    values = period.as_dict()
    converted = period.c * (period.reach * period.c1)
    for code, value in (("churn", converted * (1 + 1e-6) + excess), ("rt", period.q1 + excess)):
        with pytest.raises(ValidationFailed) as refused:
            ProfitIndicators.from_mapping(values | {code: value})
        assert refused.value.field == code
