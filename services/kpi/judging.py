"""Targets and status (§4.3): which target a latest value is judged against, and the verdict.

Pure functions over the domain's values (see :mod:`services.kpi.domain` for the decisions:
the ``AT_RISK`` band, fulfilment by direction).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from services.kpi.domain import Direction, KpiDefinition, Target, TargetStatus, require_finite
from services.runtime.comparator import within_fraction
from services.runtime.errors import ValidationFailed

AT_RISK_TOLERANCE = 0.05
"""A missed target is ``AT_RISK`` when missed by at most this fraction of ``|threshold|``."""


def target_status(value: float | None, target: Target) -> TargetStatus:
    """The status of the latest value against a target.

    ``NO_DATA`` without a value; ``MET`` when the comparison holds; ``AT_RISK`` when it does not
    but the value is within 5 % of ``|threshold|`` of the threshold (inclusive, edge within
    1e-9: 0.525 against ``LTE 0.5`` is ``AT_RISK``); else ``MISSED``. The comparator alone says
    which side is wrong, so direction is not needed.
    """
    if value is None:
        return TargetStatus.NO_DATA
    number = require_finite("value", value)
    if target.comparator.holds(number, target.value):
        return TargetStatus.MET
    if within_fraction(number, target.value, AT_RISK_TOLERANCE):
        return TargetStatus.AT_RISK
    return TargetStatus.MISSED


def kpi_fulfilment(actual: float, target_value: float, direction: Direction) -> float:
    """Fulfilment of a target in percent: ``actual / target × 100``, or ``target / actual ×
    100`` for a ``DOWN`` KPI (lower is better, so beating the target gives more than 100).

    0 against a target of 0 is 100 (met exactly); any other zero denominator is rejected with
    the field ``target`` (``UP``/``NONE``) or ``actual`` (``DOWN``).
    """
    actual_number = require_finite("actual", actual)
    target_number = require_finite("target", target_value)
    if actual_number == 0 and target_number == 0:
        return 100.0
    if direction is Direction.DOWN:
        if actual_number == 0:
            raise ValidationFailed(
                "actual",
                "fulfilment of a DOWN KPI is target / actual; denominator actual is zero",
            )
        result = target_number / actual_number * 100
    else:
        if target_number == 0:
            raise ValidationFailed(
                "target", "fulfilment is actual / target; denominator target is zero"
            )
        result = actual_number / target_number * 100
    if not math.isfinite(result):
        raise ValidationFailed("actual", "fulfilment is not a finite number (overflow)")
    return result


@dataclass(frozen=True)
class ScopeTarget:
    """A target as it applies to a scope: in force during ``[period_start, period_end)``, or
    always (no period); ``own`` for the scope's own target, else the KPI's default."""

    target: Target
    own: bool = True
    period_start: datetime | None = None
    period_end: datetime | None = None

    def covers(self, start: datetime, end: datetime) -> bool:
        """Whether a measured period lies within this target's period (no period: yes)."""
        if self.period_start is None or self.period_end is None:
            return True
        return self.period_start <= start and end <= self.period_end


def applied_target(
    definition: KpiDefinition,
    own: ScopeTarget | None,
    latest: tuple[datetime, datetime] | None,
) -> ScopeTarget | None:
    """The target a scope's latest value (measured over ``latest``) is judged against.

    The scope's own target, when it is in force for the latest measurement (a target with a
    period judges only measurements whose period lies within it; without data, the scope's
    target is shown as is); else the KPI's default target; else none.
    """
    if own is not None and (latest is None or own.covers(*latest)):
        return own
    if definition.default_target is None:
        return None
    return ScopeTarget(definition.default_target, own=False)


def judged(
    definition: KpiDefinition, target: Target, value: float | None
) -> tuple[TargetStatus, float | None]:
    """The status of ``value`` against ``target`` and its fulfilment in percent (``None``
    without a value, or where the fulfilment's denominator is zero: it is undefined then)."""
    status = target_status(value, target)
    if value is None:
        return status, None
    try:
        return status, kpi_fulfilment(value, target.value, definition.direction)
    except ValidationFailed:
        return status, None
