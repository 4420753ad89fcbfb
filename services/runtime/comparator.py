"""How a value is compared with a threshold: monitoring rules (risk, domain.md §3.5) and KPI
targets (kpi, §4.3) use the same four comparators, so the graph has one ``Comparator``."""

from __future__ import annotations

from enum import StrEnum


class Comparator(StrEnum):
    """``value <comparator> threshold``."""

    LT = "LT"
    LTE = "LTE"
    GT = "GT"
    GTE = "GTE"

    @property
    def symbol(self) -> str:
        """The operator as written in a condition (``<``, ``<=``, ``>``, ``>=``)."""
        return _SYMBOLS[self]

    def holds(self, value: float, threshold: float) -> bool:
        """Whether ``value <comparator> threshold`` is true (never for NaN)."""
        if self is Comparator.LT:
            return value < threshold
        if self is Comparator.LTE:
            return value <= threshold
        if self is Comparator.GT:
            return value > threshold
        return value >= threshold


_SYMBOLS = {Comparator.LT: "<", Comparator.LTE: "<=", Comparator.GT: ">", Comparator.GTE: ">="}

BAND_EDGE_TOLERANCE = 1e-9
"""Relative slack at the edge of a band, as a fraction of ``|threshold|``.

Binary floats hold neither 0.525 nor 0.95 exactly, so a value written exactly at the edge of a
band (0.525 against 0.5 ± 5 %, 0.95 against 1 ± 5 %) lands a few units in the last place on
either side of it; an inclusive edge must include it. 1e-9 of the threshold is far below any
difference a measurement can mean and far above the error of a few float operations."""


def within_fraction(value: float, threshold: float, fraction: float) -> bool:
    """Whether ``|value − threshold| ≤ fraction · |threshold|``, the edge included.

    The edge is compared with :data:`BAND_EDGE_TOLERANCE`, so a value written at the edge is
    inside whatever rounding its binary form carries. For a threshold of 0 the band is the
    threshold alone (exact equality).
    """
    magnitude = abs(threshold)
    return abs(value - threshold) <= (fraction + BAND_EDGE_TOLERANCE) * magnitude
