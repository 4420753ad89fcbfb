"""Users' custom KPIs (§4.1): a definition checked by the same rules as the catalogue's.

A custom KPI's formula is in the safe expression language of :mod:`services.kpi.expressions`;
every input it uses needs a declared kind (see :mod:`services.kpi.domain` for the decisions).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from services.kpi.domain import (
    CATALOGUE,
    Direction,
    InputKind,
    InputSpec,
    KpiDefinition,
    KpiLevel,
    PartOf,
    Target,
    enum_member,
)
from services.kpi.expressions.parser import parse
from services.runtime.errors import ValidationFailed

CUSTOM_CODE_PATTERN = re.compile(r"[a-z][a-z0-9_]{2,63}")
"""Codes of custom KPIs: ``^[a-z][a-z0-9_]{2,63}$`` (matched in full)."""

MAX_KPI_NAME_LENGTH = 200
MAX_UNIT_LENGTH = 32


def _required_text(field_name: str, value: str, limit: int) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationFailed(field_name, f"{field_name} is required")
    text = value.strip()
    if len(text) > limit:
        raise ValidationFailed(field_name, f"{field_name} is longer than {limit} characters")
    return text


def define_custom_kpi(
    code: str,
    name: str,
    level: KpiLevel,
    unit: str,
    direction: Direction,
    formula: str,
    input_kinds: Mapping[str, InputKind],
    default_target: Target | None = None,
    parts: Sequence[tuple[str, str]] = (),
) -> KpiDefinition:
    """Validate a user's KPI and build its definition.

    The code must match ``^[a-z][a-z0-9_]{2,63}$`` and not be a catalogue code; the formula
    must parse and use at least one input; its inputs are exactly the names the formula uses,
    each with a declared kind (``input_kinds``). ``parts`` are optional ``(part, whole)``
    rules. Custom inputs are summed on roll-up.
    """
    if not isinstance(code, str) or CUSTOM_CODE_PATTERN.fullmatch(code) is None:
        raise ValidationFailed(
            "code",
            "code must match ^[a-z][a-z0-9_]{2,63}$ (a lowercase letter, then 2-63 lowercase "
            "letters, digits or underscores)",
        )
    if code in CATALOGUE:
        raise ValidationFailed("code", f"code {code} is a built-in catalogue KPI")
    name = _required_text("name", name, MAX_KPI_NAME_LENGTH)
    unit = _required_text("unit", unit, MAX_UNIT_LENGTH)
    level = enum_member(KpiLevel, level, "level")
    direction = enum_member(Direction, direction, "direction")
    expression = parse(formula)
    if not expression.inputs:
        raise ValidationFailed("formula", "formula must use at least one input")
    for input_name in sorted(input_kinds):
        if input_name not in expression.inputs:
            raise ValidationFailed(
                f"inputs.{input_name}", f"input {input_name} is not used by the formula"
            )
    specs: list[InputSpec] = []
    for input_name in sorted(expression.inputs):
        if input_name not in input_kinds:
            raise ValidationFailed(
                f"inputs.{input_name}", f"declare the kind of input {input_name}"
            )
        kind = enum_member(InputKind, input_kinds[input_name], f"inputs.{input_name}")
        specs.append(InputSpec(input_name, kind))
    return KpiDefinition(
        code=code,
        name=name,
        level=level,
        unit=unit,
        direction=direction,
        formula=formula,
        inputs=tuple(specs),
        default_target=default_target,
        parts=tuple(PartOf(part, whole) for part, whole in parts),
    )
