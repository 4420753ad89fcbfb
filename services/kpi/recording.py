"""Recording a measurement (§4.2, §4.6): the rules a measurement passes before it is stored.

Its period, its inputs and computed value, a replacement's reason, and who may write into the
platform's scope. Pure: the use cases check, the store stores what was checked.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from services.kpi.domain import KpiDefinition, MeasurementSource
from services.kpi.measuring import InputValue, compute_value
from services.runtime.auth import Principal, Role
from services.runtime.errors import ErrorCode, IntegraError, ValidationFailed
from services.runtime.wire import PLATFORM_SCOPE


def as_utc(field_name: str, moment: datetime) -> datetime:
    """``moment`` in aware UTC (naive is taken as UTC); not a datetime: VALIDATION_ERROR."""
    if not isinstance(moment, datetime):
        raise ValidationFailed(field_name, f"{field_name} must be a datetime")
    if moment.tzinfo is None or moment.utcoffset() is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def validate_period(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    """Check a measurement period ``[start, end)`` and return it in aware UTC.

    Naive datetimes are taken as UTC. ``start`` must be strictly before ``end`` (field
    ``period``).
    """
    start_utc = as_utc("period.start", start)
    end_utc = as_utc("period.end", end)
    if start_utc >= end_utc:
        raise ValidationFailed(
            "period", "period start must be before its end (a period is [start, end))"
        )
    return start_utc, end_utc


def at_milliseconds(moment: datetime) -> datetime:
    """``moment`` truncated to the millisecond: the precision a period is stored (and compared)
    at."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


@dataclass(frozen=True)
class CheckedMeasurement:
    """A measurement the rules accept: its period ``[period_start, period_end)`` in aware UTC
    at millisecond precision, its raw inputs, the value its formula computes, and, for a
    replacement of the period's measurement, the reason."""

    shop_id: str
    kpi_code: str
    period_start: datetime
    period_end: datetime
    inputs: Mapping[str, InputValue]
    value: float
    source: MeasurementSource
    replace: bool = False
    reason: str | None = None


def check_measurement(
    definition: KpiDefinition,
    shop_id: str,
    period: tuple[datetime, datetime],
    inputs: Mapping[str, InputValue],
    source: MeasurementSource,
    *,
    replace: bool = False,
    reason: str | None = None,
) -> CheckedMeasurement:
    """Check a measurement of ``definition`` and compute its value, in this order:

    the period (:func:`validate_period`, and still a period once truncated to milliseconds:
    field ``period``), the inputs and value (:func:`compute_value`), and a reason for a
    replacement (field ``reason``: the replaced revision is kept, so why it changed must be).
    """
    start, end = validate_period(*period)
    start, end = at_milliseconds(start), at_milliseconds(end)
    if start >= end:
        raise ValidationFailed(
            "period", "period start must be before its end at millisecond precision"
        )
    value = compute_value(definition, inputs)
    if replace and not reason:
        raise ValidationFailed("reason", "a reason is required to replace a measurement")
    return CheckedMeasurement(
        shop_id, definition.code, start, end, dict(inputs), value, source, replace, reason
    )


def check_scope_writer(scope: str, principal: Principal, reason: str | None) -> None:
    """Who may record into ``scope`` (domain.md §4.6): anyone with the role for a shop; into
    ``platform`` only the platform itself (a service principal) and an ADMIN giving a reason."""
    if scope != PLATFORM_SCOPE or principal.kind == "service":
        return
    if principal.role is Role.ADMIN and reason:
        return
    raise IntegraError(
        ErrorCode.FORBIDDEN,
        "only the platform itself, or an ADMIN giving a reason, records into the platform scope",
        "shopId",
    )
