"""The Sherdani integral efficiency criterion (domain.md §2): pure, typed, no I/O.

Every formula of the scoring service lives here and only here: the integral criterion
``SH``, the bands, the derived criteria (interactivity, relevance), weight profiles and the
improvement advice.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Final

from services.runtime.errors import ValidationFailed
from services.scoring.rounding import round_half_up


class Criterion(StrEnum):
    """The nine specific criteria; the first eight are weighted, ``E`` is subtracted."""

    U = "U"
    I = "I"  # noqa: E741 - the criterion's code in the method
    R = "R"
    C = "C"
    T = "T"
    L = "L"
    S = "S"
    M = "M"
    E = "E"


CRITERIA: Final[tuple[Criterion, ...]] = tuple(Criterion)
"""The nine criteria in their order (iterating the enum itself costs more, in every list)."""

WEIGHTED: Final[tuple[Criterion, ...]] = tuple(c for c in Criterion if c is not Criterion.E)

CRITERION_NAMES: Final[Mapping[Criterion, str]] = MappingProxyType(
    {
        Criterion.U: "usability",
        Criterion.I: "interactivity",
        Criterion.R: "relevance",
        Criterion.C: "content",
        Criterion.T: "technology",
        Criterion.L: "customer loyalty",
        Criterion.S: "service",
        Criterion.M: "marketing activity",
        Criterion.E: "external influence",
    }
)

DEFAULT_PROFILE: Final = "sherdani-default"
DEFAULT_WEIGHTS: Final[Mapping[Criterion, float]] = MappingProxyType(
    {
        Criterion.U: 0.07,
        Criterion.I: 0.07,
        Criterion.R: 0.25,
        Criterion.C: 0.05,
        Criterion.T: 0.13,
        Criterion.L: 0.13,
        Criterion.S: 0.10,
        Criterion.M: 0.20,
    }
)

SUM_TOLERANCE: Final = 1e-9
PRODUCT_ELEMENTS: Final = 7
COMMUNICATIVE_ELEMENTS: Final = 5
PRODUCT_SHARE: Final = 0.75
COMMUNICATIVE_SHARE: Final = 0.25
SEARCH_SHARE: Final = 6 / 7
CATALOGUE_SHARE: Final = 1 / 7


class Band(StrEnum):
    """Quality band of ``SH`` or of a single criterion (lower bounds inclusive)."""

    EXCELLENT = "EXCELLENT"
    GOOD = "GOOD"
    NORMAL = "NORMAL"
    CRITICAL = "CRITICAL"


def band_of(value: float) -> Band:
    """The band of a score: ≥85 EXCELLENT, ≥70 GOOD, ≥55 NORMAL, else CRITICAL (§2.3)."""
    if value >= 85:
        return Band.EXCELLENT
    if value >= 70:
        return Band.GOOD
    if value >= 55:
        return Band.NORMAL
    return Band.CRITICAL


def _check_finite(field: str, value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValidationFailed(field, f"{field} must be a finite number")


def check_score(field: str, value: float) -> float:
    """``value`` if it is a finite number on the 0–100 scale, else a validation error."""
    _check_finite(field, value)
    if not 0 <= value <= 100:
        raise ValidationFailed(field, f"{field} must be between 0 and 100 (got {value})")
    return float(value)


# --- weight profiles (§2.5) -----------------------------------------------------------------


def check_weights(weights: Mapping[str, float], field: str = "weights") -> dict[Criterion, float]:
    """Validate a profile's weights: exactly the eight criteria, each ≥ 0, summing to 1."""
    expected = {c.value for c in WEIGHTED}
    given = set(weights)
    if given != expected:
        missing = sorted(expected - given)
        extra = sorted(given - expected)
        detail = "; ".join(
            part
            for part in (
                f"missing {', '.join(missing)}" if missing else "",
                f"unknown {', '.join(extra)}" if extra else "",
            )
            if part
        )
        raise ValidationFailed(
            field, f"{field} must give exactly U, I, R, C, T, L, S, M ({detail})"
        )
    checked: dict[Criterion, float] = {}
    for criterion in WEIGHTED:
        value = weights[criterion.value]
        _check_finite(f"{field}.{criterion.value}", value)
        if value < 0:
            raise ValidationFailed(f"{field}.{criterion.value}", "a weight must be ≥ 0")
        checked[criterion] = float(value)
    total = math.fsum(checked.values())
    if abs(total - 1) > SUM_TOLERANCE:
        raise ValidationFailed(field, f"{field} must sum to 1 (they sum to {total:.12g})")
    return checked


# --- derived criteria (§2.4) ----------------------------------------------------------------


def interactivity(product: Sequence[float], communicative: Sequence[float]) -> float:
    """``I = 0.75·Σp + 0.25·Σc`` over 7 product and 5 communicative elements (§2.4).

    Every element is ≥ 0 and each sum is at most 100, so ``I`` stays on the 0–100 scale.
    """
    for name, values, count in (
        ("product", product, PRODUCT_ELEMENTS),
        ("communicative", communicative, COMMUNICATIVE_ELEMENTS),
    ):
        field = f"interactivity.{name}"
        if len(values) != count:
            raise ValidationFailed(
                field, f"{field} needs exactly {count} values, got {len(values)}"
            )
        for index, value in enumerate(values):
            _check_finite(f"{field}.{index}", value)
            if value < 0:
                raise ValidationFailed(f"{field}.{index}", "an element's points must be ≥ 0")
        if math.fsum(values) > 100:
            raise ValidationFailed(field, f"the sum of {field} must be ≤ 100")
    derived = PRODUCT_SHARE * math.fsum(product) + COMMUNICATIVE_SHARE * math.fsum(communicative)
    return _on_scale("interactivity", derived)


@dataclass(frozen=True, slots=True)
class Rated:
    """One search engine or thematic catalogue: its share and the store's rating in it."""

    name: str
    share: float
    rating: float


def _weighted_rating(field: str, sources: Sequence[Rated]) -> float:
    names: set[str] = set()
    for index, source in enumerate(sources):
        item = f"{field}.{index}"
        if not source.name.strip():
            raise ValidationFailed(f"{item}.name", "a name is required")
        if source.name.casefold() in names:
            raise ValidationFailed(f"{item}.name", f"{source.name!r} is listed twice")
        names.add(source.name.casefold())
        _check_finite(f"{item}.share", source.share)
        if not 0 <= source.share <= 1:
            raise ValidationFailed(f"{item}.share", "a share must be between 0 and 1")
        check_score(f"{item}.rating", source.rating)
    total = math.fsum(source.share for source in sources)
    if abs(total - 1) > SUM_TOLERANCE:
        raise ValidationFailed(field, f"the shares of {field} must sum to 1 (sum {total:.12g})")
    return math.fsum(source.share * source.rating for source in sources)


def relevance(search_engines: Sequence[Rated], catalogues: Sequence[Rated]) -> float:
    """``R = 6/7·Σ b·q + 1/7·Σ d·k`` (§2.4); with no catalogues, ``R = Σ b·q``."""
    if not search_engines:
        raise ValidationFailed("relevance.searchEngines", "at least one search engine is needed")
    search = _weighted_rating("relevance.searchEngines", search_engines)
    if not catalogues:
        return _on_scale("relevance", search)
    catalogue = _weighted_rating("relevance.catalogues", catalogues)
    return _on_scale("relevance", SEARCH_SHARE * search + CATALOGUE_SHARE * catalogue)


DERIVED_TOLERANCE: Final = 100 * 2 * SUM_TOLERANCE
"""How far a derived criterion may leave 0–100 through tolerances the user was allowed (shares
summing to 1 within 1e-9, with ratings of 100) and float rounding; it is then clamped."""


def _on_scale(field: str, value: float) -> float:
    """A derived criterion on the 0–100 scale: clamped when out by at most
    :data:`DERIVED_TOLERANCE`, else refused naming the components the user sent (``field``)."""
    if -DERIVED_TOLERANCE <= value <= 100 + DERIVED_TOLERANCE:
        return min(max(value, 0.0), 100.0)
    raise ValidationFailed(
        field, f"{field} derived from these components is {value:.12g}, outside 0–100"
    )


# --- the integral criterion (§2.2) ----------------------------------------------------------


def integral(criteria: Mapping[Criterion, float], weights: Mapping[Criterion, float]) -> float:
    """``SH = Σ a_i·SC_i − E`` at full precision; never clamped (§2.2)."""
    return math.fsum(weights[c] * criteria[c] for c in WEIGHTED) - criteria[Criterion.E]


def check_criteria(values: Mapping[Criterion, float]) -> dict[Criterion, float]:
    """All nine criteria present, each a finite number on the 0–100 scale."""
    checked: dict[Criterion, float] = {}
    for criterion in Criterion:
        field = f"criteria.{criterion.value}"
        if criterion not in values:
            raise ValidationFailed(field, f"{field} is required (0–100)")
        checked[criterion] = check_score(field, values[criterion])
    return checked


@dataclass(frozen=True, slots=True)
class Score:
    """The outcome of an assessment: ``SH``, its band and each criterion's band."""

    sh: float
    band: Band
    criterion_bands: Mapping[Criterion, Band]

    @property
    def sh_rounded(self) -> float:
        """``SH`` as shown: :func:`shown_sh`."""
        return shown_sh(self.sh)


def shown_sh(sh: float) -> float:
    """``SH`` as shown: one decimal, half up as in the method's tables (54.25 → 54.3)."""
    return round_half_up(sh, 1)


def score(criteria: Mapping[Criterion, float], weights: Mapping[Criterion, float]) -> Score:
    """Compute ``SH`` and the bands for validated criteria under a profile's weights.

    ``E`` has no band: its scale runs the other way (0 = favourable conditions).
    """
    sh = integral(criteria, weights)
    return Score(sh=sh, band=band_of(sh), criterion_bands=criterion_bands(criteria))


def criterion_bands(criteria: Mapping[Criterion, float]) -> Mapping[Criterion, Band]:
    """Each weighted criterion's band (``E`` has none: its scale runs the other way)."""
    return MappingProxyType({c: band_of(criteria[c]) for c in WEIGHTED})


# --- advice (§2.6) --------------------------------------------------------------------------


GAIN_PLACES: Final = 2
"""Decimals of a gain as shown (§2.7 shows R 7.43, T 1.56)."""


@dataclass(frozen=True, slots=True)
class Gain:
    """Points of ``SH`` won by bringing one criterion to 100: ``a_i·(100 − SC_i)``, rounded
    half up to :data:`GAIN_PLACES` decimals (without float noise such as 3.9000000000000004)."""

    criterion: Criterion
    value: float
    weight: float
    gain: float
    band: Band


@dataclass(frozen=True, slots=True)
class Advice:
    """Where to improve first: gains (largest first), critical criteria, ``E`` flagged."""

    gains: tuple[Gain, ...]
    critical: tuple[Criterion, ...]
    external_influence: float
    external_flagged: bool


def advice(criteria: Mapping[Criterion, float], weights: Mapping[Criterion, float]) -> Advice:
    """Rank the criteria by potential gain and flag the critical ones and ``E`` (§2.6).

    Gains are ranked as shown (rounded), and equal gains in the order of §2.1 (U, I, R, C, T,
    L, S, M), so float noise never decides the order and the advice is deterministic.
    """
    gains = sorted(
        (
            Gain(
                criterion=c,
                value=criteria[c],
                weight=weights[c],
                gain=round_half_up(weights[c] * (100 - criteria[c]), GAIN_PLACES),
                band=band_of(criteria[c]),
            )
            for c in WEIGHTED
        ),
        key=lambda g: (-g.gain, WEIGHTED.index(g.criterion)),
    )
    external = criteria[Criterion.E]
    return Advice(
        gains=tuple(gains),
        critical=tuple(c for c in WEIGHTED if band_of(criteria[c]) is Band.CRITICAL),
        external_influence=external,
        external_flagged=external > 0,
    )


# --- assembling an assessment ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class InteractivityComponents:
    """Points of the product (7) and communicative (5) interactive elements."""

    product: tuple[float, ...]
    communicative: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class RelevanceComponents:
    """Ratings in search engines and thematic catalogues."""

    search_engines: tuple[Rated, ...]
    catalogues: tuple[Rated, ...]


def assemble_criteria(
    direct: Mapping[Criterion, float | None],
    interactivity_components: InteractivityComponents | None,
    relevance_components: RelevanceComponents | None,
) -> tuple[dict[Criterion, float], frozenset[Criterion]]:
    """The nine criteria of an assessment and which of them were derived.

    ``I`` and ``R`` are each given either directly or through their components, never both
    and never neither; the other seven are always direct.
    """
    values = dict(direct)
    derived: set[Criterion] = set()
    for criterion, components, name in (
        (Criterion.I, interactivity_components, "interactivity"),
        (Criterion.R, relevance_components, "relevance"),
    ):
        given = values.get(criterion)
        if given is not None and components is not None:
            raise ValidationFailed(
                name, f"give either criteria.{criterion.value} or {name} components, not both"
            )
        if given is None and components is None:
            raise ValidationFailed(
                f"criteria.{criterion.value}",
                f"criteria.{criterion.value} is required unless {name} components are given",
            )
        if components is not None:
            derived.add(criterion)
    if interactivity_components is not None:
        values[Criterion.I] = interactivity(
            interactivity_components.product, interactivity_components.communicative
        )
    if relevance_components is not None:
        values[Criterion.R] = relevance(
            relevance_components.search_engines, relevance_components.catalogues
        )
    present = {c: v for c, v in values.items() if v is not None}
    return check_criteria(present), frozenset(derived)
