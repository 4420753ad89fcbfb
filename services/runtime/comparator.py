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
