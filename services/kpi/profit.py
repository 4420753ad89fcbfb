"""The profit model of an online store and its what-if analysis (§4.4).

Thirteen indicators measured for a period give the profit::

    leads L         = reach · c1
    clients CLs     = c · L − churn
    average check P = pu · d
    deals Qs        = q1 − rt
    LTV             = P · Qs
    revenue R       = CLs · LTV
    total costs TC  = capex + h + cogs + cac + crc
    profit          = R − TC

Decisions where the specification is silent:

- ``c1`` and ``c`` are fractions in [0, 1]; every other indicator is a finite number ≥ 0.
  ``reach`` and ``churn`` are counts but may be fractional, because the model is also used for
  planning (a scenario of "reach + 10 %"); ``pu``, ``d``, ``q1`` and ``rt`` are averages.
- ``churn`` may not exceed ``c · L`` and ``rt`` may not exceed ``q1``: negative clients or
  deals are not a period anyone measured, and two of them would multiply into a positive
  revenue. Each refusal names both sides (field: ``churn`` or ``rt``).
- What-if: an indicator "changed" when its scenario value differs from its baseline value. Its
  contribution is computed from the baseline with that one indicator at its scenario value; such
  a combination of two valid periods may have ``churn`` above ``c · L`` (reach alone falling)
  or ``rt`` above ``q1``, and its profit is then what the formulas give. Only one factor of
  revenue can turn negative that way (each indicator feeds one factor), so revenue falls as the
  change says; the favourable changes together only raise clients and deals. The relative
  contribution is ``absolute / baseline profit × 100`` when the baseline makes a profit (> 0)
  and ``None`` otherwise: a share of a loss or of nothing is not a percentage anyone can read.
  A change is favourable when its contribution is > 0. Because revenue is a product, the
  individual contributions do not add up to the total change; the remainder is reported as the
  ``interaction`` term.
- ``monthly_profit_increase`` = profit delta between two periods of the same length, divided
  by that length in months.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from services.runtime.errors import ValidationFailed

INDICATOR_CODES: tuple[str, ...] = (
    "reach",
    "c1",
    "c",
    "churn",
    "pu",
    "d",
    "q1",
    "rt",
    "capex",
    "h",
    "cogs",
    "cac",
    "crc",
)
"""The thirteen indicators, in the order of the specification."""

FRACTIONS: frozenset[str] = frozenset({"c1", "c"})
"""Indicators that are fractions in [0, 1]."""


def _finite(field_name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValidationFailed(field_name, f"{field_name} must be a number")
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        raise ValidationFailed(field_name, f"{field_name} must be a finite number")
    return number


def _result(what: str, value: float) -> float:
    if not math.isfinite(value):
        raise ValidationFailed("indicators", f"{what} is not a finite number (overflow)")
    return value


@dataclass(frozen=True, slots=True)
class ProfitIndicators:
    """The thirteen indicators of one period; validated on construction (field = the code),
    including ``churn ≤ c · L`` and ``rt ≤ q1``."""

    reach: float
    c1: float
    c: float
    churn: float
    pu: float
    d: float
    q1: float
    rt: float
    capex: float
    h: float
    cogs: float
    cac: float
    crc: float

    def __post_init__(self) -> None:
        for code in INDICATOR_CODES:
            number = _finite(code, getattr(self, code))
            if code in FRACTIONS and not 0 <= number <= 1:
                raise ValidationFailed(code, f"{code} is a fraction: it must be between 0 and 1")
            if number < 0:
                raise ValidationFailed(code, f"{code} may not be negative")
            object.__setattr__(self, code, number)
        _check_not_negative(self)

    @classmethod
    def from_mapping(cls, values: Mapping[str, float]) -> ProfitIndicators:
        """Build indicators from a mapping of code → value, rejecting missing or unknown codes."""
        for code in sorted(values):
            if code not in INDICATOR_CODES:
                raise ValidationFailed(code, f"unknown indicator {code}")
        for code in INDICATOR_CODES:
            if code not in values:
                raise ValidationFailed(code, f"indicator {code} is required")
        return cls(**{code: values[code] for code in INDICATOR_CODES})

    def as_dict(self) -> dict[str, float]:
        """The indicators as a mapping of code → value, in specification order."""
        return {code: getattr(self, code) for code in INDICATOR_CODES}


EDGE_TOLERANCE = 1e-9
"""Relative slack of ``churn ≤ c · L``: a churn written equal to ``c · L`` may be a unit in the
last place above the binary product."""


def _check_not_negative(ind: ProfitIndicators) -> None:
    """Refuse a period with more churn than new clients or more returns than deals."""
    converted = ind.c * (ind.reach * ind.c1)  # the order of clients(): the same rounding
    if ind.churn - converted > EDGE_TOLERANCE * converted:
        raise ValidationFailed(
            "churn",
            f"churn ({ind.churn:.12g}) may not exceed c · L = c · reach · c1 ({converted:.12g}): "
            "the period would have negative clients",
        )
    if ind.rt > ind.q1:
        raise ValidationFailed(
            "rt",
            f"rt ({ind.rt:.12g}) may not exceed q1 ({ind.q1:.12g}): "
            "the period would have negative deals per client",
        )


def _combination(baseline: ProfitIndicators, changes: Mapping[str, float]) -> ProfitIndicators:
    """The baseline with some indicators at their scenario values, for what-if.

    Every value was validated in its own period; the cross-checks of one period
    (``churn ≤ c · L``, ``rt ≤ q1``) are not applied to a combination of two (module docstring).
    """
    combined = object.__new__(ProfitIndicators)
    for code in INDICATOR_CODES:
        object.__setattr__(combined, code, changes.get(code, getattr(baseline, code)))
    return combined


def leads(ind: ProfitIndicators) -> float:
    """Leads ``L = reach · c1``."""
    return _result("leads", ind.reach * ind.c1)


def clients(ind: ProfitIndicators) -> float:
    """Net new clients ``CLs = c · L − churn``."""
    return _result("clients", ind.c * leads(ind) - ind.churn)


def average_check(ind: ProfitIndicators) -> float:
    """Average check ``P = pu · d``."""
    return _result("average check", ind.pu * ind.d)


def deals(ind: ProfitIndicators) -> float:
    """Deals per client net of returns ``Qs = q1 − rt``."""
    return _result("deals", ind.q1 - ind.rt)


def ltv(ind: ProfitIndicators) -> float:
    """Lifetime value of a client over the period ``LTV = P · Qs``."""
    return _result("LTV", average_check(ind) * deals(ind))


def revenue(ind: ProfitIndicators) -> float:
    """Revenue ``R = CLs · LTV``."""
    return _result("revenue", clients(ind) * ltv(ind))


def total_costs(ind: ProfitIndicators) -> float:
    """Total costs ``TC = capex + h + cogs + cac + crc``."""
    return _result("total costs", math.fsum((ind.capex, ind.h, ind.cogs, ind.cac, ind.crc)))


def profit(ind: ProfitIndicators) -> float:
    """Profit ``R − TC``."""
    return _result("profit", revenue(ind) - total_costs(ind))


# --------------------------------------------------------------------------------------------
# What-if analysis
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IndicatorContribution:
    """The effect on profit of changing one indicator alone (all others at baseline)."""

    code: str
    baseline_value: float
    scenario_value: float
    profit_alone: float
    """Profit with only this indicator at its scenario value."""
    absolute: float
    """``profit_alone − baseline profit``."""
    relative: float | None
    """``absolute / baseline profit × 100``; ``None`` unless the baseline makes a profit (> 0):
    a share of a loss or of nothing is not a percentage anyone can read."""
    favourable: bool
    """Whether the change alone raises profit (``absolute > 0``)."""


@dataclass(frozen=True, slots=True)
class WhatIfResult:
    """Profit of a baseline and a scenario, attributed to the indicators that changed."""

    baseline_profit: float
    scenario_profit: float
    profit_change: float
    """``scenario_profit − baseline_profit``."""
    contributions: tuple[IndicatorContribution, ...]
    """One per changed indicator, in specification order."""
    favourable_profit: float
    """Profit with all favourable changes applied together (the baseline when there are none)."""
    interaction: float
    """``profit_change − Σ absolute``: the part of the change due to indicators acting together
    (revenue is a product of indicators), which makes the attribution add up."""

    @property
    def favourable_codes(self) -> tuple[str, ...]:
        """Codes of the favourable changes."""
        return tuple(item.code for item in self.contributions if item.favourable)


def what_if(baseline: ProfitIndicators, scenario: ProfitIndicators) -> WhatIfResult:
    """Compare two periods of the profit model and attribute the profit change.

    For each indicator whose value changed, computes the profit with only that indicator at its
    scenario value, its absolute and relative contribution and whether it is favourable; then
    the profit with all favourable changes together and the interaction term.
    """
    baseline_profit = profit(baseline)
    scenario_profit = profit(scenario)
    contributions: list[IndicatorContribution] = []
    for code in INDICATOR_CODES:
        before, after = getattr(baseline, code), getattr(scenario, code)
        if before == after:
            continue
        alone = profit(_combination(baseline, {code: after}))
        absolute = alone - baseline_profit
        relative = absolute / baseline_profit * 100 if baseline_profit > 0 else None
        contributions.append(
            IndicatorContribution(
                code=code,
                baseline_value=before,
                scenario_value=after,
                profit_alone=alone,
                absolute=absolute,
                relative=relative,
                favourable=absolute > 0,
            )
        )
    favourable = {item.code: item.scenario_value for item in contributions if item.favourable}
    favourable_profit = profit(_combination(baseline, favourable))
    profit_change = scenario_profit - baseline_profit
    return WhatIfResult(
        baseline_profit=baseline_profit,
        scenario_profit=scenario_profit,
        profit_change=profit_change,
        contributions=tuple(contributions),
        favourable_profit=favourable_profit,
        interaction=profit_change - math.fsum(item.absolute for item in contributions),
    )


# --------------------------------------------------------------------------------------------
# Financial KPIs from two periods
# --------------------------------------------------------------------------------------------


def profit_delta(before: ProfitIndicators, after: ProfitIndicators) -> float:
    """Profit after minus profit before: the ``profit_delta`` input of ``integration_roi``."""
    return _result("profit delta", profit(after) - profit(before))


def monthly_profit_increase(
    before: ProfitIndicators, after: ProfitIndicators, months: float
) -> float:
    """The profit delta per month, for two periods of ``months`` months each: the
    ``monthly_profit_increase`` input of ``payback_period``."""
    length = _finite("months", months)
    if length <= 0:
        raise ValidationFailed("months", "months (the period length) must be positive")
    return _result("monthly profit increase", profit_delta(before, after) / length)


def _investment(investment: float) -> float:
    amount = _finite("investment", investment)
    if amount <= 0:
        raise ValidationFailed("investment", "investment must be positive")
    return amount


def integration_roi_inputs(
    before: ProfitIndicators, after: ProfitIndicators, investment: float
) -> dict[str, float]:
    """The inputs of the ``integration_roi`` KPI: ``profit_delta`` and ``investment`` (> 0)."""
    return {"profit_delta": profit_delta(before, after), "investment": _investment(investment)}


def payback_period_inputs(
    before: ProfitIndicators, after: ProfitIndicators, investment: float, months: float
) -> dict[str, float]:
    """The inputs of the ``payback_period`` KPI: ``investment`` (> 0) and
    ``monthly_profit_increase``, which must be positive — otherwise nothing is ever paid back."""
    amount = _investment(investment)
    increase = monthly_profit_increase(before, after, months)
    if increase <= 0:
        raise ValidationFailed(
            "monthly_profit_increase",
            "profit did not increase between the periods, so the investment never pays back",
        )
    return {"investment": amount, "monthly_profit_increase": increase}
