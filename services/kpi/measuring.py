"""A measurement's value (§4.2): its raw inputs checked against the KPI's declared kinds, the
formula computed over them, then each part checked against its whole.

Kept apart from :mod:`services.kpi.domain`, which holds the vocabulary and the catalogue these
checks read; the order of checks is one of the decisions listed there.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeAlias

from services.kpi.domain import InputKind, KpiDefinition, require_finite
from services.kpi.expressions.evaluator import evaluate
from services.runtime.errors import ValidationFailed

InputValue: TypeAlias = float | int
"""A raw input value as a measurement carries it."""


def _check_kind(name: str, kind: InputKind, value: object) -> float:
    field_name = f"inputs.{name}"
    number = require_finite(field_name, value)
    if kind is InputKind.COUNT:
        if number < 0 or not number.is_integer():
            raise ValidationFailed(field_name, f"{name} is a count: a non-negative integer")
    elif kind in (InputKind.DURATION, InputKind.NON_NEGATIVE_AMOUNT):
        if number < 0:
            raise ValidationFailed(field_name, f"{name} may not be negative")
    elif kind is InputKind.POSITIVE_AMOUNT and number <= 0:
        raise ValidationFailed(field_name, f"{name} must be positive")
    return number


def _normalise_inputs(
    definition: KpiDefinition, inputs: Mapping[str, InputValue]
) -> dict[str, float]:
    declared = definition.input_names
    for name in sorted(str(key) for key in inputs):
        if name not in declared:
            raise ValidationFailed(
                f"inputs.{name}",
                f"unknown input {name} for KPI {definition.code}; expected {', '.join(declared)}",
            )
    values: dict[str, float] = {}
    for spec in definition.inputs:
        if spec.name not in inputs:
            raise ValidationFailed(
                f"inputs.{spec.name}", f"input {spec.name} is required by KPI {definition.code}"
            )
        values[spec.name] = _check_kind(spec.name, spec.kind, inputs[spec.name])
    return values


def _check_parts(definition: KpiDefinition, values: Mapping[str, float]) -> None:
    for part, whole in definition._wholes:
        limit = evaluate(whole, values)
        if values[part] > limit:
            raise ValidationFailed(
                f"inputs.{part}",
                f"{part} ({values[part]:g}) may not exceed {whole} ({limit:g}): "
                "a part may not exceed its whole",
            )


def measure(
    definition: KpiDefinition, inputs: Mapping[str, InputValue]
) -> tuple[dict[str, float], float]:
    """A measurement's inputs as checked numbers and its value (see :func:`compute_value`)."""
    values = _normalise_inputs(definition, inputs)
    value = evaluate(definition.expression, values)
    _check_parts(definition, values)
    return values, value


def compute_value(definition: KpiDefinition, inputs: Mapping[str, InputValue]) -> float:
    """Validate a measurement's raw inputs and compute the KPI's value from its formula.

    Rejects, with field ``inputs.<name>``: unknown and missing inputs, values that break the
    input's kind, a zero denominator, a non-finite result and a part above its whole.
    """
    return measure(definition, inputs)[1]
