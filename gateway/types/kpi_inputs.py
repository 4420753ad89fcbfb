"""The inputs of the kpi queries and mutations; :func:`gateway.types.common.request_model`
turns each into the request model of the kpi service."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TypeVar

import strawberry

from gateway.types.kpi_catalogue import (
    KpiDirection,
    KpiInputKind,
    KpiLevel,
    MeasurementSource,
)
from gateway.types.risk import Comparator
from services.runtime.errors import ValidationFailed

Value = TypeVar("Value")


@strawberry.input(description='A named input value, e.g. {name: "within_sla", value: 95}.')
class KpiInputValueInput:
    name: str
    value: float


@strawberry.input(
    description="A KPI measured for a shop (or the platform) and a period "
    "[periodStart, periodEnd); replace (with a reason) revises one."
)
class RecordMeasurementInput:
    shop_id: strawberry.ID = strawberry.field(description='A shop id, or "platform".')
    kpi_code: str
    period_start: datetime
    period_end: datetime
    inputs: list[KpiInputValueInput]
    source: MeasurementSource = MeasurementSource.MANUAL
    replace: bool = False
    reason: str | None = strawberry.UNSET


@strawberry.input(
    description="A shop's target for a KPI; a period limits it to measurements "
    "within [periodStart, periodEnd)."
)
class KpiTargetInput:
    comparator: Comparator
    value: float
    period_start: datetime | None = strawberry.UNSET
    period_end: datetime | None = strawberry.UNSET


@strawberry.input(description="A threshold: value <comparator> value.")
class KpiThresholdInput:
    comparator: Comparator
    value: float


@strawberry.input(description="A declared input of a custom KPI.")
class KpiInputSpecInput:
    name: str
    kind: KpiInputKind


@strawberry.input(description='"A part may not exceed its whole": part ≤ whole (a formula).')
class KpiPartRuleInput:
    part: str
    whole: str


@strawberry.input(
    description="A custom KPI: a formula over declared inputs, in the safe "
    "expression language (numbers, input names, + - * /, parentheses)."
)
class CreateCustomKpiInput:
    code: str
    name: str
    level: KpiLevel
    unit: str
    direction: KpiDirection
    formula: str
    inputs: list[KpiInputSpecInput]
    default_target: KpiThresholdInput | None = strawberry.UNSET
    parts: list[KpiPartRuleInput] = strawberry.field(default_factory=list)


@strawberry.input(
    description="The thirteen indicators of a period (§4.4); c1 and c are fractions 0–1, the "
    "others ≥ 0; churn ≤ c · reach · c1 and rt ≤ q1 (no negative clients or deals)."
)
class ProfitIndicatorsInput:
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


@strawberry.input(description="A baseline period and a scenario period.")
class ProfitWhatIfInput:
    baseline: ProfitIndicatorsInput
    scenario: ProfitIndicatorsInput


@strawberry.input(description="Two periods of `months` months each and the investment made.")
class FinancialKpisInput:
    before: ProfitIndicatorsInput
    after: ProfitIndicatorsInput
    investment: float = strawberry.field(
        description="The amount invested in the period (> 0), not a running total."
    )
    months: float


def by_name(pairs: Iterable[tuple[str, Value]], field: str) -> dict[str, Value]:
    """``(name, value)`` pairs as the wire's ``{name: value}``; a repeated name is an error
    naming ``<field>.<name>``."""
    values: dict[str, Value] = {}
    for name, value in pairs:
        if name in values:
            raise ValidationFailed(f"{field}.{name}", f"input {name!r} is repeated")
        values[name] = value
    return values
