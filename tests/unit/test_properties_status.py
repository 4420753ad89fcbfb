"""Properties of a KPI's status against its target at every comparator's edge (domain.md §4.3).

The comparators are those of monitoring rules: ``LT``, ``LTE``, ``GT``, ``GTE`` (an exact
target is ``LTE``; there is no ``EQ``). Thresholds and values are written as decimals (as a user
types them) and compared as the binary floats they become.
"""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from services.kpi.domain import Comparator, Target, TargetStatus
from services.kpi.judging import AT_RISK_TOLERANCE, target_status

FAST = settings(max_examples=300, deadline=None)

comparators = st.sampled_from(list(Comparator))
thresholds = st.integers(min_value=-(10**6), max_value=10**6).map(lambda n: Decimal(n) / 100)
nonzero_thresholds = thresholds.filter(lambda t: t != 0)
BAND = Decimal(str(AT_RISK_TOLERANCE))


def wrong_way(comparator: Comparator) -> int:
    """-1 when values below the threshold miss (``GT``/``GTE``), +1 when values above do."""
    return -1 if comparator in (Comparator.GT, Comparator.GTE) else 1


def status(comparator: Comparator, threshold: Decimal, value: Decimal) -> TargetStatus:
    return target_status(float(value), Target(comparator, float(threshold)))


@FAST
@given(comparators, thresholds)
def test_at_the_threshold_inclusive_comparators_are_met_and_strict_ones_at_risk(
    comparator: Comparator, threshold: Decimal
) -> None:
    expected = (
        TargetStatus.MET if comparator in (Comparator.LTE, Comparator.GTE) else TargetStatus.AT_RISK
    )
    assert status(comparator, threshold, threshold) is expected


@FAST
@given(comparators, nonzero_thresholds)
def test_the_at_risk_band_includes_exactly_five_percent(
    comparator: Comparator, threshold: Decimal
) -> None:
    # 0.5 → 0.525 (LTE), 1 → 0.95 (GT), 95 → 90.25 (GTE): the edge, written as a decimal.
    edge = threshold + wrong_way(comparator) * BAND * abs(threshold)
    assert status(comparator, threshold, edge) is TargetStatus.AT_RISK


@FAST
@given(comparators, nonzero_thresholds, st.integers(min_value=1, max_value=10**4))
def test_beyond_five_percent_is_missed(
    comparator: Comparator, threshold: Decimal, beyond: int
) -> None:
    # Beyond the edge by a millionth of the threshold or more.
    miss = BAND + Decimal(beyond) / 10**6
    value = threshold + wrong_way(comparator) * miss * abs(threshold)
    assert status(comparator, threshold, value) is TargetStatus.MISSED


@FAST
@given(comparators, thresholds, st.integers(min_value=1, max_value=10**6))
def test_the_right_side_of_the_threshold_is_met(
    comparator: Comparator, threshold: Decimal, distance: int
) -> None:
    value = threshold - wrong_way(comparator) * Decimal(distance) / 100
    assert status(comparator, threshold, value) is TargetStatus.MET


@FAST
@given(comparators, nonzero_thresholds, st.integers(min_value=1, max_value=499))
def test_inside_the_band_is_at_risk(
    comparator: Comparator, threshold: Decimal, per_ten_thousand: int
) -> None:
    value = threshold + wrong_way(comparator) * Decimal(per_ten_thousand) / 10**4 * abs(threshold)
    assert status(comparator, threshold, value) is TargetStatus.AT_RISK


@FAST
@given(comparators, st.integers(min_value=1, max_value=10**6))
def test_a_zero_threshold_has_no_band(comparator: Comparator, hundredths: int) -> None:
    value = wrong_way(comparator) * Decimal(hundredths) / 100
    assert status(comparator, Decimal(0), value) is TargetStatus.MISSED
