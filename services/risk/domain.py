"""Pure domain of the risk service: catalogue, scoring, lifecycle, escalation, roadmap (§3).

Everything here is a plain function or a frozen value over the standard library; failures are
raised as the shared errors of :mod:`services.runtime.errors` so every layer reports them the
same way. Decisions taken where the specification is silent are documented where they apply.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from enum import IntEnum, StrEnum

from services.runtime.comparator import Comparator as Comparator  # part of the domain's vocabulary
from services.runtime.errors import InvalidTransition, ValidationFailed

# --------------------------------------------------------------------------- enums (public API)


class RiskGroup(StrEnum):
    TECHNOLOGICAL = "TECHNOLOGICAL"
    CYBER = "CYBER"
    ORGANIZATIONAL = "ORGANIZATIONAL"
    FINANCIAL = "FINANCIAL"
    ANALYTICAL = "ANALYTICAL"


class RiskCategoryCode(StrEnum):
    DATA_QUALITY = "DATA_QUALITY"
    API_INCOMPATIBILITY = "API_INCOMPATIBILITY"
    DATA_SECURITY = "DATA_SECURITY"
    FUNCTIONAL_OVERLOAD = "FUNCTIONAL_OVERLOAD"
    PERSONNEL = "PERSONNEL"
    FINANCIAL_OVERRUN = "FINANCIAL_OVERRUN"
    VENDOR_RELIABILITY = "VENDOR_RELIABILITY"
    PERFORMANCE_UX = "PERFORMANCE_UX"
    NO_KPI_MONITORING = "NO_KPI_MONITORING"
    COMPLIANCE = "COMPLIANCE"


class Likelihood(IntEnum):
    """Likelihood 1–5; the member *name* is the public code, the value is the score factor."""

    RARE = 1
    UNLIKELY = 2
    POSSIBLE = 3
    LIKELY = 4
    ALMOST_CERTAIN = 5


class Impact(IntEnum):
    """Impact 1–5; the member *name* is the public code, the value is the score factor."""

    NEGLIGIBLE = 1
    MINOR = 2
    MODERATE = 3
    MAJOR = 4
    SEVERE = 5


class RiskLevel(StrEnum):
    LOW = "LOW"
    MEDIUM = "MEDIUM"
    HIGH = "HIGH"
    CRITICAL = "CRITICAL"


class RiskStatus(StrEnum):
    IDENTIFIED = "IDENTIFIED"
    ASSESSED = "ASSESSED"
    MITIGATING = "MITIGATING"
    MONITORING = "MONITORING"
    CLOSED = "CLOSED"
    ACCEPTED = "ACCEPTED"


class StageCode(StrEnum):
    AUDIT = "AUDIT"
    ARCHITECTURE = "ARCHITECTURE"
    MVP = "MVP"
    SCALING = "SCALING"
    MONITORING = "MONITORING"


class StageStatus(StrEnum):
    NOT_STARTED = "NOT_STARTED"
    IN_PROGRESS = "IN_PROGRESS"
    DONE = "DONE"


class DefaultImpact(StrEnum):
    HIGH = "HIGH"
    MEDIUM = "MEDIUM"


# --------------------------------------------------------------------------- catalogue (§3.1–3.2)


@dataclass(frozen=True)
class RiskGroupInfo:
    code: RiskGroup
    name: str
    essence: str
    diagnostics: str


@dataclass(frozen=True)
class RiskCategory:
    code: RiskCategoryCode
    group: RiskGroup
    name: str
    manifestation: str
    consequences: str
    monitoring: str
    preventive_actions: str
    default_impact: DefaultImpact

    @property
    def default_impact_level(self) -> Impact:
        """The 1–5 impact a new risk of this category starts with (HIGH→MAJOR, MEDIUM→MODERATE)."""
        return DEFAULT_IMPACT_LEVEL[self.default_impact]


DEFAULT_IMPACT_LEVEL: Mapping[DefaultImpact, Impact] = {
    DefaultImpact.HIGH: Impact.MAJOR,
    DefaultImpact.MEDIUM: Impact.MODERATE,
}

_G, _C, _H, _M = RiskGroup, RiskCategoryCode, DefaultImpact.HIGH, DefaultImpact.MEDIUM

RISK_GROUPS: tuple[RiskGroupInfo, ...] = (
    RiskGroupInfo(_G.TECHNOLOGICAL, "technological / technical",
                  "incompatible systems, failures when integrating APIs",
                  "IT audit, testing of integration modules"),
    RiskGroupInfo(_G.CYBER, "cyber risks (data security)",
                  "customer data leak through weak protection",
                  "security audit, penetration testing"),
    RiskGroupInfo(_G.ORGANIZATIONAL, "organizational (personnel)",
                  "staff resistance, low digital culture",
                  "assessment of staff digital maturity"),
    RiskGroupInfo(_G.FINANCIAL, "financial", "implementation budget overrun",
                  "ROI monitoring, TCO analysis"),
    RiskGroupInfo(_G.ANALYTICAL, "analytical", "wrong interpretation of data",
                  "verification of analytics models, user training"),
)  # fmt: skip

RISK_CATEGORIES: tuple[RiskCategory, ...] = (
    RiskCategory(_C.DATA_QUALITY, _G.TECHNOLOGICAL, "data quality",
                 "wrong formats, duplicate products, SKU price and stock errors",
                 "distorted analytics, lost orders, conversion drop",
                 "data audit before integration, ETL testing, field validation",
                 "automatic validation scripts, single-source-of-truth policy", _H),
    RiskCategory(_C.API_INCOMPATIBILITY, _G.TECHNOLOGICAL, "API incompatibility",
                 "outdated or closed APIs, format conflicts between CRM, ERP and CMS",
                 "no synchronisation, lost orders, overloaded servers",
                 "integration testing, API health checks",
                 "middleware, API versioning", _H),
    RiskCategory(_C.DATA_SECURITY, _G.CYBER, "data security",
                 "leak of personal or payment data, vulnerable entry points",
                 "fines, reputation loss, customer outflow",
                 "penetration tests, access audit, log monitoring",
                 "TLS, MFA, least-privilege policies, backups", _H),
    RiskCategory(_C.FUNCTIONAL_OVERLOAD, _G.TECHNOLOGICAL, "functional overload",
                 "too many connected services without process optimisation",
                 "lower productivity, confused users, technical errors",
                 "UX testing, user-behaviour analytics",
                 "gradual rollout of modules, A/B testing", _M),
    RiskCategory(_C.PERSONNEL, _G.ORGANIZATIONAL, "personnel",
                 "staff unwilling to work with new systems, low digital literacy, "
                 "poor communication",
                 "integration effect not achieved, conflicts, delays",
                 "surveys, focus groups, analysis of process errors",
                 "training, pilot rollouts, internal communication plan", _M),
    RiskCategory(_C.FINANCIAL_OVERRUN, _G.FINANCIAL, "financial overrun",
                 "unrealistic budget, unaccounted licence and support costs",
                 "estimate exceeded, lower ROI",
                 "planned vs actual costs, TCO control",
                 "staged financing, open SaaS solutions, cost audit", _H),
    RiskCategory(_C.VENDOR_RELIABILITY, _G.TECHNOLOGICAL, "vendor reliability",
                 "outages, tariff changes, end of support at a third-party provider",
                 "downtime of business processes, risk of data loss",
                 "SLA monitoring, tracking provider status",
                 "duplicate critical functions, backups", _M),
    RiskCategory(_C.PERFORMANCE_UX, _G.TECHNOLOGICAL, "performance and UX",
                 "slow site, errors at checkout",
                 "lower conversion, higher bounce rate",
                 "Lighthouse tests, web analytics",
                 "caching, lower API load", _H),
    RiskCategory(_C.NO_KPI_MONITORING, _G.ANALYTICAL, "no KPI monitoring",
                 "no indicators to judge the integration",
                 "ROI cannot be controlled, loss of management agility",
                 "dashboards, reporting",
                 "regular reports, KPIs such as time-to-order and data latency", _M),
    RiskCategory(_C.COMPLIANCE, _G.CYBER, "compliance",
                 "personal-data storage does not meet GDPR / ISO",
                 "legal fines, blocked operations",
                 "compliance audit, legal advice",
                 "privacy policy, updated documents", _M),
)  # fmt: skip

RISK_GROUP_BY_CODE: Mapping[RiskGroup, RiskGroupInfo] = {g.code: g for g in RISK_GROUPS}
RISK_CATEGORY_BY_CODE: Mapping[RiskCategoryCode, RiskCategory] = {
    c.code: c for c in RISK_CATEGORIES
}

# --------------------------------------------------------------------------- scoring (§3.3)


def _scale_rule(field: str, enum: type[IntEnum]) -> str:
    members = list(enum)
    return (
        f"{field} must be an integer from {members[0].value} ({members[0].name}) "
        f"to {members[-1].value} ({members[-1].name})"
    )


def parse_likelihood(value: object, field: str = "likelihood") -> Likelihood:
    """Validate a likelihood given as an integer 1–5 or its code (``"LIKELY"``)."""
    if isinstance(value, str) and value in Likelihood.__members__:
        return Likelihood[value]
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 5:
        return Likelihood(value)
    raise ValidationFailed(field, f"{_scale_rule(field, Likelihood)}; got {value!r}")


def parse_impact(value: object, field: str = "impact") -> Impact:
    """Validate an impact given as an integer 1–5 or its code (``"MAJOR"``)."""
    if isinstance(value, str) and value in Impact.__members__:
        return Impact[value]
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 5:
        return Impact(value)
    raise ValidationFailed(field, f"{_scale_rule(field, Impact)}; got {value!r}")


def risk_score(likelihood: int, impact: int) -> int:
    """Score of the 5 × 5 model: likelihood × impact, 1–25."""
    return int(parse_likelihood(likelihood)) * int(parse_impact(impact))


def risk_level(score: int) -> RiskLevel:
    """Level of a score: LOW 1–4, MEDIUM 5–9, HIGH 10–16, CRITICAL 17–25."""
    if isinstance(score, bool) or not isinstance(score, int) or not 1 <= score <= 25:
        raise ValidationFailed("score", f"score must be an integer from 1 to 25; got {score!r}")
    if score <= 4:
        return RiskLevel.LOW
    if score <= 9:
        return RiskLevel.MEDIUM
    if score <= 16:
        return RiskLevel.HIGH
    return RiskLevel.CRITICAL


@dataclass(frozen=True)
class Assessment:
    """A likelihood × impact assessment (inherent or residual); validated on construction."""

    likelihood: Likelihood
    impact: Impact

    def __post_init__(self) -> None:
        object.__setattr__(self, "likelihood", parse_likelihood(self.likelihood))
        object.__setattr__(self, "impact", parse_impact(self.impact))

    @property
    def score(self) -> int:
        return int(self.likelihood) * int(self.impact)

    @property
    def level(self) -> RiskLevel:
        return risk_level(self.score)


def assess(likelihood: object, impact: object, field: str | None = None) -> Assessment:
    """Build an :class:`Assessment` from raw input; errors name ``<field>.likelihood`` etc."""
    prefix = f"{field}." if field else ""
    return Assessment(
        parse_likelihood(likelihood, f"{prefix}likelihood"),
        parse_impact(impact, f"{prefix}impact"),
    )


def check_residual(inherent: Assessment, residual: Assessment) -> None:
    """Reject a residual assessment scoring above the inherent one (controls never add risk)."""
    if residual.score > inherent.score:
        raise ValidationFailed(
            "residual",
            f"residual score {residual.score} ({residual.likelihood.name} × "
            f"{residual.impact.name}) may not exceed inherent score {inherent.score} "
            f"({inherent.likelihood.name} × {inherent.impact.name})",
        )


def risk_matrix(assessments: Iterable[Assessment]) -> list[list[int]]:
    """5 × 5 counts of assessments, indexed ``[likelihood - 1][impact - 1]``."""
    matrix = [[0] * 5 for _ in range(5)]
    for a in assessments:
        matrix[a.likelihood - 1][a.impact - 1] += 1
    return matrix


# --------------------------------------------------------------------------- lifecycle (§3.4)

_S = RiskStatus
#: Allowed status changes. **Decision:** ``ACCEPTED → CLOSED`` is the only way out of
#: ``ACCEPTED`` (an accepted risk is eventually closed; to work on it again it is reopened from
#: ``CLOSED`` to ``IDENTIFIED``, which keeps the path through the register explicit). Setting a
#: risk to the status it already has is not a transition and is rejected as well.
ALLOWED_TRANSITIONS: Mapping[RiskStatus, frozenset[RiskStatus]] = {
    _S.IDENTIFIED: frozenset({_S.ASSESSED}),
    _S.ASSESSED: frozenset({_S.MITIGATING, _S.ACCEPTED}),
    _S.MITIGATING: frozenset({_S.MONITORING, _S.ACCEPTED}),
    _S.MONITORING: frozenset({_S.CLOSED, _S.ACCEPTED}),
    _S.ACCEPTED: frozenset({_S.CLOSED}),
    _S.CLOSED: frozenset({_S.IDENTIFIED}),
}

#: **Decision:** every status but ``CLOSED`` is open — an ``ACCEPTED`` risk is still live, so a
#: KPI breach raises its likelihood (and is visible in its history) rather than creating a
#: duplicate risk of the same category.
OPEN_STATUSES: frozenset[RiskStatus] = frozenset(s for s in RiskStatus if s is not _S.CLOSED)


def is_open(status: RiskStatus) -> bool:
    """Whether a risk in ``status`` is open (escalations apply to it; it counts as live)."""
    return status in OPEN_STATUSES


def check_transition(current: RiskStatus, target: RiskStatus) -> None:
    """Raise :class:`InvalidTransition` unless ``current → target`` is in the lifecycle."""
    allowed = ALLOWED_TRANSITIONS[current]
    if target not in allowed:
        targets = ", ".join(s.value for s in RiskStatus if s in allowed)
        raise InvalidTransition(
            "status",
            f"a risk cannot move from {current.value} to {target.value}; "
            f"allowed from {current.value}: {targets}",
        )


# --------------------------------------------------------------------------- escalation (§3.5)

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


# --------------------------------------------------------------------------- roadmap (§3.6)

#: **Decision:** a month is 30.5 days; lower bounds round down, upper bounds round up, so a
#: stage never slips because of rounding (1–2 months = 30–61 days, 2–3 months = 61–92 days).
MONTH_DAYS = 30.5


@dataclass(frozen=True)
class StageInfo:
    number: int
    code: StageCode
    name: str
    content: str
    typical_min_days: int
    typical_max_days: int | None  # None: ongoing, never slips
    result: str


STAGES: tuple[StageInfo, ...] = (
    StageInfo(1, StageCode.AUDIT, "preparatory audit",
              "business-process analysis, data audit, choice of integration points",
              14, 21, "critical zones identified"),
    StageInfo(2, StageCode.ARCHITECTURE, "architecture design",
              "structure of modules and API links", 21, 28, "technical model of the integration"),
    StageInfo(3, StageCode.MVP, "MVP integration", "base links: CRM, catalogue, payments",
              math.floor(1 * MONTH_DAYS), math.ceil(2 * MONTH_DAYS),
              "first measurement of the effect"),
    StageInfo(4, StageCode.SCALING, "scaling", "marketing, analytics, logistics connected",
              math.floor(2 * MONTH_DAYS), math.ceil(3 * MONTH_DAYS), "full digital ecosystem"),
    StageInfo(5, StageCode.MONITORING, "monitoring and support",
              "periodic KPI assessment, technical optimisation", 0, None,
              "stability of the system"),
)  # fmt: skip

STAGE_BY_CODE: Mapping[StageCode, StageInfo] = {s.code: s for s in STAGES}


@dataclass(frozen=True)
class Stage:
    """The state of one roadmap stage of a shop."""

    code: StageCode
    status: StageStatus = StageStatus.NOT_STARTED
    planned_start: date | None = None
    planned_end: date | None = None
    actual_start: date | None = None
    actual_end: date | None = None


def slippage_days(stage: Stage, today: date) -> int | None:
    """Actual (or, in progress, elapsed-to-today) duration minus the typical upper bound.

    Negative when ahead of it; ``None`` when the stage has not started, has no actual start,
    or has no upper bound (MONITORING is ongoing).
    """
    upper = STAGE_BY_CODE[stage.code].typical_max_days
    if upper is None or stage.status is StageStatus.NOT_STARTED or stage.actual_start is None:
        return None
    end = stage.actual_end if stage.status is StageStatus.DONE and stage.actual_end else today
    return max((end - stage.actual_start).days, 0) - upper


def slips(stage: Stage, today: date) -> bool:
    """Whether a stage runs (or ran) longer than its typical duration — escalates
    :data:`SLIPPAGE_CATEGORY` like a monitoring rule."""
    days = slippage_days(stage, today)
    return days is not None and days > 0


def check_actual_dates_past(stage: Stage, today: date) -> None:
    """Actual dates say what happened: neither may lie after ``today``."""
    for name in ("actual_start", "actual_end"):
        moment = getattr(stage, name)
        if moment is not None and moment > today:
            raise ValidationFailed(
                name, f"{name} may not be in the future ({moment.isoformat()} > {today})"
            )


def validate_stage(stage: Stage) -> None:
    """Check a stage's dates against each other and its status.

    **Decision:** a NOT_STARTED stage has no actual dates; IN_PROGRESS and DONE need
    ``actual_start``; only DONE has (and requires) ``actual_end``; ends never precede starts.
    """
    s = stage
    if s.planned_start and s.planned_end and s.planned_end < s.planned_start:
        raise ValidationFailed("planned_end", "planned_end may not be before planned_start")
    if s.status is StageStatus.NOT_STARTED and (s.actual_start or s.actual_end):
        raise ValidationFailed("actual_start", "a NOT_STARTED stage has no actual dates")
    if s.status is not StageStatus.NOT_STARTED and s.actual_start is None:
        raise ValidationFailed("actual_start", f"a {s.status.value} stage needs actual_start")
    if s.status is StageStatus.IN_PROGRESS and s.actual_end is not None:
        raise ValidationFailed("actual_end", "an IN_PROGRESS stage has no actual_end")
    if s.status is StageStatus.DONE and s.actual_end is None:
        raise ValidationFailed("actual_end", "a DONE stage needs actual_end")
    if s.actual_start and s.actual_end and s.actual_end < s.actual_start:
        raise ValidationFailed("actual_end", "actual_end may not be before actual_start")


def check_stage_status(stages: Iterable[Stage], code: StageCode, new_status: StageStatus) -> None:
    """Check a stage status change against the roadmap order.

    A stage cannot be DONE before its predecessor is DONE. **Decision:** a stage never goes
    back to NOT_STARTED once started (that would erase its actual dates); a DONE stage may be
    reopened to IN_PROGRESS only while its successor is not DONE (the order rule keeps
    holding). Setting the current status again is allowed (e.g. to edit dates).
    """
    by_code = {s.code: s for s in stages}
    current = by_code.get(code, Stage(code)).status
    number = STAGE_BY_CODE[code].number
    if new_status is current:
        return
    if new_status is StageStatus.NOT_STARTED:
        raise InvalidTransition(
            "status", f"stage {code.value} cannot go back from {current.value} to NOT_STARTED"
        )
    if new_status is StageStatus.DONE and number > 1:
        before = STAGES[number - 2].code
        if by_code.get(before, Stage(before)).status is not StageStatus.DONE:
            raise InvalidTransition(
                "status", f"stage {code.value} cannot be DONE before {before.value} is DONE"
            )
    if current is StageStatus.DONE and number < len(STAGES):
        after = STAGES[number].code
        if by_code.get(after, Stage(after)).status is StageStatus.DONE:
            raise InvalidTransition(
                "status", f"stage {code.value} cannot be reopened while {after.value} is DONE"
            )


def set_stage_status(
    stages: Iterable[Stage], code: StageCode, new_status: StageStatus, today: date
) -> Stage:
    """Apply a checked status change and fill the actual dates it implies.

    Starting sets ``actual_start`` to today if missing; finishing also sets ``actual_end``;
    reopening clears ``actual_end``. The result is validated with :func:`validate_stage`.
    """
    stages = list(stages)
    check_stage_status(stages, code, new_status)
    stage = next((s for s in stages if s.code == code), Stage(code))
    start = stage.actual_start or today
    if new_status is StageStatus.IN_PROGRESS:
        stage = replace(stage, status=new_status, actual_start=start, actual_end=None)
    elif new_status is StageStatus.DONE:
        end = stage.actual_end or today
        stage = replace(stage, status=new_status, actual_start=start, actual_end=end)
    validate_stage(stage)
    return stage


# --------------------------------------------------------------------------- overdue (§3.4 views)


def is_review_overdue(next_review: date | None, today: date) -> bool:
    """Whether a risk's review date has passed (a review due today is not yet overdue)."""
    return next_review is not None and next_review < today


def is_action_overdue(due: date | None, done: bool, today: date) -> bool:
    """Whether an unfinished mitigation action is past its due date."""
    return not done and due is not None and due < today
