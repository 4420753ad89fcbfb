"""The Sherdani criterion (domain.md §2) as pure functions: no database, no server."""

from __future__ import annotations

import math

import pytest

from services.runtime.errors import ValidationFailed
from services.scoring import domain
from services.scoring.domain import Band, Criterion, Rated

C = Criterion
WORKED_P = (20, 20, 10, 10, 10, 8, 5)
WORKED_C = (50, 10, 10, 5, 0)
WORKED_ENGINES = (Rated("A", 0.7, 80), Rated("B", 0.2, 60), Rated("C", 0.1, 40))
WORKED_CATALOGUES = (Rated("X", 0.5, 70), Rated("Y", 0.5, 50))


def worked_criteria() -> dict[Criterion, float]:
    criteria, _ = domain.assemble_criteria(
        {C.U: 70, C.C: 50, C.T: 88, C.L: 75, C.S: 65, C.M: 70, C.E: 5},
        domain.InteractivityComponents(WORKED_P, WORKED_C),
        domain.RelevanceComponents(WORKED_ENGINES, WORKED_CATALOGUES),
    )
    return criteria


def test_worked_example_of_the_specification() -> None:
    criteria = worked_criteria()
    assert criteria[C.I] == pytest.approx(81.0)
    assert criteria[C.R] == pytest.approx(70.2857142857, abs=1e-9)
    result = domain.score(criteria, domain.DEFAULT_WEIGHTS)
    assert result.sh == pytest.approx(67.3314285714, abs=1e-9)
    assert result.sh_rounded == 67.3
    assert result.band is Band.NORMAL


def test_worked_example_advice() -> None:
    advice = domain.advice(worked_criteria(), domain.DEFAULT_WEIGHTS)
    gains = [(g.criterion, round(g.gain, 2)) for g in advice.gains]
    assert gains == [
        (C.R, 7.43), (C.M, 6.00), (C.S, 3.50), (C.L, 3.25),
        (C.C, 2.50), (C.U, 2.10), (C.T, 1.56), (C.I, 1.33),
    ]  # fmt: skip
    assert advice.critical == (C.C,)
    assert advice.external_flagged
    assert advice.external_influence == 5


@pytest.mark.parametrize(
    ("sh", "shown"),
    [(54.25, 54.3), (60.25, 60.3), (67.35, 67.4), (54.249999999999996, 54.3), (54.24, 54.2),
     (-54.25, -54.3), (-0.04, 0.0), (100.0, 100.0)],
)  # fmt: skip
def test_sh_is_shown_rounded_half_up_as_in_the_tables(sh: float, shown: float) -> None:
    # Python's round() gives 54.2 and 60.2: the exact binary ties rounded to even.
    assert domain.shown_sh(sh) == shown
    criteria = dict.fromkeys(C, 0.0)
    assert (
        domain.Score(sh, domain.band_of(sh), domain.criterion_bands(criteria)).sh_rounded == shown
    )


def test_gains_are_rounded_and_ties_follow_the_order_of_the_criteria() -> None:
    # U: 0.07 · (100 − 70) = 2.1 and R: 0.25 · (100 − 91.6) = 2.1000000000000014 in binary: the
    # noise ranked R first. T: 0.13 · 30 = 3.9000000000000004 is shown as 3.9.
    criteria = dict.fromkeys(C, 100.0) | {C.U: 70.0, C.R: 91.6, C.T: 70.0, C.E: 0.0}
    advice = domain.advice(criteria, domain.DEFAULT_WEIGHTS)
    assert [(g.criterion, g.gain) for g in advice.gains[:3]] == [
        (C.T, 3.9), (C.U, 2.1), (C.R, 2.1),
    ]  # fmt: skip
    assert [g.criterion for g in advice.gains[3:]] == [C.I, C.C, C.L, C.S, C.M]
    assert all(g.gain == 0 for g in advice.gains[3:])


def test_derived_relevance_within_the_share_tolerance_is_clamped_to_100() -> None:
    # Shares summing to 1 + 5e-10 (allowed: within 1e-9) with ratings of 100 give
    # R = 100.00000005; it was refused as "criteria.R must be between 0 and 100".
    engines = (Rated("A", 0.5000000005, 100), Rated("B", 0.5, 100))
    assert domain.relevance(engines, ()) == 100.0
    assert domain.relevance(engines, (Rated("X", 0.5, 100), Rated("Y", 0.5000000005, 100))) == 100.0
    criteria, derived = domain.assemble_criteria(
        {C.U: 70, C.I: 70, C.C: 50, C.T: 88, C.L: 75, C.S: 65, C.M: 70, C.E: 5},
        None,
        domain.RelevanceComponents(engines, ()),
    )
    assert criteria[C.R] == 100.0
    assert derived == {C.R}
    full = domain.interactivity((100, 0, 0, 0, 0, 0, 0), (50, 50, 0, 0, 0))
    assert full == 100.0


def test_default_weights_sum_to_one() -> None:
    assert math.fsum(domain.DEFAULT_WEIGHTS.values()) == pytest.approx(1.0, abs=1e-12)
    assert domain.check_weights({c.value: w for c, w in domain.DEFAULT_WEIGHTS.items()})


@pytest.mark.parametrize(
    ("value", "band"),
    [
        (100, Band.EXCELLENT), (85, Band.EXCELLENT), (84.999, Band.GOOD), (70, Band.GOOD),
        (69.99, Band.NORMAL), (55, Band.NORMAL), (54.99, Band.CRITICAL), (0, Band.CRITICAL),
        (-20, Band.CRITICAL),
    ],
)  # fmt: skip
def test_band_lower_bounds_are_inclusive(value: float, band: Band) -> None:
    assert domain.band_of(value) is band


def test_sh_is_negative_and_not_clamped_when_external_influence_dominates() -> None:
    criteria = dict.fromkeys(C, 10.0) | {C.E: 100.0}
    assert domain.integral(criteria, domain.DEFAULT_WEIGHTS) == pytest.approx(-90.0)


def test_perfect_store_scores_100_and_has_no_gain() -> None:
    criteria = dict.fromkeys(C, 100.0) | {C.E: 0.0}
    result = domain.score(criteria, domain.DEFAULT_WEIGHTS)
    assert result.sh == pytest.approx(100)
    advice = domain.advice(criteria, domain.DEFAULT_WEIGHTS)
    assert all(g.gain == pytest.approx(0) for g in advice.gains)
    assert not advice.external_flagged
    assert advice.critical == ()


def test_relevance_without_catalogues_uses_search_engines_only() -> None:
    assert domain.relevance(WORKED_ENGINES, ()) == pytest.approx(72.0)


@pytest.mark.parametrize(
    ("product", "communicative", "field"),
    [
        ((10,) * 6, (10,) * 5, "interactivity.product"),
        ((10,) * 7, (10,) * 6, "interactivity.communicative"),
        ((20,) * 7, (10,) * 5, "interactivity.product"),  # Σp = 140 > 100
        ((10,) * 7, (30,) * 5, "interactivity.communicative"),  # Σc = 150 > 100
        ((10, 10, 10, 10, 10, 10, -1), (10,) * 5, "interactivity.product.6"),
        ((10, 10, 10, 10, 10, 10, math.nan), (10,) * 5, "interactivity.product.6"),
    ],
)
def test_interactivity_rejects_bad_components(
    product: tuple[float, ...], communicative: tuple[float, ...], field: str
) -> None:
    with pytest.raises(ValidationFailed) as caught:
        domain.interactivity(product, communicative)
    assert caught.value.field == field


def test_interactivity_at_its_limits_is_100() -> None:
    assert domain.interactivity((100, 0, 0, 0, 0, 0, 0), (0, 0, 0, 0, 100)) == 100


@pytest.mark.parametrize(
    ("engines", "catalogues", "field"),
    [
        ((), (), "relevance.searchEngines"),
        ((Rated("A", 0.5, 80),), (), "relevance.searchEngines"),
        ((Rated("A", 1.2, 80), Rated("B", -0.2, 10)), (), "relevance.searchEngines.0.share"),
        ((Rated("A", 1.0, 101),), (), "relevance.searchEngines.0.rating"),
        ((Rated("A", 0.5, 10), Rated("a", 0.5, 10)), (), "relevance.searchEngines.1.name"),
        ((Rated("A", 1.0, 10),), (Rated("X", 0.4, 10),), "relevance.catalogues"),
    ],
)
def test_relevance_rejects_bad_sources(
    engines: tuple[Rated, ...], catalogues: tuple[Rated, ...], field: str
) -> None:
    with pytest.raises(ValidationFailed) as caught:
        domain.relevance(engines, catalogues)
    assert caught.value.field == field


def test_shares_summing_to_one_within_tolerance_are_accepted() -> None:
    engines = (Rated("A", 0.1, 50), Rated("B", 0.2, 50), Rated("C", 0.7 + 5e-10, 50))
    assert domain.relevance(engines, ()) == pytest.approx(50)


@pytest.mark.parametrize(
    ("weights", "field"),
    [
        ({"U": 1.0}, "weights"),
        ({**dict.fromkeys("UIRCTLSM", 0.125), "E": 0.0}, "weights"),
        ({**dict.fromkeys("UIRCTLS", 0.125), "M": 0.126}, "weights"),
        ({**dict.fromkeys("UIRCTL", 0.2), "S": -0.1, "M": -0.1}, "weights.S"),
        ({**dict.fromkeys("UIRCTLS", 0.125), "M": math.inf}, "weights.M"),
    ],
)
def test_weights_are_validated(weights: dict[str, float], field: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        domain.check_weights(weights)
    assert caught.value.field == field


def test_custom_weights_change_sh() -> None:
    weights = domain.check_weights({**dict.fromkeys("UIRCTLS", 0.0), "M": 1.0})
    criteria = worked_criteria()
    assert domain.integral(criteria, weights) == pytest.approx(70 - 5)


def test_criterion_given_both_directly_and_by_components_is_rejected() -> None:
    with pytest.raises(ValidationFailed) as caught:
        domain.assemble_criteria(
            {C.U: 1, C.I: 50, C.R: 1, C.C: 1, C.T: 1, C.L: 1, C.S: 1, C.M: 1, C.E: 1},
            domain.InteractivityComponents(WORKED_P, WORKED_C),
            None,
        )
    assert caught.value.field == "interactivity"


def test_criterion_given_neither_way_is_rejected() -> None:
    with pytest.raises(ValidationFailed) as caught:
        domain.assemble_criteria(
            {C.U: 1, C.I: 50, C.C: 1, C.T: 1, C.L: 1, C.S: 1, C.M: 1, C.E: 1}, None, None
        )
    assert caught.value.field == "criteria.R"


@pytest.mark.parametrize("value", [-0.01, 100.01, math.nan, math.inf])
def test_direct_criteria_must_be_on_the_0_to_100_scale(value: float) -> None:
    direct = dict.fromkeys(C, 50.0) | {C.T: value}
    with pytest.raises(ValidationFailed) as caught:
        domain.assemble_criteria(direct, None, None)
    assert caught.value.field == "criteria.T"


def test_derived_criteria_are_reported() -> None:
    _, derived = domain.assemble_criteria(
        {C.U: 1, C.R: 1, C.C: 1, C.T: 1, C.L: 1, C.S: 1, C.M: 1, C.E: 1},
        domain.InteractivityComponents(WORKED_P, WORKED_C),
        None,
    )
    assert derived == {C.I}
