"""The tokenizer and the recursive-descent parser of formulas: source text to an
:class:`~.syntax.Expression`, with hostile input bounded first (length, tokens, depth) and
every error naming its column."""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum

from services.kpi.expressions.syntax import (
    DIGITS,
    FIELD,
    MAX_NAME_LENGTH,
    NAME_CHARS,
    NAME_START,
    OPERATORS,
    BinaryOp,
    Expression,
    Name,
    Negate,
    Node,
    Number,
    Operator,
)
from services.runtime.errors import ValidationFailed

MAX_SOURCE_LENGTH = 500
"""The longest formula accepted, in characters."""

MAX_TOKENS = 200
"""The most tokens (numbers, names, operators, parentheses) a formula may have."""

MAX_DEPTH = 32
"""The deepest nesting of parentheses a formula may have."""

_BLANKS = frozenset(" \t\r\n")


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
    while i < len(source) and source[i] in DIGITS:
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
        if ch in DIGITS:
            end = _scan_number(source, i)
            tokens.append(_Token(_Kind.NUMBER, source[i:end], column))
            i = end
        elif ch in NAME_START:
            end = i
            while end < len(source) and source[end] in NAME_CHARS:
                end += 1
            if end - i > MAX_NAME_LENGTH:
                raise _fail(column, f"input name is longer than {MAX_NAME_LENGTH} characters")
            tokens.append(_Token(_Kind.NAME, source[i:end], column))
            i = end
        elif ch in OPERATORS:
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
