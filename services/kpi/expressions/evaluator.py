"""The evaluation of a parsed formula over a measurement's inputs, blaming the input at fault
(``inputs.<name>``) for a missing or bad value, a zero denominator or an overflow."""

from __future__ import annotations

import math
from collections.abc import Mapping

from services.kpi.expressions.syntax import (
    FIELD,
    Expression,
    Name,
    Negate,
    Node,
    Number,
    names_in,
    render,
)
from services.runtime.errors import ValidationFailed


def _blame(node: Node) -> str:
    """The field to blame for a bad (sub)expression: its only input, or all inputs."""
    names = names_in(node)
    if len(names) == 1:
        return f"inputs.{next(iter(names))}"
    return "inputs" if names else FIELD


def _input_value(name: str, inputs: Mapping[str, float]) -> float:
    if name not in inputs:
        raise ValidationFailed(f"inputs.{name}", f"input {name} is required by the formula")
    raw = inputs[name]
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise ValidationFailed(f"inputs.{name}", f"input {name} must be a number")
    try:
        value = float(raw)
    except OverflowError:
        value = math.inf
    if not math.isfinite(value):
        raise ValidationFailed(f"inputs.{name}", f"input {name} must be a finite number")
    return value


def _eval(node: Node, inputs: Mapping[str, float]) -> float:
    if isinstance(node, Number):
        return node.value
    if isinstance(node, Name):
        return _input_value(node.name, inputs)
    if isinstance(node, Negate):
        return -_eval(node.operand, inputs)
    left = _eval(node.left, inputs)
    right = _eval(node.right, inputs)
    if node.op == "+":
        result = left + right
    elif node.op == "-":
        result = left - right
    elif node.op == "*":
        result = left * right
    else:
        if right == 0:
            raise ValidationFailed(
                _blame(node.right),
                f"denominator {render(node.right, 0)} is zero; division by zero is undefined",
            )
        result = left / right
    if not math.isfinite(result):
        raise ValidationFailed(
            _blame(node), f"result of {render(node, 0)} is not a finite number (overflow)"
        )
    return result


def evaluate(expression: Expression, inputs: Mapping[str, float]) -> float:
    """Compute ``expression`` over ``inputs`` (extra inputs are ignored).

    Raises ``ValidationFailed`` on a missing or non-numeric input (``inputs.<name>``), on a zero
    denominator (``inputs.<name>`` when the denominator uses one input, else ``inputs`` or
    ``formula``; message "denominator … is zero") and on a non-finite intermediate result.
    """
    return _eval(expression.root, inputs)
