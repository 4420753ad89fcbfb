"""The KPI catalogue, measurements, targets and roll-ups (§4.1-§4.3)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone

import pytest

from services.kpi.custom_kpis import define_custom_kpi
from services.kpi.domain import (
    CATALOGUE,
    Aggregation,
    Comparator,
    Direction,
    Grain,
    InputKind,
    InputSpec,
    KpiDefinition,
    KpiLevel,
    MeasurementSource,
    PartOf,
    Target,
    TargetStatus,
    catalogue_definition,
)
from services.kpi.expressions.syntax import BinaryOp, Name, Node, Number
from services.kpi.judging import AT_RISK_TOLERANCE, kpi_fulfilment, target_status
from services.kpi.measuring import compute_value
from services.kpi.recording import validate_period
from services.kpi.rollups import MeasuredPeriod, period_bucket, rollup
from services.runtime.errors import ErrorCode, NotFound, ValidationFailed

# ------------------------------------------------------------------------------------------
# The catalogue (§4.1)
# ------------------------------------------------------------------------------------------

#: code -> (level, unit, direction, formula, default target) exactly as in the §4.1 table.
SPEC_TABLE: dict[str, tuple[KpiLevel, str, Direction, str, Target | None]] = {
    "integration_compatibility": (
        KpiLevel.TECHNICAL, "count", Direction.UP, "successful_integrations", None),
    "system_response_time": (
        KpiLevel.TECHNICAL, "s", Direction.DOWN, "total_response_seconds / requests",
        Target(Comparator.LTE, 0.5)),
    "security_level": (
        KpiLevel.TECHNICAL, "count", Direction.DOWN, "vulnerabilities + incidents",
        Target(Comparator.LTE, 0)),
    "operation_time": (
        KpiLevel.OPERATIONAL, "h", Direction.DOWN, "total_operation_hours / operations", None),
    "process_errors": (
        KpiLevel.OPERATIONAL, "per 1000 ops", Direction.DOWN, "errors / operations * 1000",
        Target(Comparator.LTE, 5)),
    "sla_compliance": (
        KpiLevel.OPERATIONAL, "%", Direction.UP, "within_sla / total * 100",
        Target(Comparator.GTE, 95)),
    "sales_conversion": (
        KpiLevel.STRATEGIC, "%", Direction.UP, "successful_transactions / visits * 100", None),
    "kpi_fulfilment": (
        KpiLevel.STRATEGIC, "%", Direction.UP, "actual / planned * 100",
        Target(Comparator.GTE, 100)),
    "decision_time": (
        KpiLevel.STRATEGIC, "h", Direction.DOWN, "total_decision_hours / decisions", None),
    "team_engagement": (
        KpiLevel.STRATEGIC, "%", Direction.UP, "active_participants / team_size * 100",
        Target(Comparator.GTE, 50)),
    "customer_satisfaction": (
        KpiLevel.CUSTOMER, "points", Direction.UP, "score_sum / responses", None),
    "repeat_purchase_rate": (
        KpiLevel.CUSTOMER, "%", Direction.UP, "repeat_purchases / customers * 100", None),
    "average_check": (
        KpiLevel.CUSTOMER, "currency", Direction.UP, "revenue / transactions", None),
    "churn_rate": (
        KpiLevel.CUSTOMER, "%", Direction.DOWN, "lost_customers / customers * 100", None),
    "integration_roi": (
        KpiLevel.FINANCIAL, "%", Direction.UP, "profit_delta / investment * 100",
        Target(Comparator.GT, 0)),
    "payback_period": (
        KpiLevel.FINANCIAL, "months", Direction.DOWN, "investment / monthly_profit_increase",
        None),
    "operating_cost_reduction": (
        KpiLevel.FINANCIAL, "ratio", Direction.UP, "costs_before / costs_after",
        Target(Comparator.GT, 1)),
    "internal_communications": (
        KpiLevel.COMMUNICATION, "count", Direction.NONE, "messages + calls + comments", None),
    "team_response_time": (
        KpiLevel.COMMUNICATION, "h", Direction.DOWN, "total_response_hours / requests", None),
    "resolved_requests_share": (
        KpiLevel.COMMUNICATION, "%", Direction.UP, "resolved / total * 100", None),
}  # fmt: skip

#: code -> (valid inputs, expected value), each worked by hand.
VALID: dict[str, tuple[dict[str, float], float]] = {
    "integration_compatibility": ({"successful_integrations": 7}, 7),
    "system_response_time": ({"total_response_seconds": 45.0, "requests": 100}, 0.45),
    "security_level": ({"vulnerabilities": 2, "incidents": 1}, 3),
    "operation_time": ({"total_operation_hours": 30, "operations": 12}, 2.5),
    "process_errors": ({"errors": 3, "operations": 1500}, 2.0),
    "sla_compliance": ({"within_sla": 96, "total": 100}, 96),
    "sales_conversion": ({"successful_transactions": 25, "visits": 1000}, 2.5),
    "kpi_fulfilment": ({"actual": 110, "planned": 100}, 110),
    "decision_time": ({"total_decision_hours": 18, "decisions": 4}, 4.5),
    "team_engagement": ({"active_participants": 6, "team_size": 8}, 75),
    "customer_satisfaction": ({"score_sum": 42, "responses": 10, "scale_max": 5}, 4.2),
    "repeat_purchase_rate": ({"repeat_purchases": 30, "customers": 120}, 25),
    "average_check": ({"revenue": 5000, "transactions": 40}, 125),
    "churn_rate": ({"lost_customers": 6, "customers": 120}, 5),
    "integration_roi": ({"profit_delta": 2500, "investment": 10000}, 25),
    "payback_period": ({"investment": 10000, "monthly_profit_increase": 2500}, 4),
    "operating_cost_reduction": ({"costs_before": 12000, "costs_after": 10000}, 1.2),
    "internal_communications": ({"messages": 120, "calls": 15, "comments": 40}, 175),
    "team_response_time": ({"total_response_hours": 9, "requests": 6}, 1.5),
    "resolved_requests_share": ({"resolved": 45, "total": 50}, 90),
}

#: code -> the input that is the formula's denominator.
DENOMINATORS: dict[str, str] = {
    "system_response_time": "requests",
    "operation_time": "operations",
    "process_errors": "operations",
    "sla_compliance": "total",
    "sales_conversion": "visits",
    "kpi_fulfilment": "planned",
    "decision_time": "decisions",
    "team_engagement": "team_size",
    "customer_satisfaction": "responses",
    "repeat_purchase_rate": "customers",
    "average_check": "transactions",
    "churn_rate": "customers",
    "integration_roi": "investment",
    "payback_period": "monthly_profit_increase",
    "operating_cost_reduction": "costs_after",
    "team_response_time": "requests",
    "resolved_requests_share": "total",
}

#: code -> (part, whole) pairs: "a part may not exceed its whole".
PARTS: dict[str, list[tuple[str, str]]] = {
    "process_errors": [("errors", "operations")],
    "sla_compliance": [("within_sla", "total")],
    "sales_conversion": [("successful_transactions", "visits")],
    "team_engagement": [("active_participants", "team_size")],
    "customer_satisfaction": [("score_sum", "responses * scale_max")],
    "repeat_purchase_rate": [("repeat_purchases", "customers")],
    "churn_rate": [("lost_customers", "customers")],
    "resolved_requests_share": [("resolved", "total")],
}

CODES = list(SPEC_TABLE)


def error_of(definition: KpiDefinition, inputs: Mapping[str, float]) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as caught:
        compute_value(definition, inputs)
    assert caught.value.code is ErrorCode.VALIDATION_ERROR
    return caught.value


def test_the_catalogue_has_the_twenty_kpis_of_the_specification_in_order() -> None:
    assert list(CATALOGUE) == CODES
    assert len(CATALOGUE) == 20


@pytest.mark.parametrize("code", CODES)
def test_each_catalogue_kpi_matches_the_specification_table(code: str) -> None:
    level, unit, direction, formula, target = SPEC_TABLE[code]
    definition = CATALOGUE[code]
    assert definition.code == code
    assert definition.level is level
    assert definition.unit == unit
    assert definition.direction is direction
    assert definition.formula == formula
    assert definition.default_target == target
    assert definition.name


@pytest.mark.parametrize("code", CODES)
def test_each_catalogue_kpi_declares_the_inputs_of_its_formula(code: str) -> None:
    definition = CATALOGUE[code]
    assert set(definition.input_names) == set(VALID[code][0])
    assert definition.expression.inputs <= set(definition.input_names)


def test_the_levels_are_the_six_of_the_specification() -> None:
    assert [level.value for level in KpiLevel] == [
        "TECHNICAL", "OPERATIONAL", "STRATEGIC", "CUSTOMER", "FINANCIAL", "COMMUNICATION",
    ]  # fmt: skip
    assert {definition.level for definition in CATALOGUE.values()} == set(KpiLevel)


def test_public_codes() -> None:
    assert [d.value for d in Direction] == ["UP", "DOWN", "NONE"]
    assert [c.value for c in Comparator] == ["LT", "LTE", "GT", "GTE"]
    assert [s.value for s in TargetStatus] == ["MET", "AT_RISK", "MISSED", "NO_DATA"]
    assert [g.value for g in Grain] == ["RECORDED", "WEEK", "MONTH", "QUARTER"]
    assert [s.value for s in MeasurementSource] == ["MANUAL", "IMPORT", "SYSTEM"]


def test_catalogue_definition_looks_up_by_code() -> None:
    assert catalogue_definition("sla_compliance") is CATALOGUE["sla_compliance"]
    with pytest.raises(NotFound) as caught:
        catalogue_definition("nope")
    assert caught.value.field == "code"


def test_the_catalogue_is_read_only() -> None:
    with pytest.raises(TypeError):
        CATALOGUE["x"] = CATALOGUE["sla_compliance"]  # type: ignore[index]


# ------------------------------------------------------------------------------------------
# Computing a measurement's value (§4.2)
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("code", CODES)
def test_every_catalogue_kpi_computes_from_valid_inputs(code: str) -> None:
    inputs, expected = VALID[code]
    assert compute_value(CATALOGUE[code], inputs) == pytest.approx(expected)


def _denominators(node: Node) -> set[str]:
    if isinstance(node, BinaryOp):
        found = _denominators(node.left) | _denominators(node.right)
        if node.op == "/" and isinstance(node.right, Name):
            found.add(node.right.name)
        return found
    return set()


def test_the_denominator_table_matches_the_formulas() -> None:
    for code, definition in CATALOGUE.items():
        expected = {DENOMINATORS[code]} if code in DENOMINATORS else set()
        assert _denominators(definition.expression.root) == expected, code


@pytest.mark.parametrize("code", sorted(DENOMINATORS))
def test_every_zero_denominator_is_rejected_naming_the_field(code: str) -> None:
    denominator = DENOMINATORS[code]
    inputs = dict(VALID[code][0])
    inputs[denominator] = 0
    error = error_of(CATALOGUE[code], inputs)
    assert error.field == f"inputs.{denominator}"
    assert f"denominator {denominator} is zero" in error.message


@pytest.mark.parametrize(
    ("code", "name"), [(code, name) for code in CODES for name in VALID[code][0]]
)
def test_every_missing_input_is_rejected_naming_the_field(code: str, name: str) -> None:
    inputs = {key: value for key, value in VALID[code][0].items() if key != name}
    error = error_of(CATALOGUE[code], inputs)
    assert error.field == f"inputs.{name}"
    assert f"input {name} is required by KPI {code}" in error.message


@pytest.mark.parametrize("code", CODES)
def test_an_unknown_input_is_rejected(code: str) -> None:
    inputs = {**VALID[code][0], "bogus": 1}
    error = error_of(CATALOGUE[code], inputs)
    assert error.field == "inputs.bogus"
    assert f"unknown input bogus for KPI {code}" in error.message


def _inputs_of_kind(kind: InputKind) -> list[tuple[str, str]]:
    return [
        (code, spec.name)
        for code, definition in CATALOGUE.items()
        for spec in definition.inputs
        if spec.kind is kind
    ]


@pytest.mark.parametrize(("code", "name"), _inputs_of_kind(InputKind.COUNT))
@pytest.mark.parametrize("bad", [-1, 2.5, -0.5])
def test_counts_must_be_non_negative_integers(code: str, name: str, bad: float) -> None:
    error = error_of(CATALOGUE[code], {**VALID[code][0], name: bad})
    assert error.field == f"inputs.{name}"
    assert "non-negative integer" in error.message


def test_whole_floats_are_accepted_as_counts() -> None:
    value = compute_value(CATALOGUE["sla_compliance"], {"within_sla": 95.0, "total": 100.0})
    assert value == 95


@pytest.mark.parametrize(
    ("code", "name"),
    _inputs_of_kind(InputKind.DURATION) + _inputs_of_kind(InputKind.NON_NEGATIVE_AMOUNT),
)
def test_durations_and_non_negative_amounts_may_not_be_negative(code: str, name: str) -> None:
    error = error_of(CATALOGUE[code], {**VALID[code][0], name: -0.01})
    assert error.field == f"inputs.{name}"
    assert "may not be negative" in error.message


def test_an_amount_may_be_negative() -> None:
    roi = CATALOGUE["integration_roi"]
    assert compute_value(roi, {"profit_delta": -500, "investment": 10000}) == -5


def test_durations_may_be_fractional() -> None:
    definition = CATALOGUE["system_response_time"]
    assert compute_value(definition, {"total_response_seconds": 0.3, "requests": 3}) == (
        pytest.approx(0.1)
    )


@pytest.mark.parametrize("code", CODES)
@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, 10**400])
def test_inputs_must_be_finite(code: str, bad: float) -> None:
    name = next(iter(VALID[code][0]))
    error = error_of(CATALOGUE[code], {**VALID[code][0], name: bad})
    assert error.field == f"inputs.{name}"
    assert "finite" in error.message


@pytest.mark.parametrize("bad", [True, False, "7", None])
def test_inputs_must_be_numbers(bad: object) -> None:
    definition = CATALOGUE["integration_compatibility"]
    error = error_of(definition, {"successful_integrations": bad})  # type: ignore[dict-item]
    assert error.field == "inputs.successful_integrations"
    assert "must be a number" in error.message


@pytest.mark.parametrize(
    ("code", "part", "whole"), [(code, p, w) for code, pairs in PARTS.items() for p, w in pairs]
)
def test_a_part_may_not_exceed_its_whole(code: str, part: str, whole: str) -> None:
    definition = CATALOGUE[code]
    assert PartOf(part, whole) in definition.parts
    inputs = dict(VALID[code][0])
    if whole == "responses * scale_max":
        inputs[part] = inputs["responses"] * inputs["scale_max"] + 1
    else:
        inputs[part] = inputs[whole] + 1
    error = error_of(definition, inputs)
    assert error.field == f"inputs.{part}"
    assert f"{part} ({inputs[part]:g}) may not exceed {whole}" in error.message
    assert "a part may not exceed its whole" in error.message


def test_only_the_documented_parts_are_declared() -> None:
    declared = {code: [(p.part, p.whole) for p in d.parts] for code, d in CATALOGUE.items()}
    assert {code: pairs for code, pairs in declared.items() if pairs} == PARTS


@pytest.mark.parametrize(
    ("code", "inputs", "expected"),
    [
        ("sla_compliance", {"within_sla": 100, "total": 100}, 100),
        ("customer_satisfaction", {"score_sum": 50, "responses": 10, "scale_max": 5}, 5),
        ("kpi_fulfilment", {"actual": 150, "planned": 100}, 150),
        ("sales_conversion", {"successful_transactions": 0, "visits": 10}, 0),
    ],
)
def test_a_part_equal_to_its_whole_is_allowed(
    code: str, inputs: dict[str, float], expected: float
) -> None:
    assert compute_value(CATALOGUE[code], inputs) == pytest.approx(expected)


@pytest.mark.parametrize("scale", [0, -5])
def test_the_satisfaction_scale_must_be_positive(scale: float) -> None:
    inputs = {"score_sum": 4, "responses": 1, "scale_max": scale}
    error = error_of(CATALOGUE["customer_satisfaction"], inputs)
    assert error.field == "inputs.scale_max"
    assert "must be positive" in error.message


def test_satisfaction_may_use_any_scale() -> None:
    definition = CATALOGUE["customer_satisfaction"]
    assert compute_value(definition, {"score_sum": 85, "responses": 10, "scale_max": 10}) == 8.5
    assert compute_value(definition, {"score_sum": 7.5, "responses": 2, "scale_max": 5}) == 3.75


def test_a_zero_denominator_is_reported_before_a_part_rule() -> None:
    inputs = {"within_sla": 3, "total": 0}
    assert error_of(CATALOGUE["sla_compliance"], inputs).field == "inputs.total"


def test_an_overflowing_value_is_rejected() -> None:
    error = error_of(CATALOGUE["kpi_fulfilment"], {"actual": 1e308, "planned": 1})
    assert error.field == "inputs"
    assert "not a finite number (overflow)" in error.message


# ------------------------------------------------------------------------------------------
# Definitions and custom KPIs
# ------------------------------------------------------------------------------------------


def _definition(**overrides: object) -> KpiDefinition:
    arguments: dict[str, object] = {
        "code": "custom_kpi",
        "name": "custom",
        "level": KpiLevel.TECHNICAL,
        "unit": "count",
        "direction": Direction.UP,
        "formula": "a / b",
        "inputs": (InputSpec("a", InputKind.COUNT), InputSpec("b", InputKind.COUNT)),
    }
    arguments.update(overrides)
    return KpiDefinition(**arguments)  # type: ignore[arg-type]


def test_a_definition_rejects_a_formula_using_an_undeclared_input() -> None:
    with pytest.raises(ValidationFailed) as caught:
        _definition(inputs=(InputSpec("a", InputKind.COUNT),))
    assert caught.value.field == "inputs.b"
    assert "not declared" in caught.value.message


def test_a_definition_rejects_duplicate_and_invalid_input_names() -> None:
    spec = InputSpec("a", InputKind.COUNT)
    with pytest.raises(ValidationFailed, match="unique"):
        _definition(inputs=(spec, spec, InputSpec("b", InputKind.COUNT)))
    with pytest.raises(ValidationFailed, match="must match"):
        _definition(
            inputs=(spec, InputSpec("b", InputKind.COUNT), InputSpec("$x", InputKind.COUNT))
        )


def test_a_definition_rejects_parts_over_undeclared_inputs() -> None:
    with pytest.raises(ValidationFailed) as caught:
        _definition(parts=(PartOf("a", "c"),))
    assert caught.value.field == "parts.a"


def test_a_definition_rejects_an_invalid_formula() -> None:
    with pytest.raises(ValidationFailed) as caught:
        _definition(formula="a /")
    assert caught.value.field == "formula"


def test_define_custom_kpi_builds_a_computable_definition() -> None:
    definition = define_custom_kpi(
        code="refund_rate",
        name="  refund rate ",
        level=KpiLevel.CUSTOMER,
        unit="%",
        direction=Direction.DOWN,
        formula="refunds / (orders + 0) * 100",
        input_kinds={"refunds": InputKind.COUNT, "orders": InputKind.COUNT},
        default_target=Target(Comparator.LTE, 2),
        parts=[("refunds", "orders")],
    )
    assert definition.name == "refund rate"
    assert definition.input_names == ("orders", "refunds")
    assert all(spec.aggregation is Aggregation.SUM for spec in definition.inputs)
    assert compute_value(definition, {"refunds": 3, "orders": 200}) == 1.5
    assert error_of(definition, {"refunds": 3, "orders": 0}).field == "inputs.orders"
    assert error_of(definition, {"refunds": 3, "orders": 2}).field == "inputs.refunds"
    assert error_of(definition, {"refunds": 1.5, "orders": 2}).field == "inputs.refunds"


def _custom(**overrides: object) -> KpiDefinition:
    arguments: dict[str, object] = {
        "code": "refund_rate",
        "name": "refund rate",
        "level": KpiLevel.CUSTOMER,
        "unit": "%",
        "direction": Direction.DOWN,
        "formula": "refunds / orders * 100",
        "input_kinds": {"refunds": InputKind.COUNT, "orders": InputKind.COUNT},
    }
    arguments.update(overrides)
    return define_custom_kpi(**arguments)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "code",
    ["ab", "Abc", "1abc", "_abc", "abc-d", "abc d", "abc\n", "a" * 65, "caf\u00e9", "", "a$bc"],
)
def test_custom_codes_must_match_the_pattern(code: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        _custom(code=code)
    assert caught.value.field == "code"
    assert "^[a-z][a-z0-9_]{2,63}$" in caught.value.message


@pytest.mark.parametrize("code", ["abc", "a" * 64, "kpi_2_x"])
def test_custom_codes_at_the_edges_of_the_pattern_are_accepted(code: str) -> None:
    assert _custom(code=code).code == code


@pytest.mark.parametrize("code", CODES)
def test_custom_codes_may_not_clash_with_the_catalogue(code: str) -> None:
    with pytest.raises(ValidationFailed, match="built-in catalogue KPI") as caught:
        _custom(code=code)
    assert caught.value.field == "code"


def test_custom_formula_must_parse_and_use_an_input() -> None:
    with pytest.raises(ValidationFailed, match="column") as caught:
        _custom(formula="refunds // orders")
    assert caught.value.field == "formula"
    with pytest.raises(ValidationFailed, match="at least one input") as caught:
        _custom(formula="1 + 2", input_kinds={})
    assert caught.value.field == "formula"


def test_every_formula_input_needs_a_declared_kind() -> None:
    with pytest.raises(ValidationFailed, match="declare the kind of input orders") as caught:
        _custom(input_kinds={"refunds": InputKind.COUNT})
    assert caught.value.field == "inputs.orders"


def test_a_kind_for_an_unused_input_is_rejected() -> None:
    kinds = {"refunds": InputKind.COUNT, "orders": InputKind.COUNT, "other": InputKind.AMOUNT}
    with pytest.raises(ValidationFailed, match="not used by the formula") as caught:
        _custom(input_kinds=kinds)
    assert caught.value.field == "inputs.other"


def test_kinds_levels_and_directions_may_be_given_as_codes() -> None:
    definition = _custom(
        level="FINANCIAL", direction="UP", input_kinds={"refunds": "COUNT", "orders": "AMOUNT"}
    )
    assert definition.level is KpiLevel.FINANCIAL
    assert definition.direction is Direction.UP
    assert {s.name: s.kind for s in definition.inputs}["orders"] is InputKind.AMOUNT


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"level": "GALACTIC"}, "level"),
        ({"direction": "SIDEWAYS"}, "direction"),
        ({"input_kinds": {"refunds": "COUNT", "orders": "MONEY"}}, "inputs.orders"),
        ({"name": "   "}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"unit": ""}, "unit"),
        ({"unit": "u" * 33}, "unit"),
        ({"parts": [("refunds", "missing")]}, "parts.refunds"),
    ],
)
def test_invalid_custom_definitions_name_the_field(
    overrides: dict[str, object], field: str
) -> None:
    with pytest.raises(ValidationFailed) as caught:
        _custom(**overrides)
    assert caught.value.field == field


# ------------------------------------------------------------------------------------------
# Periods
# ------------------------------------------------------------------------------------------


def test_a_period_starts_before_it_ends() -> None:
    start = datetime(2024, 1, 1, tzinfo=UTC)
    assert validate_period(start, start + timedelta(seconds=1)) == (
        start,
        start + timedelta(seconds=1),
    )
    for end in (start, start - timedelta(days=1)):
        with pytest.raises(ValidationFailed, match="start must be before its end") as caught:
            validate_period(start, end)
        assert caught.value.field == "period"


def test_periods_are_returned_in_utc_and_naive_datetimes_are_utc() -> None:
    plus_two = timezone(timedelta(hours=2))
    start, end = validate_period(datetime(2024, 1, 1, 2, tzinfo=plus_two), datetime(2024, 1, 2))
    assert start == datetime(2024, 1, 1, 0, tzinfo=UTC)
    assert start.tzinfo is UTC
    assert end == datetime(2024, 1, 2, tzinfo=UTC)
    with pytest.raises(ValidationFailed):
        validate_period(datetime(2024, 1, 1, 1, tzinfo=plus_two), datetime(2023, 12, 31, 23))


def test_a_period_needs_datetimes() -> None:
    with pytest.raises(ValidationFailed) as caught:
        validate_period("2024-01-01", datetime(2024, 1, 2))  # type: ignore[arg-type]
    assert caught.value.field == "period.start"


# ------------------------------------------------------------------------------------------
# Targets and status (§4.3)
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("comparator", "value", "threshold", "holds"),
    [
        (Comparator.LT, 1, 2, True),
        (Comparator.LT, 2, 2, False),
        (Comparator.LTE, 2, 2, True),
        (Comparator.LTE, 3, 2, False),
        (Comparator.GT, 3, 2, True),
        (Comparator.GT, 2, 2, False),
        (Comparator.GTE, 2, 2, True),
        (Comparator.GTE, 1, 2, False),
    ],
)
def test_comparators(comparator: Comparator, value: float, threshold: float, holds: bool) -> None:
    assert comparator.holds(value, threshold) is holds


@pytest.mark.parametrize(
    ("code", "value", "status"),
    [
        # sla_compliance >= 95: the at-risk band is 95 - 4.75 = 90.25 .. 95
        ("sla_compliance", 99.0, TargetStatus.MET),
        ("sla_compliance", 95.0, TargetStatus.MET),
        ("sla_compliance", 94.0, TargetStatus.AT_RISK),
        ("sla_compliance", 90.3, TargetStatus.AT_RISK),
        ("sla_compliance", 90.25, TargetStatus.AT_RISK),  # the edge is inside the band
        ("sla_compliance", 90.2, TargetStatus.MISSED),
        # system_response_time <= 0.5: band 0.5 .. 0.525
        ("system_response_time", 0.5, TargetStatus.MET),
        ("system_response_time", 0.52, TargetStatus.AT_RISK),
        ("system_response_time", 0.525, TargetStatus.AT_RISK),  # 0.525 - 0.5 > 0.025 in binary
        ("system_response_time", 0.5251, TargetStatus.MISSED),
        ("system_response_time", 0.53, TargetStatus.MISSED),
        # process_errors <= 5: band 5 .. 5.25
        ("process_errors", 5.2, TargetStatus.AT_RISK),
        ("process_errors", 5.3, TargetStatus.MISSED),
        # security_level <= 0: no band, one incident is a miss
        ("security_level", 0, TargetStatus.MET),
        ("security_level", 1, TargetStatus.MISSED),
        # integration_roi > 0: exactly 0 is the only at-risk value
        ("integration_roi", 0.01, TargetStatus.MET),
        ("integration_roi", 0.0, TargetStatus.AT_RISK),
        ("integration_roi", -0.01, TargetStatus.MISSED),
        # operating_cost_reduction > 1: band 0.95 .. 1
        ("operating_cost_reduction", 1.01, TargetStatus.MET),
        ("operating_cost_reduction", 1.0, TargetStatus.AT_RISK),
        ("operating_cost_reduction", 0.96, TargetStatus.AT_RISK),
        ("operating_cost_reduction", 0.95, TargetStatus.AT_RISK),  # 1 - 0.95 > 0.05 in binary
        ("operating_cost_reduction", 0.9499, TargetStatus.MISSED),
        ("operating_cost_reduction", 0.94, TargetStatus.MISSED),
        ("team_engagement", 48, TargetStatus.AT_RISK),
        ("team_engagement", 47, TargetStatus.MISSED),
        ("kpi_fulfilment", 100, TargetStatus.MET),
        ("kpi_fulfilment", 96, TargetStatus.AT_RISK),
        ("sla_compliance", None, TargetStatus.NO_DATA),
    ],
)
def test_status_against_the_default_targets(
    code: str, value: float | None, status: TargetStatus
) -> None:
    target = CATALOGUE[code].default_target
    assert target is not None
    assert target_status(value, target) is status


def test_the_at_risk_band_uses_the_magnitude_of_a_negative_threshold() -> None:
    target = Target(Comparator.GTE, -100)
    assert AT_RISK_TOLERANCE == 0.05
    assert target_status(-104, target) is TargetStatus.AT_RISK
    assert target_status(-106, target) is TargetStatus.MISSED
    assert target_status(-99, target) is TargetStatus.MET


def test_at_risk_is_only_on_the_wrong_side() -> None:
    target = Target(Comparator.LTE, 100)
    assert target_status(96, target) is TargetStatus.MET
    assert target_status(104, target) is TargetStatus.AT_RISK


def test_status_rejects_a_non_finite_value() -> None:
    with pytest.raises(ValidationFailed) as caught:
        target_status(math.nan, Target(Comparator.GT, 0))
    assert caught.value.field == "value"


def test_a_target_value_must_be_finite() -> None:
    with pytest.raises(ValidationFailed) as caught:
        Target(Comparator.GT, math.inf)
    assert caught.value.field == "target.value"


@pytest.mark.parametrize(
    ("actual", "target", "direction", "expected"),
    [
        (96, 95, Direction.UP, 96 / 95 * 100),
        (50, 100, Direction.UP, 50),
        (50, 100, Direction.NONE, 50),
        (0.25, 0.5, Direction.DOWN, 200),  # twice as fast as required
        (1.0, 0.5, Direction.DOWN, 50),
        (3, 0, Direction.DOWN, 0),  # three incidents against a target of none
        (0, 10, Direction.UP, 0),
        (0, 0, Direction.UP, 100),
        (0, 0, Direction.DOWN, 100),
        (-5, 10, Direction.UP, -50),
    ],
)
def test_kpi_fulfilment(
    actual: float, target: float, direction: Direction, expected: float
) -> None:
    assert kpi_fulfilment(actual, target, direction) == pytest.approx(expected)


def test_kpi_fulfilment_rejects_zero_denominators() -> None:
    with pytest.raises(ValidationFailed, match="denominator target is zero") as caught:
        kpi_fulfilment(5, 0, Direction.UP)
    assert caught.value.field == "target"
    with pytest.raises(ValidationFailed, match="denominator actual is zero") as caught:
        kpi_fulfilment(0, 0.5, Direction.DOWN)
    assert caught.value.field == "actual"


def test_kpi_fulfilment_rejects_non_finite_numbers_and_overflow() -> None:
    with pytest.raises(ValidationFailed) as caught:
        kpi_fulfilment(math.inf, 1, Direction.UP)
    assert caught.value.field == "actual"
    with pytest.raises(ValidationFailed) as caught:
        kpi_fulfilment(1, math.nan, Direction.UP)
    assert caught.value.field == "target"
    with pytest.raises(ValidationFailed, match="not a finite number"):
        kpi_fulfilment(1e308, 1e-10, Direction.UP)


# ------------------------------------------------------------------------------------------
# Roll-ups (§4.2)
# ------------------------------------------------------------------------------------------


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


@pytest.mark.parametrize(
    ("moment", "grain", "start", "end"),
    [
        (utc(2024, 1, 3, 15), Grain.WEEK, utc(2024, 1, 1), utc(2024, 1, 8)),  # Wednesday
        (utc(2024, 1, 1), Grain.WEEK, utc(2024, 1, 1), utc(2024, 1, 8)),  # Monday 00:00
        (utc(2024, 1, 7, 23, 59), Grain.WEEK, utc(2024, 1, 1), utc(2024, 1, 8)),  # Sunday
        (utc(2023, 1, 1), Grain.WEEK, utc(2022, 12, 26), utc(2023, 1, 2)),  # ISO week 52
        (utc(2024, 2, 29, 12), Grain.MONTH, utc(2024, 2, 1), utc(2024, 3, 1)),
        (utc(2024, 12, 31, 23), Grain.MONTH, utc(2024, 12, 1), utc(2025, 1, 1)),
        (utc(2024, 1, 1), Grain.QUARTER, utc(2024, 1, 1), utc(2024, 4, 1)),
        (utc(2024, 5, 15), Grain.QUARTER, utc(2024, 4, 1), utc(2024, 7, 1)),
        (utc(2024, 9, 30), Grain.QUARTER, utc(2024, 7, 1), utc(2024, 10, 1)),
        (utc(2024, 11, 2), Grain.QUARTER, utc(2024, 10, 1), utc(2025, 1, 1)),
    ],
)
def test_period_bucket(moment: datetime, grain: Grain, start: datetime, end: datetime) -> None:
    assert period_bucket(moment, grain) == (start, end)


def test_period_bucket_works_in_utc() -> None:
    # Monday 1 January 2024 01:00 at UTC+2 is Sunday 31 December 2023 23:00 UTC.
    moment = datetime(2024, 1, 1, 1, tzinfo=timezone(timedelta(hours=2)))
    assert period_bucket(moment, Grain.WEEK) == (utc(2023, 12, 25), utc(2024, 1, 1))
    assert period_bucket(moment, Grain.MONTH) == (utc(2023, 12, 1), utc(2024, 1, 1))
    assert period_bucket(datetime(2024, 3, 5), Grain.MONTH)[0].tzinfo is UTC


def test_recorded_grain_has_no_calendar_bucket() -> None:
    with pytest.raises(ValidationFailed) as caught:
        period_bucket(utc(2024, 1, 1), Grain.RECORDED)
    assert caught.value.field == "grain"


def day(d: int, inputs: Mapping[str, float], month: int = 1) -> MeasuredPeriod:
    start = utc(2024, month, d)
    return (start, start + timedelta(days=1), inputs)


def test_rollup_recomputes_from_summed_inputs_never_averaging_values() -> None:
    sla = CATALOGUE["sla_compliance"]
    measurements = [
        day(2, {"within_sla": 90, "total": 100}),  # 90 %
        day(3, {"within_sla": 10, "total": 10}),  # 100 %
    ]
    (point,) = rollup(sla, measurements, Grain.WEEK)
    assert (point.start, point.end) == (utc(2024, 1, 1), utc(2024, 1, 8))
    assert dict(point.inputs) == {"within_sla": 100, "total": 110}
    assert point.value == pytest.approx(100 / 110 * 100)  # 90.909…, not the mean 95
    assert point.count == 2


def test_rollup_orders_buckets_and_keeps_them_apart() -> None:
    sla = CATALOGUE["sla_compliance"]
    measurements = [
        day(10, {"within_sla": 5, "total": 10}, month=2),
        day(15, {"within_sla": 9, "total": 10}),
        day(20, {"within_sla": 7, "total": 10}),
    ]
    points = rollup(sla, measurements, Grain.MONTH)
    assert [(p.start, p.end, p.count) for p in points] == [
        (utc(2024, 1, 1), utc(2024, 2, 1), 2),
        (utc(2024, 2, 1), utc(2024, 3, 1), 1),
    ]
    assert [p.value for p in points] == [80, 50]
    (quarter,) = rollup(sla, measurements, Grain.QUARTER)
    assert quarter.value == pytest.approx(21 / 30 * 100)
    assert quarter.count == 3


def test_rollup_at_recorded_grain_keeps_each_period() -> None:
    sla = CATALOGUE["sla_compliance"]
    measurements = [day(3, {"within_sla": 1, "total": 4}), day(2, {"within_sla": 3, "total": 4})]
    points = rollup(sla, measurements, Grain.RECORDED)
    assert [(p.start, p.end, p.value) for p in points] == [
        (utc(2024, 1, 2), utc(2024, 1, 3), 75),
        (utc(2024, 1, 3), utc(2024, 1, 4), 25),
    ]


def test_a_measurement_counts_in_the_bucket_of_its_start() -> None:
    sla = CATALOGUE["sla_compliance"]
    spanning = (utc(2024, 1, 31), utc(2024, 2, 2), {"within_sla": 1, "total": 2})
    (point,) = rollup(sla, [spanning], Grain.MONTH)
    assert point.start == utc(2024, 1, 1)


def test_financial_kpis_roll_up_from_summed_inputs() -> None:
    # Issue 14: October invested 1 000 and gained nothing, November invested 2 000 and gained
    # 400. The quarter's ROI is 400 / 3 000 = 13.33 %, not November's 400 / 2 000 = 20 %.
    roi = CATALOGUE["integration_roi"]
    assert {s.name: s.aggregation for s in roi.inputs} == {
        "profit_delta": Aggregation.SUM,
        "investment": Aggregation.SUM,
    }
    months: list[MeasuredPeriod] = [
        (utc(2026, 11, 1), utc(2026, 12, 1), {"profit_delta": 400, "investment": 2000}),
        (utc(2026, 10, 1), utc(2026, 11, 1), {"profit_delta": 0, "investment": 1000}),
    ]
    (point,) = rollup(roi, months, Grain.QUARTER)
    assert dict(point.inputs) == {"profit_delta": 400, "investment": 3000}
    assert point.value == pytest.approx(400 / 3000 * 100)
    payback = CATALOGUE["payback_period"]
    measurements = [
        day(1, {"investment": 10000, "monthly_profit_increase": 1000}),
        day(2, {"investment": 2000, "monthly_profit_increase": 2000}),
    ]
    (point,) = rollup(payback, measurements, Grain.MONTH)
    assert point.value == 4  # 12 000 / 3 000, not the latest 2 000 / 2 000


def test_their_descriptions_say_the_inputs_are_the_periods_own_amounts() -> None:
    for code in ("integration_roi", "payback_period"):
        description = CATALOGUE[code].description
        assert description is not None
        assert "period's own amounts" in description
        assert "not a running total" in description
    assert all(definition.description for definition in CATALOGUE.values())


def test_between_equal_periods_the_last_given_is_latest() -> None:
    # No built-in input is LATEST any more; the aggregation itself still works.
    stock = KpiDefinition(
        code="stock_ratio",
        name="stock ratio",
        level=KpiLevel.FINANCIAL,
        unit="ratio",
        direction=Direction.NONE,
        formula="flow / stock",
        inputs=(
            InputSpec("flow", InputKind.AMOUNT),
            InputSpec("stock", InputKind.NON_NEGATIVE_AMOUNT, Aggregation.LATEST),
        ),
    )
    measurements = [
        day(1, {"flow": 1, "stock": 100}),
        day(1, {"flow": 1, "stock": 200}),
    ]
    (point,) = rollup(stock, measurements, Grain.RECORDED)
    assert point.inputs["stock"] == 200
    assert point.inputs["flow"] == 2


def test_rollup_requires_a_constant_satisfaction_scale() -> None:
    satisfaction = CATALOGUE["customer_satisfaction"]
    same = [
        day(1, {"score_sum": 40, "responses": 10, "scale_max": 5}),
        day(2, {"score_sum": 5, "responses": 5, "scale_max": 5}),
    ]
    (point,) = rollup(satisfaction, same, Grain.MONTH)
    assert point.value == 3  # 45 / 15
    assert point.inputs["scale_max"] == 5
    mixed = [*same, day(3, {"score_sum": 90, "responses": 10, "scale_max": 10})]
    with pytest.raises(ValidationFailed, match="differs between measurements") as caught:
        rollup(satisfaction, mixed, Grain.MONTH)
    assert caught.value.field == "inputs.scale_max"
    assert len(rollup(satisfaction, mixed, Grain.RECORDED)) == 3


def test_rollup_validates_each_measurement_and_names_it() -> None:
    sla = CATALOGUE["sla_compliance"]
    measurements = [day(1, {"within_sla": 1, "total": 2}), day(2, {"within_sla": 3, "total": 2})]
    with pytest.raises(ValidationFailed, match="may not exceed") as caught:
        rollup(sla, measurements, Grain.WEEK)
    assert caught.value.field == "measurements[1].inputs.within_sla"
    backwards = (utc(2024, 1, 2), utc(2024, 1, 1), {"within_sla": 1, "total": 2})
    with pytest.raises(ValidationFailed) as caught:
        rollup(sla, [backwards], Grain.WEEK)
    assert caught.value.field == "measurements[0].period"


def test_rollup_of_nothing_is_empty() -> None:
    assert rollup(CATALOGUE["sla_compliance"], [], Grain.MONTH) == []


@pytest.mark.parametrize("code", CODES)
def test_every_kpi_rolls_up_a_single_measurement_to_its_own_value(code: str) -> None:
    inputs, expected = VALID[code]
    for grain in Grain:
        (point,) = rollup(CATALOGUE[code], [day(9, inputs)], grain)
        assert point.value == pytest.approx(expected)
        assert point.count == 1


def test_catalogue_formulas_are_parsed_into_expressions() -> None:
    assert CATALOGUE["process_errors"].expression.root == BinaryOp(
        "*", BinaryOp("/", Name("errors"), Name("operations")), Number(1000.0)
    )
