"""Integration KPIs (§4): the vocabulary and the catalogue.

The rest of the kpi domain builds on this module, each part pure: a measurement's value
(:mod:`services.kpi.measuring`), users' KPIs (:mod:`services.kpi.custom_kpis`), the rules of
recording (:mod:`services.kpi.recording`), targets and status (:mod:`services.kpi.judging`) and
roll-ups (:mod:`services.kpi.rollups`).

Pure logic over values: besides the standard library it imports only the shared error model and
the safe expression language of :mod:`services.kpi.expressions`, in which every formula is
written, so the catalogue and users' custom KPIs are computed by the same code.

Decisions where the specification is silent (each is also noted where it is implemented):

- **Input kinds.** ``COUNT`` is a non-negative integer (a whole float such as ``3.0`` from JSON
  is accepted); ``DURATION`` and ``NON_NEGATIVE_AMOUNT`` are finite and ≥ 0; ``AMOUNT`` is any
  finite number (``profit_delta`` may be negative); ``POSITIVE_AMOUNT`` is finite and > 0 (the
  maximum of a rating scale). Booleans are never numbers.
- **Parts and wholes.** "A part may not exceed its whole" is declared per KPI as
  :class:`PartOf` pairs: ``errors ≤ operations`` (an error is a failed operation),
  ``within_sla ≤ total``, ``successful_transactions ≤ visits``, ``active_participants ≤
  team_size``, ``score_sum ≤ responses × scale_max``, ``repeat_purchases ≤ customers``
  (``repeat_purchases`` counts customers who bought again), ``lost_customers ≤ customers`` and
  ``resolved ≤ total``. ``actual`` may exceed ``planned`` (over-fulfilment).
- **Customer satisfaction scale.** ``customer_satisfaction`` takes a third input ``scale_max``
  (the top of the survey's scale, > 0) that the formula does not use but the value is stored
  with; it bounds ``score_sum`` and must be the same for every measurement rolled up together.
- **Order of checks** in :func:`services.kpi.measuring.compute_value`: unknown inputs, missing
  inputs, kinds, then the formula (zero denominators, overflow), then parts against wholes.
- **Targets.** Comparators are those of monitoring rules (``LT``, ``LTE``, ``GT``, ``GTE``); an
  exact target such as "0 incidents" is ``LTE 0`` (float equality would be fragile). ``AT_RISK``
  means *missed* by at most 5 % of ``|threshold|`` (inclusive). For a threshold of 0 the band
  is empty, so any real miss is ``MISSED`` (a value exactly at the threshold of a strict
  comparator is the only ``AT_RISK`` case): 5 % of nothing is nothing, and no absolute
  tolerance would suit both incidents and percentages. Status does not depend on direction.
- **Fulfilment.** ``actual / target × 100`` for ``UP`` and ``NONE``, ``target / actual × 100``
  for ``DOWN``; 0 against a target of 0 is 100 % (met exactly); any other zero denominator
  is an error.
- **Roll-ups.** A measurement belongs wholly to the bucket of its period start (a week
  measurement spanning two months counts in the first). Inputs are combined per
  :class:`Aggregation`: ``SUM``, as §4.2 says, for all but ``CONSTANT`` metadata
  (``scale_max``, which must agree within a bucket) — ``investment`` and
  ``monthly_profit_increase`` too: they are the period's own amounts, never running totals
  (their descriptions say so). No built-in input is ``LATEST`` (the latest period's value). The
  value is then recomputed from the combined inputs. Summing a stock-like denominator
  (``customers``, ``team_size``) yields the exposure-weighted rate (e.g. churn per
  customer-month) — the recomputation §4.2 asks for, never an average of percentages. Naive
  datetimes are taken as UTC (PyMongo returns naive UTC datetimes); buckets are aware UTC.
- **Custom KPIs.** Every input of the formula needs a declared kind; a kind for a name the
  formula does not use, or a formula with no input, is rejected. Custom inputs are summed on
  roll-up.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import TypeVar

from services.kpi.catalogue_text import CATALOGUE_DESCRIPTIONS
from services.kpi.expressions.parser import parse
from services.kpi.expressions.syntax import Expression, is_input_name
from services.runtime.comparator import Comparator as Comparator  # part of the domain's vocabulary
from services.runtime.errors import NotFound, ValidationFailed

_E = TypeVar("_E", bound=StrEnum)

# --------------------------------------------------------------------------------------------
# Enumerations (public API: the values are the codes of the specification)
# --------------------------------------------------------------------------------------------


class KpiLevel(StrEnum):
    """The six levels of the catalogue (§4.1)."""

    TECHNICAL = "TECHNICAL"
    OPERATIONAL = "OPERATIONAL"
    STRATEGIC = "STRATEGIC"
    CUSTOMER = "CUSTOMER"
    FINANCIAL = "FINANCIAL"
    COMMUNICATION = "COMMUNICATION"


class Direction(StrEnum):
    """Which way is better: ``UP`` higher, ``DOWN`` lower, ``NONE`` neither."""

    UP = "UP"
    DOWN = "DOWN"
    NONE = "NONE"


class InputKind(StrEnum):
    """What values an input may take; see the module docstring."""

    COUNT = "COUNT"
    DURATION = "DURATION"
    AMOUNT = "AMOUNT"
    NON_NEGATIVE_AMOUNT = "NON_NEGATIVE_AMOUNT"
    POSITIVE_AMOUNT = "POSITIVE_AMOUNT"


class Aggregation(StrEnum):
    """How an input's values are combined when measurements are rolled up."""

    SUM = "SUM"
    LATEST = "LATEST"
    CONSTANT = "CONSTANT"


class TargetStatus(StrEnum):
    """Status of the latest value against a target (§4.3)."""

    MET = "MET"
    AT_RISK = "AT_RISK"
    MISSED = "MISSED"
    NO_DATA = "NO_DATA"


class Grain(StrEnum):
    """The grain of a series: as recorded, or rolled up to calendar buckets (UTC)."""

    RECORDED = "RECORDED"
    WEEK = "WEEK"
    MONTH = "MONTH"
    QUARTER = "QUARTER"


class MeasurementSource(StrEnum):
    """Where a measurement came from (§4.2)."""

    MANUAL = "MANUAL"
    IMPORT = "IMPORT"
    SYSTEM = "SYSTEM"


def enum_member(enum: type[_E], value: object, field_name: str) -> _E:
    """``value`` as a member of ``enum``; anything else is VALIDATION_ERROR naming the field."""
    try:
        return enum(str(value))
    except ValueError:
        allowed = ", ".join(member.value for member in enum)
        raise ValidationFailed(field_name, f"{field_name} must be one of {allowed}") from None


def require_finite(field_name: str, value: object) -> float:
    """``value`` as a finite float; booleans, text and NaN/infinity are VALIDATION_ERROR."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValidationFailed(field_name, f"{field_name} must be a number")
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        raise ValidationFailed(field_name, f"{field_name} must be a finite number")
    return number


# --------------------------------------------------------------------------------------------
# Value objects
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class InputSpec:
    """A named input of a KPI: its kind and how it is combined on roll-up."""

    name: str
    kind: InputKind
    aggregation: Aggregation = Aggregation.SUM


@dataclass(frozen=True, slots=True)
class PartOf:
    """A rule "a part may not exceed its whole": ``part ≤ whole``, ``whole`` being a formula."""

    part: str
    whole: str


@dataclass(frozen=True, slots=True)
class Target:
    """A target: the value should satisfy ``value <comparator> threshold``."""

    comparator: Comparator
    value: float

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "comparator", enum_member(Comparator, self.comparator, "target.comparator")
        )
        object.__setattr__(self, "value", require_finite("target.value", self.value))


@dataclass(frozen=True)
class KpiDefinition:
    """A KPI: code, name, level, unit, direction, formula over declared inputs, default target.

    Construction checks that the formula parses, that it uses only declared inputs, and that
    every :class:`PartOf` refers to declared inputs.
    """

    code: str
    name: str
    level: KpiLevel
    unit: str
    direction: Direction
    formula: str
    inputs: tuple[InputSpec, ...]
    default_target: Target | None = None
    parts: tuple[PartOf, ...] = ()
    description: str | None = None  # what the KPI measures; None for custom KPIs
    expression: Expression = field(init=False, repr=False, compare=False)
    _wholes: tuple[tuple[str, Expression], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        expression = parse(self.formula)
        names = [spec.name for spec in self.inputs]
        for name in names:
            if not is_input_name(name):
                raise ValidationFailed(
                    f"inputs.{name}", f"input name {name!r} must match [a-z_][a-z0-9_]*"
                )
        if len(set(names)) != len(names):
            raise ValidationFailed("inputs", "input names must be unique")
        undeclared = sorted(expression.inputs - set(names))
        if undeclared:
            raise ValidationFailed(
                f"inputs.{undeclared[0]}",
                f"formula uses input {undeclared[0]}, which is not declared",
            )
        wholes: list[tuple[str, Expression]] = []
        for part in self.parts:
            whole = parse(part.whole)
            undeclared = sorted(({part.part} | whole.inputs) - set(names))
            if undeclared:
                raise ValidationFailed(
                    f"parts.{part.part}",
                    f"part rule uses input {undeclared[0]}, which is not declared",
                )
            wholes.append((part.part, whole))
        object.__setattr__(self, "expression", expression)
        object.__setattr__(self, "_wholes", tuple(wholes))

    @property
    def input_names(self) -> tuple[str, ...]:
        """The names of the declared inputs, in declaration order."""
        return tuple(spec.name for spec in self.inputs)


# --------------------------------------------------------------------------------------------
# The catalogue (§4.1)
# --------------------------------------------------------------------------------------------

_C = InputKind.COUNT
_DUR = InputKind.DURATION
_AMT = InputKind.AMOUNT
_NNA = InputKind.NON_NEGATIVE_AMOUNT


def _kpi(
    level: KpiLevel,
    code: str,
    name: str,
    formula: str,
    unit: str,
    direction: Direction,
    inputs: Sequence[InputSpec | tuple[str, InputKind]],
    target: Target | None = None,
    parts: Sequence[tuple[str, str]] = (),
) -> KpiDefinition:
    specs = tuple(spec if isinstance(spec, InputSpec) else InputSpec(*spec) for spec in inputs)
    return KpiDefinition(
        code=code,
        name=name,
        level=level,
        unit=unit,
        direction=direction,
        formula=formula,
        inputs=specs,
        default_target=target,
        parts=tuple(PartOf(part, whole) for part, whole in parts),
        description=CATALOGUE_DESCRIPTIONS[code],
    )


_L = KpiLevel
_UP, _DOWN, _NONE = Direction.UP, Direction.DOWN, Direction.NONE

_CATALOGUE_LIST: tuple[KpiDefinition, ...] = (
    _kpi(_L.TECHNICAL, "integration_compatibility", "integration compatibility",
         "successful_integrations", "count", _UP, [("successful_integrations", _C)]),
    _kpi(_L.TECHNICAL, "system_response_time", "system response time",
         "total_response_seconds / requests", "s", _DOWN,
         [("total_response_seconds", _DUR), ("requests", _C)],
         Target(Comparator.LTE, 0.5)),
    _kpi(_L.TECHNICAL, "security_level", "security level", "vulnerabilities + incidents",
         "count", _DOWN, [("vulnerabilities", _C), ("incidents", _C)],
         Target(Comparator.LTE, 0)),
    _kpi(_L.OPERATIONAL, "operation_time", "mean operation time",
         "total_operation_hours / operations", "h", _DOWN,
         [("total_operation_hours", _DUR), ("operations", _C)]),
    _kpi(_L.OPERATIONAL, "process_errors", "errors in processes", "errors / operations * 1000",
         "per 1000 ops", _DOWN, [("errors", _C), ("operations", _C)],
         Target(Comparator.LTE, 5), [("errors", "operations")]),
    _kpi(_L.OPERATIONAL, "sla_compliance", "SLA compliance", "within_sla / total * 100", "%",
         _UP, [("within_sla", _C), ("total", _C)], Target(Comparator.GTE, 95),
         [("within_sla", "total")]),
    _kpi(_L.STRATEGIC, "sales_conversion", "sales conversion",
         "successful_transactions / visits * 100", "%", _UP,
         [("successful_transactions", _C), ("visits", _C)],
         parts=[("successful_transactions", "visits")]),
    _kpi(_L.STRATEGIC, "kpi_fulfilment", "KPI fulfilment", "actual / planned * 100", "%", _UP,
         [("actual", _NNA), ("planned", _NNA)], Target(Comparator.GTE, 100)),
    _kpi(_L.STRATEGIC, "decision_time", "mean decision time",
         "total_decision_hours / decisions", "h", _DOWN,
         [("total_decision_hours", _DUR), ("decisions", _C)]),
    _kpi(_L.STRATEGIC, "team_engagement", "team engagement",
         "active_participants / team_size * 100", "%", _UP,
         [("active_participants", _C), ("team_size", _C)], Target(Comparator.GTE, 50),
         [("active_participants", "team_size")]),
    _kpi(_L.CUSTOMER, "customer_satisfaction", "customer satisfaction", "score_sum / responses",
         "points", _UP,
         [("score_sum", _NNA), ("responses", _C),
          InputSpec("scale_max", InputKind.POSITIVE_AMOUNT, Aggregation.CONSTANT)],
         parts=[("score_sum", "responses * scale_max")]),
    _kpi(_L.CUSTOMER, "repeat_purchase_rate", "repeat purchase rate",
         "repeat_purchases / customers * 100", "%", _UP,
         [("repeat_purchases", _C), ("customers", _C)],
         parts=[("repeat_purchases", "customers")]),
    _kpi(_L.CUSTOMER, "average_check", "average check", "revenue / transactions", "currency",
         _UP, [("revenue", _NNA), ("transactions", _C)]),
    _kpi(_L.CUSTOMER, "churn_rate", "churn", "lost_customers / customers * 100", "%", _DOWN,
         [("lost_customers", _C), ("customers", _C)],
         parts=[("lost_customers", "customers")]),
    _kpi(_L.FINANCIAL, "integration_roi", "ROI of integration",
         "profit_delta / investment * 100", "%", _UP,
         [("profit_delta", _AMT), ("investment", _NNA)], Target(Comparator.GT, 0)),
    _kpi(_L.FINANCIAL, "payback_period", "payback period",
         "investment / monthly_profit_increase", "months", _DOWN,
         [("investment", _NNA), ("monthly_profit_increase", _NNA)]),
    _kpi(_L.FINANCIAL, "operating_cost_reduction", "operating cost reduction",
         "costs_before / costs_after", "ratio", _UP,
         [("costs_before", _NNA), ("costs_after", _NNA)], Target(Comparator.GT, 1)),
    _kpi(_L.COMMUNICATION, "internal_communications", "internal communications",
         "messages + calls + comments", "count", _NONE,
         [("messages", _C), ("calls", _C), ("comments", _C)]),
    _kpi(_L.COMMUNICATION, "team_response_time", "team response time",
         "total_response_hours / requests", "h", _DOWN,
         [("total_response_hours", _DUR), ("requests", _C)]),
    _kpi(_L.COMMUNICATION, "resolved_requests_share", "resolved requests",
         "resolved / total * 100", "%", _UP, [("resolved", _C), ("total", _C)],
         parts=[("resolved", "total")]),
)  # fmt: skip

CATALOGUE: Mapping[str, KpiDefinition] = MappingProxyType(
    {definition.code: definition for definition in _CATALOGUE_LIST}
)
"""The 20 built-in KPIs of §4.1 by code, in the order of the specification's table."""


def catalogue_definition(code: str) -> KpiDefinition:
    """The built-in KPI with this code; ``NotFound`` (field ``code``) for any other code."""
    try:
        return CATALOGUE[code]
    except KeyError:
        raise NotFound("KPI", code, field="code") from None
