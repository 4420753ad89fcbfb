"""The safe expression language of KPI formulas (§4.1).

A formula is arithmetic over named inputs::

    formula  := sum
    sum      := product (("+" | "-") product)*
    product  := unary (("*" | "/") unary)*
    unary    := "-"* primary
    primary  := NUMBER | NAME | "(" sum ")"
    NUMBER   := [0-9]+ ("." [0-9]+)? ([eE] [+-]? [0-9]+)?
    NAME     := [a-z_][a-z0-9_]*          (lowercase ASCII, at most 64 characters)

Blanks (space, tab, CR, LF) separate tokens. Only ASCII digits and letters are accepted, so
unicode digits, upper-case names, attribute access, calls, ``**``, quotes and ``$`` are all
rejected with the column where they occur. The source is tokenized and parsed by hand into an
AST of frozen dataclasses and interpreted by :func:`evaluate`; nothing is ever handed to
``eval``, ``exec`` or ``compile``.

Hostile input is bounded before any work grows with it: at most :data:`MAX_SOURCE_LENGTH`
characters, :data:`MAX_TOKENS` tokens and :data:`MAX_DEPTH` levels of parentheses. Unary minus
is parsed in a loop, so the parser recurses only on parentheses, and every AST :func:`parse`
returns has fewer nodes than :data:`MAX_TOKENS`, which keeps :func:`evaluate` and
:func:`to_source` far from Python's recursion limit.

Every failure is a :class:`~services.runtime.errors.ValidationFailed`: parse errors concern the
field ``formula``; evaluation errors concern ``inputs.<name>`` when one input is to blame.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Literal, TypeAlias

from services.runtime.errors import ValidationFailed

MAX_SOURCE_LENGTH = 500
"""The longest formula accepted, in characters."""

MAX_TOKENS = 200
"""The most tokens (numbers, names, operators, parentheses) a formula may have."""

MAX_DEPTH = 32
"""The deepest nesting of parentheses a formula may have."""

MAX_NAME_LENGTH = 64
"""The longest input name accepted."""

FIELD = "formula"
"""The field parse errors concern."""

Operator: TypeAlias = Literal["+", "-", "*", "/"]

_OPERATORS: frozenset[str] = frozenset({"+", "-", "*", "/"})
_PRECEDENCE: dict[str, int] = {"+": 1, "-": 1, "*": 2, "/": 2}
_UNARY_PRECEDENCE = 3
_ATOM_PRECEDENCE = 4
_BLANKS = frozenset(" \t\r\n")
_DIGITS = frozenset("0123456789")
_NAME_START = frozenset("abcdefghijklmnopqrstuvwxyz_")
_NAME_CHARS = _NAME_START | _DIGITS


def is_input_name(text: str) -> bool:
    """Whether ``text`` is a valid input name (``[a-z_][a-z0-9_]*``, at most 64 characters)."""
    return (
        0 < len(text) <= MAX_NAME_LENGTH
        and text[0] in _NAME_START
        and all(ch in _NAME_CHARS for ch in text)
    )


# --------------------------------------------------------------------------------------------
# The AST
# --------------------------------------------------------------------------------------------


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
        if self.op not in _OPERATORS:
            raise ValueError(f"unknown operator {self.op!r}")


Node: TypeAlias = Number | Name | Negate | BinaryOp


def _names(node: Node) -> frozenset[str]:
    if isinstance(node, Name):
        return frozenset({node.name})
    if isinstance(node, Number):
        return frozenset()
    if isinstance(node, Negate):
        return _names(node.operand)
    return _names(node.left) | _names(node.right)


@dataclass(frozen=True, slots=True)
class Expression:
    """A parsed formula: the root of its AST. Compare and hash by structure."""

    root: Node

    @property
    def inputs(self) -> frozenset[str]:
        """The names of the inputs the formula uses."""
        return _names(self.root)

    def __str__(self) -> str:
        return to_source(self)


# --------------------------------------------------------------------------------------------
# Tokenizer
# --------------------------------------------------------------------------------------------


class _Kind(Enum):
    NUMBER = "number"
    NAME = "name"
    OPERATOR = "operator"
    LPAREN = "'('"
    RPAREN = "')'"
    END = "end of formula"


@dataclass(frozen=True, slots=True)
class _Token:
    kind: _Kind
    text: str
    column: int  # 1-based

    def describe(self) -> str:
        return "end of formula" if self.kind is _Kind.END else repr(self.text)


def _fail(column: int, message: str, hint: str = "") -> ValidationFailed:
    return ValidationFailed(FIELD, f"{message} at column {column}{hint}")


def _scan_digits(source: str, i: int) -> int:
    while i < len(source) and source[i] in _DIGITS:
        i += 1
    return i


def _scan_number(source: str, start: int) -> int:
    """The index just past the number literal starting at ``start``."""
    i = _scan_digits(source, start)
    if i < len(source) and source[i] == ".":
        j = _scan_digits(source, i + 1)
        if j == i + 1:
            raise _fail(i + 2, "expected a digit after the decimal point")
        i = j
    if i < len(source) and source[i] in "eE":
        j = i + 1
        if j < len(source) and source[j] in "+-":
            j += 1
        k = _scan_digits(source, j)
        if k == j:
            raise _fail(j + 1, "expected the digits of the exponent")
        i = k
    return i


def _tokenize(source: str) -> list[_Token]:
    tokens: list[_Token] = []
    i = 0
    while i < len(source):
        ch = source[i]
        column = i + 1
        if ch in _BLANKS:
            i += 1
            continue
        if len(tokens) >= MAX_TOKENS:
            raise ValidationFailed(FIELD, f"formula has more than {MAX_TOKENS} tokens")
        if ch in _DIGITS:
            end = _scan_number(source, i)
            tokens.append(_Token(_Kind.NUMBER, source[i:end], column))
            i = end
        elif ch in _NAME_START:
            end = i
            while end < len(source) and source[end] in _NAME_CHARS:
                end += 1
            if end - i > MAX_NAME_LENGTH:
                raise _fail(column, f"input name is longer than {MAX_NAME_LENGTH} characters")
            tokens.append(_Token(_Kind.NAME, source[i:end], column))
            i = end
        elif ch in _OPERATORS:
            tokens.append(_Token(_Kind.OPERATOR, ch, column))
            i += 1
        elif ch == "(":
            tokens.append(_Token(_Kind.LPAREN, ch, column))
            i += 1
        elif ch == ")":
            tokens.append(_Token(_Kind.RPAREN, ch, column))
            i += 1
        else:
            hint = ""
            if "A" <= ch <= "Z":
                hint = "; input names are lowercase ([a-z_][a-z0-9_]*)"
            elif ch.isdigit():
                hint = "; only ASCII digits 0-9 are allowed"
            raise _fail(
                column,
                f"unexpected character {ch!r}",
                f"{hint}; a formula has numbers, input names, + - * / and parentheses",
            )
    tokens.append(_Token(_Kind.END, "", len(source) + 1))
    return tokens


# --------------------------------------------------------------------------------------------
# Parser
# --------------------------------------------------------------------------------------------


class _Parser:
    """Recursive descent over the token list; recursion happens only on parentheses."""

    def __init__(self, tokens: list[_Token]) -> None:
        self._tokens = tokens
        self._pos = 0
        self._depth = 0

    def _peek(self) -> _Token:
        return self._tokens[self._pos]

    def _advance(self) -> _Token:
        token = self._tokens[self._pos]
        self._pos += 1
        return token

    def parse(self) -> Node:
        node = self._sum()
        token = self._peek()
        if token.kind is not _Kind.END:
            expected = "an operator (+ - * /)"
            if self._depth == 0 and token.kind is _Kind.RPAREN:
                expected = "an operator (+ - * /); this ')' has no matching '('"
            raise _fail(token.column, f"expected {expected}, found {token.describe()}")
        return node

    def _sum(self) -> Node:
        node = self._product()
        while self._peek().kind is _Kind.OPERATOR and self._peek().text in "+-":
            op = self._advance().text
            node = BinaryOp(_as_operator(op), node, self._product())
        return node

    def _product(self) -> Node:
        node = self._unary()
        while self._peek().kind is _Kind.OPERATOR and self._peek().text in "*/":
            op = self._advance().text
            node = BinaryOp(_as_operator(op), node, self._unary())
        return node

    def _unary(self) -> Node:
        negations = 0
        while self._peek().kind is _Kind.OPERATOR and self._peek().text == "-":
            self._advance()
            negations += 1
        node = self._primary()
        for _ in range(negations):
            node = Negate(node)
        return node

    def _primary(self) -> Node:
        token = self._advance()
        if token.kind is _Kind.NUMBER:
            value = float(token.text)  # the text matched the NUMBER grammar above
            if not math.isfinite(value):
                raise _fail(token.column, f"number {token.text} is too large")
            return Number(value)
        if token.kind is _Kind.NAME:
            return Name(token.text)
        if token.kind is _Kind.LPAREN:
            self._depth += 1
            if self._depth > MAX_DEPTH:
                raise _fail(token.column, f"parentheses are nested deeper than {MAX_DEPTH} levels")
            node = self._sum()
            closing = self._advance()
            if closing.kind is not _Kind.RPAREN:
                raise _fail(
                    closing.column,
                    f"expected ')' to close the '(' at column {token.column}, "
                    f"found {closing.describe()}",
                )
            self._depth -= 1
            return node
        raise _fail(
            token.column,
            "expected a number, an input name, '(' or '-', found " + token.describe(),
        )


def _as_operator(text: str) -> Operator:
    if text == "+":
        return "+"
    if text == "-":
        return "-"
    if text == "*":
        return "*"
    return "/"


def parse(source: str) -> Expression:
    """Parse a formula into an :class:`Expression`.

    Raises ``ValidationFailed(field="formula")`` naming the column and what was expected when
    the source is empty, too long, too deeply nested, has too many tokens or breaks the grammar.
    """
    if not isinstance(source, str):
        raise ValidationFailed(FIELD, "formula must be a string")
    if len(source) > MAX_SOURCE_LENGTH:
        raise ValidationFailed(
            FIELD, f"formula is longer than {MAX_SOURCE_LENGTH} characters ({len(source)})"
        )
    if not source.strip(" \t\r\n"):
        raise ValidationFailed(FIELD, "formula is empty")
    return Expression(_Parser(_tokenize(source)).parse())


# --------------------------------------------------------------------------------------------
# Evaluation
# --------------------------------------------------------------------------------------------


def _blame(node: Node) -> str:
    """The field to blame for a bad (sub)expression: its only input, or all inputs."""
    names = _names(node)
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
                f"denominator {_render(node.right, 0)} is zero; division by zero is undefined",
            )
        result = left / right
    if not math.isfinite(result):
        raise ValidationFailed(
            _blame(node), f"result of {_render(node, 0)} is not a finite number (overflow)"
        )
    return result


def evaluate(expression: Expression, inputs: Mapping[str, float]) -> float:
    """Compute ``expression`` over ``inputs`` (extra inputs are ignored).

    Raises ``ValidationFailed`` on a missing or non-numeric input (``inputs.<name>``), on a zero
    denominator (``inputs.<name>`` when the denominator uses one input, else ``inputs`` or
    ``formula``; message "denominator … is zero") and on a non-finite intermediate result.
    """
    return _eval(expression.root, inputs)


# --------------------------------------------------------------------------------------------
# Canonical source
# --------------------------------------------------------------------------------------------


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


def _render(node: Node, context: int) -> str:
    """Render ``node``; parenthesise it when its precedence is below ``context``."""
    if isinstance(node, Number):
        text = _number_source(node.value)
    elif isinstance(node, Name):
        text = node.name
    elif isinstance(node, Negate):
        # "-(a + b)" and "-(a * b)", but "--a": nested negations need no parentheses (and
        # adding them would nest deeper than MAX_DEPTH for long chains).
        text = "-" + _render(node.operand, _UNARY_PRECEDENCE)
    else:
        prec = _PRECEDENCE[node.op]
        # Operators are left-associative: an equal-precedence right operand keeps its parens.
        text = f"{_render(node.left, prec)} {node.op} {_render(node.right, prec + 1)}"
    if _precedence(node) < context:
        return f"({text})"
    return text


def to_source(expression: Expression) -> str:
    """The canonical text of ``expression``: single spaces around binary operators and only
    the parentheses the structure needs, so ``parse(to_source(e)) == e``."""
    return _render(expression.root, 0)
