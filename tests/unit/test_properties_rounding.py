"""Properties of rounding for display and of the bands (domain.md §2.2, §2.3, §2.6).

SH is shown to one decimal and advice gains to two, half up as in the method's tables, for
every value a tie can take; bands have inclusive lower bounds; a criterion derived from
components allowed by the tolerances stays on the 0–100 scale.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from services.scoring import domain
from services.scoring.domain import Band, Criterion, Rated
from services.scoring.rounding import round_half_up

FAST = settings(max_examples=200, deadline=None)


def half_up(text: str, places: int) -> float:
    """The reference: the decimal as written, rounded half up (away from zero)."""
    return float(Decimal(text).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP))


@FAST
@given(st.integers(min_value=-20_000, max_value=20_000))
def test_every_two_decimal_tie_rounds_half_up_to_one_decimal(tenths: int) -> None:
    # tenths + 0.05 for every tenth in −2000.0 … 2000.0: 54.25 → 54.3, −54.25 → −54.3.
    text = f"{Decimal(tenths) / 10 + (Decimal('0.05') if tenths >= 0 else Decimal('-0.05'))}"
    assert domain.shown_sh(float(text)) == half_up(text, 1)
    assert round_half_up(float(text), 1) == half_up(text, 1)


@FAST
@given(st.integers(min_value=0, max_value=10_000))
def test_every_three_decimal_tie_rounds_half_up_to_two_decimals(hundredths: int) -> None:
    text = f"{Decimal(hundredths) / 100 + Decimal('0.005')}"
    assert round_half_up(float(text), 2) == half_up(text, 2)


@FAST
@given(st.integers(min_value=-(10**6), max_value=10**6), st.integers(min_value=-3, max_value=3))
def test_float_noise_never_moves_a_shown_value(hundredths: int, ulps: int) -> None:
    # A value a few units in the last place off its decimal is shown as the decimal is.
    value = hundredths / 100
    noisy = value
    step = math.inf if ulps > 0 else -math.inf
    for _ in range(abs(ulps)):
        noisy = math.nextafter(noisy, step)
    assert round_half_up(noisy, 1) == round_half_up(value, 1)


@FAST
@given(st.floats(min_value=-1000, max_value=1000, allow_nan=False))
def test_shown_sh_is_within_half_a_tenth(sh: float) -> None:
    assert abs(domain.shown_sh(sh) - sh) <= 0.05 + 1e-9


@FAST
@given(st.floats(min_value=-200, max_value=200, allow_nan=False))
def test_bands_have_inclusive_lower_bounds(value: float) -> None:
    expected = (
        Band.EXCELLENT
        if value >= 85
        else Band.GOOD
        if value >= 70
        else Band.NORMAL
        if value >= 55
        else Band.CRITICAL
    )
    assert domain.band_of(value) is expected
    for bound, band in ((85, Band.EXCELLENT), (70, Band.GOOD), (55, Band.NORMAL)):
        assert domain.band_of(bound) is band
        assert domain.band_of(math.nextafter(bound, -math.inf)) is not band


scores = st.floats(min_value=0, max_value=100, allow_nan=False)


@FAST
@given(st.fixed_dictionaries(dict.fromkeys(domain.WEIGHTED, scores)))
def test_gains_are_ranked_as_shown_and_ties_in_criterion_order(
    values: dict[Criterion, float],
) -> None:
    criteria = {**values, Criterion.E: 0.0}
    gains = domain.advice(criteria, domain.DEFAULT_WEIGHTS).gains
    assert sorted(g.criterion for g in gains) == sorted(domain.WEIGHTED)
    for gain in gains:
        exact = domain.DEFAULT_WEIGHTS[gain.criterion] * (100 - criteria[gain.criterion])
        assert gain.gain == round_half_up(exact, domain.GAIN_PLACES)
    order = [(-g.gain, domain.WEIGHTED.index(g.criterion)) for g in gains]
    assert order == sorted(order)


@st.composite
def rated_sources(draw: st.DrawFn) -> tuple[Rated, ...]:
    """Sources whose shares sum to 1 within the allowed 1e-9, with any ratings."""
    count = draw(st.integers(min_value=1, max_value=5))
    parts = [draw(st.integers(min_value=1, max_value=1000)) for _ in range(count)]
    shares = [part / sum(parts) for part in parts]
    slack = draw(st.floats(min_value=-0.9e-9, max_value=0.9e-9))
    shares[0] = min(1.0, max(0.0, shares[0] + slack))
    ratings = draw(st.lists(scores, min_size=count, max_size=count))
    return tuple(
        Rated(f"s{i}", share, r) for i, (share, r) in enumerate(zip(shares, ratings, strict=True))
    )


@FAST
@given(rated_sources(), st.one_of(st.just(()), rated_sources()))
def test_derived_relevance_is_always_on_the_scale(
    engines: tuple[Rated, ...], catalogues: tuple[Rated, ...]
) -> None:
    # Shares accepted by the tolerance never make R a value the user is refused for.
    assert 0 <= domain.relevance(engines, catalogues) <= 100
