"""The AST of a formula and its canonical source: what :mod:`.parser` builds, what
:mod:`.evaluator` computes and what :func:`to_source` renders back, so that the three agree on
one vocabulary (names, operators, precedence)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, TypeAlias

MAX_NAME_LENGTH = 64
"""The longest input name accepted."""

FIELD = "formula"
"""The field parse errors concern."""

Operator: TypeAlias = Literal["+", "-", "*", "/"]

OPERATORS: frozenset[str] = frozenset({"+", "-", "*", "/"})
_PRECEDENCE: dict[str, int] = {"+": 1, "-": 1, "*": 2, "/": 2}
_UNARY_PRECEDENCE = 3
_ATOM_PRECEDENCE = 4
DIGITS = frozenset("0123456789")
NAME_START = frozenset("abcdefghijklmnopqrstuvwxyz_")
NAME_CHARS = NAME_START | DIGITS


def is_input_name(text: str) -> bool:
    """Whether ``text`` is a valid input name (``[a-z_][a-z0-9_]*``, at most 64 characters)."""
    return (
        0 < len(text) <= MAX_NAME_LENGTH
        and text[0] in NAME_START
        and all(ch in NAME_CHARS for ch in text)
    )


@dataclass(frozen=True, slots=True)
class Number:
    """A numeric literal; always finite and non-negative (``-`` is a :class:`Negate`)."""

    value: float

    def __post_init__(self) -> None:
        if not math.isfinite(self.value) or self.value < 0:
            raise ValueError(f"a Number literal must be finite and >= 0, got {self.value!r}")


@dataclass(frozen=True, slots=True)
class Name:
    """A reference to a named input."""

    name: str

    def __post_init__(self) -> None:
        if not is_input_name(self.name):
            raise ValueError(f"invalid input name {self.name!r}")


@dataclass(frozen=True, slots=True)
class Negate:
    """Unary minus."""

    operand: Node


@dataclass(frozen=True, slots=True)
class BinaryOp:
    """One of ``+ - * /`` applied to two operands."""

    op: Operator
    left: Node
    right: Node

    def __post_init__(self) -> None:
        if self.op not in OPERATORS:
            raise ValueError(f"unknown operator {self.op!r}")


Node: TypeAlias = Number | Name | Negate | BinaryOp


def names_in(node: Node) -> frozenset[str]:
    """The names of the inputs ``node`` uses."""
    if isinstance(node, Name):
        return frozenset({node.name})
    if isinstance(node, Number):
        return frozenset()
    if isinstance(node, Negate):
        return names_in(node.operand)
    return names_in(node.left) | names_in(node.right)


@dataclass(frozen=True, slots=True)
class Expression:
    """A parsed formula: the root of its AST. Compare and hash by structure."""

    root: Node

    @property
    def inputs(self) -> frozenset[str]:
        """The names of the inputs the formula uses."""
        return names_in(self.root)

    def __str__(self) -> str:
        return to_source(self)


def _precedence(node: Node) -> int:
    if isinstance(node, BinaryOp):
        return _PRECEDENCE[node.op]
    if isinstance(node, Negate):
        return _UNARY_PRECEDENCE
    return _ATOM_PRECEDENCE


def _number_source(value: float) -> str:
    if value.is_integer() and value < 1e16:
        return str(int(value))
    return repr(value)


def render(node: Node, context: int) -> str:
    """Render ``node``; parenthesise it when its precedence is below ``context``."""
    if isinstance(node, Number):
        text = _number_source(node.value)
    elif isinstance(node, Name):
        text = node.name
    elif isinstance(node, Negate):
        # "-(a + b)" and "-(a * b)", but "--a": nested negations need no parentheses (and
        # adding them would nest deeper than MAX_DEPTH for long chains).
        text = "-" + render(node.operand, _UNARY_PRECEDENCE)
    else:
        prec = _PRECEDENCE[node.op]
        # Operators are left-associative: an equal-precedence right operand keeps its parens.
        text = f"{render(node.left, prec)} {node.op} {render(node.right, prec + 1)}"
    if _precedence(node) < context:
        return f"({text})"
    return text


def to_source(expression: Expression) -> str:
    """The canonical text of ``expression``: single spaces around binary operators and only
    the parentheses the structure needs, so ``parse(to_source(e)) == e``."""
    return render(expression.root, 0)
