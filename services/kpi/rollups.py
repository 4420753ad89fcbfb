"""Roll-ups (§4.2): a KPI's measurements combined into calendar buckets (UTC), values
recomputed from the combined inputs, never averaged (see :mod:`services.kpi.domain`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import TypeAlias

from services.kpi.domain import Aggregation, Grain, KpiDefinition
from services.kpi.expressions.evaluator import evaluate
from services.kpi.measuring import InputValue, measure
from services.kpi.recording import as_utc, validate_period
from services.runtime.errors import ValidationFailed

MeasuredPeriod: TypeAlias = tuple[datetime, datetime, Mapping[str, InputValue]]
"""A measurement as roll-ups see it: period start, period end, raw inputs."""


def _add_months(year: int, month: int, months: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + months
    return index // 12, index % 12 + 1


def period_bucket(start: datetime, grain: Grain) -> tuple[datetime, datetime]:
    """The calendar bucket ``[bucket_start, bucket_end)`` in UTC containing ``start``.

    Weeks are ISO weeks (Monday 00:00 UTC); months and quarters start on their first day.
    ``RECORDED`` has no calendar bucket and is rejected (field ``grain``).
    """
    moment = as_utc("period.start", start)
    if grain is Grain.WEEK:
        monday = moment.date() - timedelta(days=moment.weekday())
        bucket_start = datetime(monday.year, monday.month, monday.day, tzinfo=UTC)
        return bucket_start, bucket_start + timedelta(days=7)
    if grain is Grain.MONTH:
        first_month, months = moment.month, 1
    elif grain is Grain.QUARTER:
        first_month, months = (moment.month - 1) // 3 * 3 + 1, 3
    else:
        raise ValidationFailed("grain", f"grain {grain} has no calendar bucket")
    end_year, end_month = _add_months(moment.year, first_month, months)
    return (
        datetime(moment.year, first_month, 1, tzinfo=UTC),
        datetime(end_year, end_month, 1, tzinfo=UTC),
    )


@dataclass(frozen=True)
class RollupPoint:
    """One point of a series: a bucket, its combined inputs and the value recomputed from them."""

    start: datetime
    end: datetime
    inputs: Mapping[str, float]
    value: float
    count: int


@dataclass
class _Bucket:
    start: datetime
    end: datetime
    members: list[tuple[datetime, datetime, int, dict[str, float]]]


def _combine(definition: KpiDefinition, bucket: _Bucket) -> dict[str, float]:
    # The latest period wins; between equal periods, the one given last.
    latest = max(bucket.members, key=lambda member: member[:3])[3]
    combined: dict[str, float] = {}
    for spec in definition.inputs:
        if spec.aggregation is Aggregation.SUM:
            combined[spec.name] = math.fsum(member[3][spec.name] for member in bucket.members)
        elif spec.aggregation is Aggregation.LATEST:
            combined[spec.name] = latest[spec.name]
        else:
            distinct = {member[3][spec.name] for member in bucket.members}
            if len(distinct) > 1:
                raise ValidationFailed(
                    f"inputs.{spec.name}",
                    f"{spec.name} differs between measurements of the bucket starting "
                    f"{bucket.start.isoformat()}; values with different {spec.name} cannot "
                    "be rolled up together",
                )
            combined[spec.name] = latest[spec.name]
    return combined


def rollup(
    definition: KpiDefinition, measurements: Iterable[MeasuredPeriod], grain: Grain
) -> list[RollupPoint]:
    """Roll measurements up to ``grain`` and recompute each bucket's value from its inputs.

    Every measurement is validated first (errors name ``measurements[i].<field>``). Inputs are
    combined per their :class:`Aggregation` — never by averaging values. At ``RECORDED`` grain
    each distinct period is its own bucket. Points are ordered by bucket start.
    """
    buckets: dict[tuple[datetime, datetime], _Bucket] = {}
    for index, (start, end, inputs) in enumerate(measurements):
        try:
            start_utc, end_utc = validate_period(start, end)
            values, _ = measure(definition, inputs)
        except ValidationFailed as error:
            raise ValidationFailed(f"measurements[{index}].{error.field}", error.message) from None
        recorded = grain is Grain.RECORDED
        key = (start_utc, end_utc) if recorded else period_bucket(start_utc, grain)
        bucket = buckets.setdefault(key, _Bucket(key[0], key[1], []))
        bucket.members.append((start_utc, end_utc, index, values))
    points: list[RollupPoint] = []
    for key in sorted(buckets):
        bucket = buckets[key]
        combined = _combine(definition, bucket)
        value = evaluate(definition.expression, combined)
        points.append(
            RollupPoint(
                start=bucket.start,
                end=bucket.end,
                inputs=MappingProxyType(combined),
                value=value,
                count=len(bucket.members),
            )
        )
    return points
