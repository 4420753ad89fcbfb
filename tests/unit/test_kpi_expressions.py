"""The safe expression language of KPI formulas."""

from __future__ import annotations

import builtins
import math
import random

import pytest

from services.kpi.expressions.evaluator import evaluate
from services.kpi.expressions.parser import MAX_DEPTH, MAX_SOURCE_LENGTH, MAX_TOKENS, parse
from services.kpi.expressions.syntax import (
    BinaryOp,
    Expression,
    Name,
    Negate,
    Node,
    Number,
    Operator,
    is_input_name,
    to_source,
)
from services.runtime.errors import ErrorCode, ValidationFailed


def value_of(source: str, **inputs: float) -> float:
    return evaluate(parse(source), inputs)


def parse_error(source: str) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as caught:
        parse(source)
    assert caught.value.field == "formula"
    assert caught.value.code is ErrorCode.VALIDATION_ERROR
    return caught.value


def eval_error(source: str, **inputs: float) -> ValidationFailed:
    expression = parse(source)
    with pytest.raises(ValidationFailed) as caught:
        evaluate(expression, inputs)
    return caught.value


# ------------------------------------------------------------------------------------------
# Parsing and the AST
# ------------------------------------------------------------------------------------------


def test_parse_builds_the_ast() -> None:
    assert parse("within_sla / total * 100") == Expression(
        BinaryOp("*", BinaryOp("/", Name("within_sla"), Name("total")), Number(100.0))
    )


def test_multiplication_binds_tighter_than_addition() -> None:
    assert parse("a + b * c").root == BinaryOp("+", Name("a"), BinaryOp("*", Name("b"), Name("c")))
    assert value_of("2 + 3 * 4") == 14


@pytest.mark.parametrize(
    ("source", "expected"),
    [("10 - 4 - 3", 3.0), ("64 / 4 / 2", 8.0), ("2 - 3 + 4", 3.0), ("8 / 2 * 4", 16.0)],
)
def test_operators_are_left_associative(source: str, expected: float) -> None:
    assert value_of(source) == expected


def test_parentheses_override_precedence() -> None:
    assert value_of("(2 + 3) * 4") == 20
    assert value_of("10 - (4 - 3)") == 9
    assert value_of("((((7))))") == 7


def test_unary_minus() -> None:
    assert parse("-a").root == Negate(Name("a"))
    assert value_of("-a * b", a=2, b=3) == -6
    assert value_of("a - -b", a=2, b=3) == 5
    assert value_of("--a", a=2) == 2
    assert value_of("-(a + b)", a=2, b=3) == -5


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("0", 0.0),
        ("42", 42.0),
        ("3.25", 3.25),
        ("1e3", 1000.0),
        ("2.5E-1", 0.25),
        ("1e+2", 100.0),
        ("007", 7.0),
    ],
)
def test_number_literals(source: str, expected: float) -> None:
    assert value_of(source) == expected


def test_blanks_are_ignored() -> None:
    assert value_of(" \t a\n*\r\n2 ", a=4) == 8


def test_inputs_lists_the_names_used() -> None:
    assert parse("a + b * a - 3 / (c_1 + _d)").inputs == frozenset({"a", "b", "c_1", "_d"})
    assert parse("1 + 2").inputs == frozenset()


def test_names_are_lowercase_ascii() -> None:
    assert is_input_name("total_response_seconds")
    assert is_input_name("_x9")
    for bad in ("", "Total", "9a", "a-b", "é", "a" * 65, "$where"):
        assert not is_input_name(bad)


def test_ast_nodes_reject_invalid_construction() -> None:
    with pytest.raises(ValueError, match="finite"):
        Number(math.inf)
    with pytest.raises(ValueError, match=">= 0"):
        Number(-1.0)
    with pytest.raises(ValueError, match="invalid input name"):
        Name("Bad")
    with pytest.raises(ValueError, match="unknown operator"):
        BinaryOp("**", Name("a"), Name("b"))  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------------
# Parse errors
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "fragment"),
    [
        ("", "formula is empty"),
        ("   \n\t", "formula is empty"),
        ("a +", "expected a number, an input name, '(' or '-', found end of formula at column 4"),
        ("a * / b", "found '/' at column 5"),
        ("(a + b", "expected ')' to close the '(' at column 1, found end of formula"),
        ("a + b)", "this ')' has no matching '('"),
        ("a b", "expected an operator (+ - * /), found 'b' at column 3"),
        ("2a", "found 'a' at column 2"),
        ("()", "found ')' at column 2"),
        ("1.", "expected a digit after the decimal point at column 3"),
        (".5", "unexpected character '.' at column 1"),
        ("1e", "expected the digits of the exponent at column 3"),
        ("1e+", "expected the digits of the exponent at column 4"),
        ("+a", "found '+' at column 1"),
    ],
)
def test_syntax_errors_name_the_column_and_what_was_expected(source: str, fragment: str) -> None:
    assert fragment in parse_error(source).message


@pytest.mark.parametrize(
    ("source", "fragment"),
    [
        ("__import__('os')", 'unexpected character "\'" at column 12'),
        ('__import__("os").system("ls")', "unexpected character '\"' at column 12"),
        ("a.b", "unexpected character '.' at column 2"),
        ("a**b", "found '*' at column 3"),
        ("a // b", "found '/' at column 4"),
        ("a % b", "unexpected character '%'"),
        ("$where", "unexpected character '$' at column 1"),
        ("{'$gt': ''}", "unexpected character '{'"),
        ("a[0]", "unexpected character '['"),
        ("f(x)", "found '(' at column 2"),
        ("lambda: 1", "unexpected character ':'"),
        ("a; b", "unexpected character ';'"),
        ("a if b else c", "expected an operator (+ - * /), found 'if' at column 3"),
        ("Total / 2", "input names are lowercase"),
        ("\u0661\u0662", "only ASCII digits 0-9 are allowed"),  # Arabic-Indic digits
        ("\uff11 + 1", "only ASCII digits 0-9 are allowed"),  # full-width one
        ("2\u00b2", "only ASCII digits 0-9 are allowed"),  # superscript two
        ("caf\u00e9", "unexpected character '\u00e9' at column 4"),
        ("a\u200bb", "unexpected character '\\u200b' at column 2"),  # zero-width space
        ("a\x00", "unexpected character '\\x00' at column 2"),
        ("1 \u2212 2", "unexpected character '\u2212'"),  # unicode minus sign
    ],
)
def test_hostile_input_is_rejected(source: str, fragment: str) -> None:
    assert fragment in parse_error(source).message


def test_a_number_too_large_for_a_float_is_rejected() -> None:
    assert "number 1e999 is too large at column 3" in parse_error("a*1e999").message
    assert "too large" in parse_error("9" * 400).message


def test_tiny_numbers_underflow_to_zero() -> None:
    assert value_of("1e-999") == 0.0


def test_source_length_is_limited() -> None:
    at_limit = "1" + " " * (MAX_SOURCE_LENGTH - 1)
    assert value_of(at_limit) == 1
    message = parse_error(at_limit + " ").message
    assert f"longer than {MAX_SOURCE_LENGTH} characters" in message


def test_very_long_sources_fail_fast_on_length() -> None:
    assert "longer than" in parse_error("a" * 1_000_000).message
    assert "longer than" in parse_error("1+" * 500_000 + "1").message


def test_ten_thousand_nested_parentheses_are_rejected_without_recursion_error() -> None:
    source = "(" * 10_000 + "1" + ")" * 10_000
    assert "longer than" in parse_error(source).message


def test_nesting_depth_is_limited() -> None:
    assert value_of("(" * MAX_DEPTH + "a" + ")" * MAX_DEPTH, a=3) == 3
    too_deep = "(" * (MAX_DEPTH + 1) + "a" + ")" * (MAX_DEPTH + 1)
    message = parse_error(too_deep).message
    assert f"nested deeper than {MAX_DEPTH} levels at column {MAX_DEPTH + 1}" in message


def test_unclosed_deep_nesting_within_limits_reports_the_missing_parenthesis() -> None:
    assert "expected ')'" in parse_error("(" * MAX_DEPTH + "a").message


def test_token_count_is_limited() -> None:
    at_limit = "+".join(["1"] * ((MAX_TOKENS + 1) // 2))  # 100 numbers, 99 operators
    assert value_of(at_limit) == (MAX_TOKENS + 1) // 2
    over = "+".join(["1"] * ((MAX_TOKENS + 1) // 2 + 1))
    assert f"more than {MAX_TOKENS} tokens" in parse_error(over).message


def test_a_long_chain_of_unary_minus_does_not_recurse_in_the_parser() -> None:
    source = "-" * (MAX_TOKENS - 1) + "a"
    expression = parse(source)
    assert evaluate(expression, {"a": 2}) == -2  # 199 negations
    assert parse(to_source(expression)) == expression


def test_name_length_is_limited() -> None:
    assert value_of("a" * 64, **{"a" * 64: 5}) == 5
    assert "longer than 64 characters" in parse_error("a" * 65).message


def test_parse_rejects_non_strings() -> None:
    with pytest.raises(ValidationFailed, match="must be a string"):
        parse(123)  # type: ignore[arg-type]


def test_nothing_is_handed_to_eval_exec_or_compile(monkeypatch: pytest.MonkeyPatch) -> None:
    def forbidden(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("eval/exec/compile must never be used")

    for name in ("eval", "exec", "compile"):
        monkeypatch.setattr(builtins, name, forbidden)
    assert value_of("(a + 2) * -b / 4", a=2, b=3) == -3


# ------------------------------------------------------------------------------------------
# Evaluation errors
# ------------------------------------------------------------------------------------------


def test_missing_input_names_the_field() -> None:
    error = eval_error("a + b", a=1)
    assert error.field == "inputs.b"
    assert "input b is required" in error.message


def test_extra_inputs_are_ignored_by_evaluate() -> None:
    assert value_of("a", a=1, b=2) == 1


def test_division_by_a_zero_input_names_the_denominator() -> None:
    error = eval_error("total_response_seconds / requests", total_response_seconds=3, requests=0)
    assert error.field == "inputs.requests"
    assert error.message.startswith("denominator requests is zero")


def test_division_by_an_expression_of_one_input_names_that_input() -> None:
    error = eval_error("a / (2 * b)", a=1, b=0)
    assert error.field == "inputs.b"
    assert "denominator 2 * b is zero" in error.message


def test_division_by_an_expression_of_several_inputs_names_them_all() -> None:
    error = eval_error("x / (a - b)", x=1, a=2, b=2)
    assert error.field == "inputs"
    assert "denominator a - b is zero" in error.message


def test_division_by_a_zero_constant_blames_the_formula() -> None:
    error = eval_error("a / (1 - 1)", a=1)
    assert error.field == "formula"
    assert "denominator 1 - 1 is zero" in error.message


def test_negative_zero_is_zero() -> None:
    assert eval_error("a / -b", a=1, b=0).field == "inputs.b"


def test_overflow_is_a_clear_error() -> None:
    error = eval_error("a * a", a=1e200)
    assert error.field == "inputs.a"
    assert "not a finite number (overflow)" in error.message
    assert eval_error("a * b", a=1e200, b=1e200).field == "inputs"
    assert eval_error("a / b", a=1e300, b=1e-300).field == "inputs"


@pytest.mark.parametrize("bad", [math.inf, -math.inf, math.nan, 10**400])
def test_non_finite_inputs_are_rejected(bad: float) -> None:
    error = eval_error("a + 1", a=bad)
    assert error.field == "inputs.a"
    assert "finite" in error.message


@pytest.mark.parametrize("bad", [True, "3", None, [1]])
def test_non_numeric_inputs_are_rejected(bad: object) -> None:
    expression = parse("a + 1")
    with pytest.raises(ValidationFailed, match="must be a number") as caught:
        evaluate(expression, {"a": bad})  # type: ignore[dict-item]
    assert caught.value.field == "inputs.a"


def test_integer_inputs_are_accepted() -> None:
    assert value_of("a / b", a=3, b=4) == 0.75


# ------------------------------------------------------------------------------------------
# Canonical source
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "canonical"),
    [
        ("within_sla/total*100", "within_sla / total * 100"),
        ("(a+b)*c", "(a + b) * c"),
        ("((a))+((b))", "a + b"),
        ("a-(b-c)", "a - (b - c)"),
        ("a-(b+c)", "a - (b + c)"),
        ("(a-b)-c", "a - b - c"),
        ("a+(b+c)", "a + (b + c)"),
        ("a/(b*c)", "a / (b * c)"),
        ("a*(b/c)", "a * (b / c)"),
        ("-(a+b)", "-(a + b)"),
        ("-(-a)", "--a"),
        ("--a", "--a"),
        ("-a*b", "-a * b"),
        ("-(a*b)", "-(a * b)"),
        ("a - -b", "a - -b"),
        ("1.50", "1.5"),
        ("100.0", "100"),
        ("1e3", "1000"),
        ("1e20", "1e+20"),
        ("2.5e-7", "2.5e-07"),
    ],
)
def test_to_source_is_canonical(source: str, canonical: str) -> None:
    expression = parse(source)
    assert to_source(expression) == canonical
    assert str(expression) == canonical
    assert parse(canonical) == expression


def _random_tree(rng: random.Random, depth: int) -> tuple[Node, float]:
    """A random AST and its value over a = 3, b = 5, c = 0.5, computed independently."""
    env = {"a": 3.0, "b": 5.0, "c": 0.5}
    roll = rng.random()
    if depth == 0 or roll < 0.2:
        if rng.random() < 0.5:
            name = rng.choice(sorted(env))
            return Name(name), env[name]
        number = rng.choice([0.0, 1.0, 2.0, 0.25, 10.0])
        return Number(number), number
    if roll < 0.3:
        operand, value = _random_tree(rng, depth - 1)
        return Negate(operand), -value
    ops: list[Operator] = ["+", "-", "*", "/"]
    op = rng.choice(ops)
    left, lv = _random_tree(rng, depth - 1)
    right, rv = _random_tree(rng, depth - 1)
    if op == "/" and rv == 0:
        op = "*"
    result = {"+": lv + rv, "-": lv - rv, "*": lv * rv, "/": lv / rv if rv else 0.0}[op]
    return BinaryOp(op, left, right), result


def test_random_expressions_round_trip_and_evaluate_like_the_reference() -> None:
    rng = random.Random(20240601)
    for _ in range(500):
        tree, expected = _random_tree(rng, 5)
        expression = Expression(tree)
        source = to_source(expression)
        if len(source) > MAX_SOURCE_LENGTH:
            continue
        reparsed = parse(source)
        assert reparsed == expression, source
        assert evaluate(reparsed, {"a": 3, "b": 5, "c": 0.5}) == pytest.approx(expected), source
