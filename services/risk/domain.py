"""Pure domain of the risk service: vocabulary, catalogue, scoring, lifecycle, overdue (§3).

Everything here is a plain function or a frozen value over the standard library; failures are
raised as the shared errors of :mod:`services.runtime.errors` so every layer reports them the
same way. Decisions taken where the specification is silent are documented where they apply.
Monitoring rules are :mod:`services.risk.monitoring`, the roadmap :mod:`services.risk.roadmap`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
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


# --------------------------------------------------------------------------- overdue (§3.4 views)


def is_review_overdue(next_review: date | None, today: date) -> bool:
    """Whether a risk's review date has passed (a review due today is not yet overdue)."""
    return next_review is not None and next_review < today


def is_action_overdue(due: date | None, done: bool, today: date) -> bool:
    """Whether an unfinished mitigation action is past its due date."""
    return not done and due is not None and due < today
