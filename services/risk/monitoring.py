"""Monitoring rules and escalation arithmetic of the risk service (domain.md §3.5). Pure.

A rule says which KPI breach (``kpi_code <comparator> threshold``) raises which risk category,
and by how many likelihood steps; a shop without KPI data for 30 days escalates too. Which
event escalates what, once per breach, is :mod:`services.risk.escalation`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from services.risk.domain import (
    RISK_CATEGORY_BY_CODE,
    Assessment,
    Comparator,
    Likelihood,
    RiskCategoryCode,
)
from services.runtime.errors import ValidationFailed

_C = RiskCategoryCode

MAX_LIKELIHOOD_STEP = 4  # a step of 4 already takes RARE to ALMOST_CERTAIN
NO_DATA_DAYS = 30
NO_DATA_CATEGORY = RiskCategoryCode.NO_KPI_MONITORING
SLIPPAGE_CATEGORY = RiskCategoryCode.FINANCIAL_OVERRUN
#: **Decision:** a risk created by an escalation starts at the neutral middle of the scale
#: (POSSIBLE) raised by the rule's step, with its category's default impact.
UNASSESSED_LIKELIHOOD = Likelihood.POSSIBLE


@dataclass(frozen=True)
class MonitoringRule:
    """A KPI → risk-category rule: a breach of ``kpi_code <comparator> threshold`` escalates."""

    id: str
    kpi_code: str
    comparator: Comparator
    threshold: float
    category: RiskCategoryCode
    likelihood_step: int = 1
    enabled: bool = True

    def describe(self) -> str:
        """Human-readable condition, for history entries and alerts."""
        return f"{self.kpi_code} {self.comparator.symbol} {self.threshold:g} → {self.category}"


def breaches(comparator: Comparator, value: float, threshold: float) -> bool:
    """Whether ``value`` breaches ``threshold`` under ``comparator`` (NaN never breaches)."""
    return comparator.holds(value, threshold)


def _check_step(step: object, field: str = "likelihood_step") -> int:
    if isinstance(step, bool) or not isinstance(step, int) or not 1 <= step <= MAX_LIKELIHOOD_STEP:
        raise ValidationFailed(
            field, f"{field} must be an integer from 1 to {MAX_LIKELIHOOD_STEP}; got {step!r}"
        )
    return step


def escalate_likelihood(current: Likelihood, step: int = 1) -> Likelihood:
    """Raise a likelihood by ``step`` (1–4), capped at ALMOST_CERTAIN (5)."""
    return Likelihood(min(int(current) + _check_step(step), int(Likelihood.ALMOST_CERTAIN)))


def escalate_assessment(assessment: Assessment, step: int = 1) -> Assessment:
    """Escalated copy of an assessment: likelihood raised by ``step``, impact kept.

    **Decision:** the service escalates the *inherent* assessment; since it only grows, the
    residual ≤ inherent rule keeps holding without touching the residual assessment.
    """
    return replace(assessment, likelihood=escalate_likelihood(assessment.likelihood, step))


def escalation_seed(category: RiskCategoryCode, step: int = 1) -> Assessment:
    """Inherent assessment of a risk created by an escalation (no open risk existed)."""
    impact = RISK_CATEGORY_BY_CODE[category].default_impact_level
    return Assessment(escalate_likelihood(UNASSESSED_LIKELIHOOD, step), impact)


def default_rule_id(kpi_code: str, category: RiskCategoryCode) -> str:
    """Stable id of a built-in rule, e.g. ``default-sla_compliance-VENDOR_RELIABILITY``."""
    return f"default-{kpi_code}-{category.value}"


def _default(kpi: str, cmp: Comparator, threshold: float, cat: RiskCategoryCode) -> MonitoringRule:
    return MonitoringRule(default_rule_id(kpi, cat), kpi, cmp, threshold, cat)


DEFAULT_RULES: tuple[MonitoringRule, ...] = (
    _default("sla_compliance", Comparator.LT, 95.0, _C.VENDOR_RELIABILITY),
    _default("sla_compliance", Comparator.LT, 95.0, _C.PERFORMANCE_UX),
    _default("system_response_time", Comparator.GT, 0.5, _C.PERFORMANCE_UX),
    _default("process_errors", Comparator.GT, 5.0, _C.API_INCOMPATIBILITY),
    _default("process_errors", Comparator.GT, 5.0, _C.DATA_QUALITY),
    _default("security_level", Comparator.GT, 0.0, _C.DATA_SECURITY),
    _default("integration_roi", Comparator.LT, 0.0, _C.FINANCIAL_OVERRUN),
    _default("team_engagement", Comparator.LT, 50.0, _C.PERSONNEL),
)


def validate_rule(
    id: str,
    kpi_code: object,
    comparator: object,
    threshold: object,
    category: object,
    likelihood_step: object = 1,
    enabled: object = True,
) -> MonitoringRule:
    """Build a :class:`MonitoringRule` from raw input; each error names the offending field."""
    if not isinstance(kpi_code, str) or not kpi_code.strip() or kpi_code != kpi_code.strip():
        raise ValidationFailed("kpi_code", "kpi_code must be a non-empty code without spaces")
    if not isinstance(comparator, str) or comparator not in Comparator.__members__:
        raise ValidationFailed(
            "comparator", f"comparator must be one of LT, LTE, GT, GTE; got {comparator!r}"
        )
    if (
        isinstance(threshold, bool)
        or not isinstance(threshold, int | float)
        or not math.isfinite(threshold)
    ):
        raise ValidationFailed("threshold", f"threshold must be a finite number; got {threshold!r}")
    if not isinstance(category, str) or category not in RiskCategoryCode.__members__:
        raise ValidationFailed(
            "category", f"category must be a risk category code; got {category!r}"
        )
    if not isinstance(enabled, bool):
        raise ValidationFailed("enabled", f"enabled must be a boolean; got {enabled!r}")
    return MonitoringRule(
        id=id,
        kpi_code=kpi_code,
        comparator=Comparator(comparator),
        threshold=float(threshold),
        category=RiskCategoryCode(category),
        likelihood_step=_check_step(likelihood_step),
        enabled=enabled,
    )


def matching_rules(
    rules: Iterable[MonitoringRule], kpi_code: str, value: float
) -> list[MonitoringRule]:
    """The enabled rules on ``kpi_code`` that ``value`` breaches, in the given order."""
    return [
        r
        for r in rules
        if r.enabled and r.kpi_code == kpi_code and breaches(r.comparator, value, r.threshold)
    ]


def no_kpi_data(last_measurement_at: datetime | None, now: datetime) -> bool:
    """Whether a shop has had no KPI measurement in the last 30 days (the window includes its
    start: a measurement exactly 30 days old still counts). Both datetimes must be of the same
    kind (aware or naive)."""
    if last_measurement_at is None:
        return True
    return last_measurement_at < now - timedelta(days=NO_DATA_DAYS)
