"""Properties of roll-ups (domain.md §4.2): recomputed from summed inputs, never averaged.

One measurement rolls up to itself at every grain; the order in which measurements are given
does not change any point; and a bucket's value is the formula over the summed inputs.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from services.kpi.domain import CATALOGUE, Grain
from services.kpi.measuring import compute_value
from services.kpi.rollups import MeasuredPeriod, period_bucket, rollup

FAST = settings(max_examples=100, deadline=None)
GRAINS = list(Grain)
YEAR = datetime(2026, 1, 1, tzinfo=UTC)

amounts = st.floats(min_value=0, max_value=1e7, allow_nan=False)


@st.composite
def sla_inputs(draw: st.DrawFn) -> dict[str, float]:
    total = draw(st.integers(min_value=1, max_value=10**6))
    return {"within_sla": draw(st.integers(min_value=0, max_value=total)), "total": total}


@st.composite
def response_inputs(draw: st.DrawFn) -> dict[str, float]:
    requests = draw(st.integers(min_value=1, max_value=10**6))
    return {"total_response_seconds": draw(amounts), "requests": requests}


@st.composite
def roi_inputs(draw: st.DrawFn) -> dict[str, float]:
    return {
        "profit_delta": draw(st.floats(min_value=-1e7, max_value=1e7, allow_nan=False)),
        "investment": draw(st.floats(min_value=1, max_value=1e7, allow_nan=False)),
    }


@st.composite
def payback_inputs(draw: st.DrawFn) -> dict[str, float]:
    return {
        "investment": draw(amounts),
        "monthly_profit_increase": draw(st.floats(min_value=1, max_value=1e6, allow_nan=False)),
    }


INPUTS: Mapping[str, Callable[[], st.SearchStrategy[dict[str, float]]]] = {
    "sla_compliance": sla_inputs,
    "system_response_time": response_inputs,
    "integration_roi": roi_inputs,
    "payback_period": payback_inputs,
}
"""KPIs whose value is a ratio of inputs: where summing and averaging differ."""


@st.composite
def measurements(draw: st.DrawFn, code: str, min_size: int = 1) -> list[MeasuredPeriod]:
    """Day-long measurements of ``code`` somewhere in 2026 (some on the same day)."""
    size = draw(st.integers(min_value=min_size, max_value=8))
    result: list[MeasuredPeriod] = []
    for _ in range(size):
        start = YEAR + timedelta(days=draw(st.integers(min_value=0, max_value=364)))
        result.append((start, start + timedelta(days=1), draw(INPUTS[code]())))
    return result


codes = st.sampled_from(sorted(INPUTS))


@FAST
@given(st.data(), codes, st.sampled_from(GRAINS))
def test_one_measurement_rolls_up_to_itself(data: st.DataObject, code: str, grain: Grain) -> None:
    definition = CATALOGUE[code]
    (measurement,) = data.draw(measurements(code, min_size=1).map(lambda m: m[:1]))
    (point,) = rollup(definition, [measurement], grain)
    assert point.value == compute_value(definition, measurement[2])
    assert dict(point.inputs) == {k: float(v) for k, v in measurement[2].items()}
    assert point.count == 1
    assert point.start <= measurement[0] < point.end


@FAST
@given(st.data(), codes, st.sampled_from(GRAINS))
def test_the_order_of_measurements_does_not_matter(
    data: st.DataObject, code: str, grain: Grain
) -> None:
    definition = CATALOGUE[code]
    given_order = data.draw(measurements(code))
    shuffled = data.draw(st.permutations(given_order))
    assert rollup(definition, shuffled, grain) == rollup(definition, given_order, grain)


@FAST
@given(st.data(), codes, st.sampled_from([Grain.WEEK, Grain.MONTH, Grain.QUARTER]))
def test_a_bucket_is_the_formula_over_its_summed_inputs(
    data: st.DataObject, code: str, grain: Grain
) -> None:
    definition = CATALOGUE[code]
    given_measurements = data.draw(measurements(code))
    points = rollup(definition, given_measurements, grain)
    assert sum(point.count for point in points) == len(given_measurements)
    for point in points:
        members = [m for m in given_measurements if period_bucket(m[0], grain)[0] == point.start]
        summed = {name: math.fsum(float(m[2][name]) for m in members) for name in members[0][2]}
        assert dict(point.inputs) == summed
        assert point.value == compute_value(definition, summed)


@FAST
@given(st.lists(sla_inputs(), min_size=1, max_size=8))
def test_a_rolled_up_percentage_is_never_an_average_of_percentages(
    inputs: list[dict[str, float]],
) -> None:
    # Sum then divide: Σ within / Σ total · 100, whatever each day's share was.
    days = [(YEAR, YEAR + timedelta(days=1), day) for day in inputs]
    (point,) = rollup(CATALOGUE["sla_compliance"], days, Grain.MONTH)
    within = math.fsum(day["within_sla"] for day in inputs)
    total = math.fsum(day["total"] for day in inputs)
    assert point.value == within / total * 100
