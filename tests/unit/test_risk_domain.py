"""Behavioural unit tests of the pure risk domain (spec §3)."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta

import pytest

from services.risk.domain import (
    ALLOWED_TRANSITIONS,
    RISK_CATEGORIES,
    RISK_CATEGORY_BY_CODE,
    RISK_GROUP_BY_CODE,
    RISK_GROUPS,
    Assessment,
    Comparator,
    DefaultImpact,
    Impact,
    Likelihood,
    RiskCategoryCode,
    RiskGroup,
    RiskLevel,
    RiskStatus,
    StageCode,
    StageStatus,
    assess,
    check_residual,
    check_transition,
    is_action_overdue,
    is_open,
    is_review_overdue,
    parse_impact,
    parse_likelihood,
    risk_level,
    risk_matrix,
    risk_score,
)
from services.risk.monitoring import (
    DEFAULT_RULES,
    NO_DATA_DAYS,
    MonitoringRule,
    breaches,
    default_rule_id,
    escalate_assessment,
    escalate_likelihood,
    escalation_seed,
    matching_rules,
    no_kpi_data,
    validate_rule,
)
from services.risk.roadmap import (
    STAGE_BY_CODE,
    STAGES,
    Stage,
    check_stage_status,
    set_stage_status,
    slippage_days,
    slips,
    validate_stage,
)
from services.runtime.errors import ErrorCode, IntegraError, InvalidTransition, ValidationFailed

S = RiskStatus
C = RiskCategoryCode
NS, IP, DONE = StageStatus.NOT_STARTED, StageStatus.IN_PROGRESS, StageStatus.DONE

# ------------------------------------------------------------------ catalogue


def test_groups_and_categories_follow_the_spec_order() -> None:
    assert [g.code for g in RISK_GROUPS] == list(RiskGroup)
    assert [c.code.value for c in RISK_CATEGORIES] == [
        "DATA_QUALITY",
        "API_INCOMPATIBILITY",
        "DATA_SECURITY",
        "FUNCTIONAL_OVERLOAD",
        "PERSONNEL",
        "FINANCIAL_OVERRUN",
        "VENDOR_RELIABILITY",
        "PERFORMANCE_UX",
        "NO_KPI_MONITORING",
        "COMPLIANCE",
    ]
    assert set(RISK_CATEGORY_BY_CODE) == set(RiskCategoryCode)
    assert set(RISK_GROUP_BY_CODE) == set(RiskGroup)


@pytest.mark.parametrize(
    ("code", "group", "default"),
    [
        (C.DATA_QUALITY, RiskGroup.TECHNOLOGICAL, DefaultImpact.HIGH),
        (C.API_INCOMPATIBILITY, RiskGroup.TECHNOLOGICAL, DefaultImpact.HIGH),
        (C.DATA_SECURITY, RiskGroup.CYBER, DefaultImpact.HIGH),
        (C.FUNCTIONAL_OVERLOAD, RiskGroup.TECHNOLOGICAL, DefaultImpact.MEDIUM),
        (C.PERSONNEL, RiskGroup.ORGANIZATIONAL, DefaultImpact.MEDIUM),
        (C.FINANCIAL_OVERRUN, RiskGroup.FINANCIAL, DefaultImpact.HIGH),
        (C.VENDOR_RELIABILITY, RiskGroup.TECHNOLOGICAL, DefaultImpact.MEDIUM),
        (C.PERFORMANCE_UX, RiskGroup.TECHNOLOGICAL, DefaultImpact.HIGH),
        (C.NO_KPI_MONITORING, RiskGroup.ANALYTICAL, DefaultImpact.MEDIUM),
        (C.COMPLIANCE, RiskGroup.CYBER, DefaultImpact.MEDIUM),
    ],
)
def test_category_group_and_default_impact(
    code: RiskCategoryCode, group: RiskGroup, default: DefaultImpact
) -> None:
    category = RISK_CATEGORY_BY_CODE[code]
    assert category.group is group
    assert category.default_impact is default
    expected = Impact.MAJOR if default is DefaultImpact.HIGH else Impact.MODERATE
    assert category.default_impact_level is expected
    for text in (
        category.name,
        category.manifestation,
        category.consequences,
        category.monitoring,
        category.preventive_actions,
    ):
        assert text.strip()


def test_catalogue_texts_come_from_the_table() -> None:
    assert RISK_CATEGORY_BY_CODE[C.DATA_SECURITY].preventive_actions == (
        "TLS, MFA, least-privilege policies, backups"
    )
    assert RISK_CATEGORY_BY_CODE[C.PERFORMANCE_UX].monitoring == "Lighthouse tests, web analytics"
    assert RISK_GROUP_BY_CODE[RiskGroup.FINANCIAL].diagnostics == "ROI monitoring, TCO analysis"


def test_scale_codes_and_values() -> None:
    assert [(m.name, m.value) for m in Likelihood] == [
        ("RARE", 1),
        ("UNLIKELY", 2),
        ("POSSIBLE", 3),
        ("LIKELY", 4),
        ("ALMOST_CERTAIN", 5),
    ]
    assert [(m.name, m.value) for m in Impact] == [
        ("NEGLIGIBLE", 1),
        ("MINOR", 2),
        ("MODERATE", 3),
        ("MAJOR", 4),
        ("SEVERE", 5),
    ]


# ------------------------------------------------------------------ scoring


@pytest.mark.parametrize(
    ("score", "level"),
    [
        (1, RiskLevel.LOW),
        (4, RiskLevel.LOW),
        (5, RiskLevel.MEDIUM),
        (9, RiskLevel.MEDIUM),
        (10, RiskLevel.HIGH),
        (16, RiskLevel.HIGH),
        (17, RiskLevel.CRITICAL),
        (25, RiskLevel.CRITICAL),
    ],
)
def test_level_boundaries(score: int, level: RiskLevel) -> None:
    assert risk_level(score) is level


@pytest.mark.parametrize("score", [0, 26, -1, True, 4.0, "5"])
def test_level_rejects_scores_outside_1_to_25(score: object) -> None:
    with pytest.raises(ValidationFailed) as err:
        risk_level(score)  # type: ignore[arg-type]
    assert err.value.field == "score"
    assert "1 to 25" in err.value.message


def test_score_is_likelihood_times_impact_over_the_whole_grid() -> None:
    for lk in range(1, 6):
        for im in range(1, 6):
            assert risk_score(lk, im) == lk * im
            a = Assessment(Likelihood(lk), Impact(im))
            assert a.score == lk * im
            assert a.level is risk_level(lk * im)


@pytest.mark.parametrize(
    ("likelihood", "impact", "level"),
    [
        (Likelihood.UNLIKELY, Impact.MINOR, RiskLevel.LOW),  # 4
        (Likelihood.RARE, Impact.SEVERE, RiskLevel.MEDIUM),  # 5
        (Likelihood.POSSIBLE, Impact.MODERATE, RiskLevel.MEDIUM),  # 9
        (Likelihood.UNLIKELY, Impact.SEVERE, RiskLevel.HIGH),  # 10
        (Likelihood.LIKELY, Impact.MAJOR, RiskLevel.HIGH),  # 16
        (Likelihood.ALMOST_CERTAIN, Impact.MAJOR, RiskLevel.CRITICAL),  # 20
    ],
)
def test_assessment_level(likelihood: Likelihood, impact: Impact, level: RiskLevel) -> None:
    assert Assessment(likelihood, impact).level is level


def test_codes_are_accepted_as_input() -> None:
    assert parse_likelihood("LIKELY") is Likelihood.LIKELY
    assert parse_impact("SEVERE") is Impact.SEVERE
    assert assess("RARE", 2) == Assessment(Likelihood.RARE, Impact.MINOR)


def test_assessment_coerces_plain_ints_to_the_scales() -> None:
    a = Assessment(3, 4)  # type: ignore[arg-type]
    assert a.likelihood is Likelihood.POSSIBLE
    assert a.impact is Impact.MAJOR


@pytest.mark.parametrize("bad", [0, 6, -3, 2.0, True, None, "3", "HIGH"])
def test_likelihood_out_of_range_or_not_int_names_the_field(bad: object) -> None:
    with pytest.raises(ValidationFailed) as err:
        assess(bad, 3)
    assert err.value.field == "likelihood"
    assert err.value.code is ErrorCode.VALIDATION_ERROR
    assert "likelihood must be an integer from 1 (RARE) to 5 (ALMOST_CERTAIN)" in err.value.message


@pytest.mark.parametrize("bad", [0, 6, 1.5, False, None, "MAJORR"])
def test_impact_out_of_range_or_not_int_names_the_field(bad: object) -> None:
    with pytest.raises(ValidationFailed) as err:
        assess(3, bad, field="residual")
    assert err.value.field == "residual.impact"
    assert "from 1 (NEGLIGIBLE) to 5 (SEVERE)" in err.value.message


def test_score_and_assessment_constructor_validate_too() -> None:
    with pytest.raises(ValidationFailed) as err:
        risk_score(6, 1)
    assert err.value.field == "likelihood"
    with pytest.raises(ValidationFailed) as err:
        Assessment(Likelihood.RARE, 0)  # type: ignore[arg-type]
    assert err.value.field == "impact"


def test_residual_above_inherent_is_rejected() -> None:
    inherent = Assessment(Likelihood.POSSIBLE, Impact.MODERATE)  # 9
    with pytest.raises(ValidationFailed) as err:
        check_residual(inherent, Assessment(Likelihood.UNLIKELY, Impact.SEVERE))  # 10
    assert err.value.field == "residual"
    assert "may not exceed inherent score 9" in err.value.message


def test_residual_equal_or_below_inherent_is_accepted() -> None:
    inherent = Assessment(Likelihood.POSSIBLE, Impact.MODERATE)
    check_residual(inherent, inherent)
    # a higher factor is fine as long as the score is not higher
    check_residual(inherent, Assessment(Likelihood.ALMOST_CERTAIN, Impact.NEGLIGIBLE))


def test_risk_matrix_counts_by_likelihood_then_impact() -> None:
    matrix = risk_matrix(
        [
            Assessment(Likelihood.RARE, Impact.SEVERE),
            Assessment(Likelihood.RARE, Impact.SEVERE),
            Assessment(Likelihood.ALMOST_CERTAIN, Impact.NEGLIGIBLE),
            Assessment(Likelihood.POSSIBLE, Impact.MAJOR),
        ]
    )
    assert len(matrix) == 5
    assert all(len(row) == 5 for row in matrix)
    assert matrix[0][4] == 2
    assert matrix[4][0] == 1
    assert matrix[2][3] == 1
    assert sum(map(sum, matrix)) == 4


def test_risk_matrix_of_nothing_is_all_zero() -> None:
    assert risk_matrix([]) == [[0] * 5 for _ in range(5)]


# ------------------------------------------------------------------ lifecycle

ALLOWED = {
    (S.IDENTIFIED, S.ASSESSED),
    (S.ASSESSED, S.MITIGATING),
    (S.MITIGATING, S.MONITORING),
    (S.MONITORING, S.CLOSED),
    (S.ASSESSED, S.ACCEPTED),
    (S.MITIGATING, S.ACCEPTED),
    (S.MONITORING, S.ACCEPTED),
    (S.CLOSED, S.IDENTIFIED),
    (S.ACCEPTED, S.CLOSED),
}


@pytest.mark.parametrize("current", list(RiskStatus))
@pytest.mark.parametrize("target", list(RiskStatus))
def test_full_transition_matrix(current: RiskStatus, target: RiskStatus) -> None:
    if (current, target) in ALLOWED:
        check_transition(current, target)
        assert target in ALLOWED_TRANSITIONS[current]
    else:
        with pytest.raises(InvalidTransition) as err:
            check_transition(current, target)
        assert err.value.field == "status"
        assert err.value.code is ErrorCode.INVALID_TRANSITION
        assert current.value in err.value.message
        assert target.value in err.value.message


def test_transition_error_lists_the_allowed_targets() -> None:
    with pytest.raises(InvalidTransition) as err:
        check_transition(S.ASSESSED, S.CLOSED)
    assert err.value.message.endswith("allowed from ASSESSED: MITIGATING, ACCEPTED")


def test_open_means_anything_but_closed() -> None:
    assert [s for s in RiskStatus if not is_open(s)] == [S.CLOSED]
    assert is_open(S.ACCEPTED)


# ------------------------------------------------------------------ escalation


@pytest.mark.parametrize(
    ("current", "step", "expected"),
    [
        (Likelihood.RARE, 1, Likelihood.UNLIKELY),
        (Likelihood.POSSIBLE, 2, Likelihood.ALMOST_CERTAIN),
        (Likelihood.LIKELY, 1, Likelihood.ALMOST_CERTAIN),
        (Likelihood.LIKELY, 3, Likelihood.ALMOST_CERTAIN),
        (Likelihood.ALMOST_CERTAIN, 1, Likelihood.ALMOST_CERTAIN),
        (Likelihood.RARE, 4, Likelihood.ALMOST_CERTAIN),
    ],
)
def test_escalation_is_capped_at_5(current: Likelihood, step: int, expected: Likelihood) -> None:
    assert escalate_likelihood(current, step) is expected


@pytest.mark.parametrize("step", [0, 5, -1, True, 1.0])
def test_escalation_step_must_be_1_to_4(step: object) -> None:
    with pytest.raises(ValidationFailed) as err:
        escalate_likelihood(Likelihood.RARE, step)  # type: ignore[arg-type]
    assert err.value.field == "likelihood_step"


def test_escalate_assessment_keeps_impact() -> None:
    a = Assessment(Likelihood.UNLIKELY, Impact.SEVERE)
    assert escalate_assessment(a, 2) == Assessment(Likelihood.LIKELY, Impact.SEVERE)


def test_escalation_seed_uses_category_default_impact() -> None:
    seed = escalation_seed(C.DATA_SECURITY, 1)
    assert seed == Assessment(Likelihood.LIKELY, Impact.MAJOR)
    assert escalation_seed(C.PERSONNEL, 1).impact is Impact.MODERATE


@pytest.mark.parametrize(
    ("comparator", "value", "threshold", "expected"),
    [
        (Comparator.LT, 94.9, 95, True),
        (Comparator.LT, 95, 95, False),
        (Comparator.LTE, 95, 95, True),
        (Comparator.LTE, 95.1, 95, False),
        (Comparator.GT, 0.51, 0.5, True),
        (Comparator.GT, 0.5, 0.5, False),
        (Comparator.GTE, 0.5, 0.5, True),
        (Comparator.GTE, 0.49, 0.5, False),
        (Comparator.LT, math.nan, 95, False),
        (Comparator.GT, math.nan, 0, False),
    ],
)
def test_breaches(comparator: Comparator, value: float, threshold: float, expected: bool) -> None:
    assert breaches(comparator, value, threshold) is expected


def test_default_rules_table() -> None:
    assert [(r.kpi_code, r.comparator, r.threshold, r.category) for r in DEFAULT_RULES] == [
        ("sla_compliance", Comparator.LT, 95.0, C.VENDOR_RELIABILITY),
        ("sla_compliance", Comparator.LT, 95.0, C.PERFORMANCE_UX),
        ("system_response_time", Comparator.GT, 0.5, C.PERFORMANCE_UX),
        ("process_errors", Comparator.GT, 5.0, C.API_INCOMPATIBILITY),
        ("process_errors", Comparator.GT, 5.0, C.DATA_QUALITY),
        ("security_level", Comparator.GT, 0.0, C.DATA_SECURITY),
        ("integration_roi", Comparator.LT, 0.0, C.FINANCIAL_OVERRUN),
        ("team_engagement", Comparator.LT, 50.0, C.PERSONNEL),
    ]
    assert all(r.enabled and r.likelihood_step == 1 for r in DEFAULT_RULES)
    ids = [r.id for r in DEFAULT_RULES]
    assert len(set(ids)) == len(ids)
    assert ids[0] == "default-sla_compliance-VENDOR_RELIABILITY"
    assert all(r.id == default_rule_id(r.kpi_code, r.category) for r in DEFAULT_RULES)


@pytest.mark.parametrize(
    ("kpi", "safe", "breach", "categories"),
    [
        ("sla_compliance", 95.0, 94.9, {C.VENDOR_RELIABILITY, C.PERFORMANCE_UX}),
        ("system_response_time", 0.5, 0.501, {C.PERFORMANCE_UX}),
        ("process_errors", 5.0, 5.01, {C.API_INCOMPATIBILITY, C.DATA_QUALITY}),
        ("security_level", 0.0, 1.0, {C.DATA_SECURITY}),
        ("integration_roi", 0.0, -0.1, {C.FINANCIAL_OVERRUN}),
        ("team_engagement", 50.0, 49.9, {C.PERSONNEL}),
    ],
)
def test_each_default_rule_fires_only_past_its_threshold(
    kpi: str, safe: float, breach: float, categories: set[RiskCategoryCode]
) -> None:
    assert matching_rules(DEFAULT_RULES, kpi, safe) == []
    fired = matching_rules(DEFAULT_RULES, kpi, breach)
    assert {r.category for r in fired} == categories
    assert len(fired) == len(categories)


def test_matching_rules_skips_disabled_and_other_kpis() -> None:
    on = MonitoringRule("r1", "churn_rate", Comparator.GTE, 10, C.PERSONNEL, 2)
    off = MonitoringRule("r2", "churn_rate", Comparator.GTE, 10, C.COMPLIANCE, enabled=False)
    assert matching_rules([on, off, *DEFAULT_RULES], "churn_rate", 10) == [on]
    assert matching_rules([on, off], "sales_conversion", 50) == []
    assert matching_rules(DEFAULT_RULES, "unknown_kpi", -1e9) == []


def test_validate_rule_builds_a_rule() -> None:
    rule = validate_rule("x", "churn_rate", "GT", 7, "PERSONNEL", 2, enabled=False)
    assert rule == MonitoringRule("x", "churn_rate", Comparator.GT, 7.0, C.PERSONNEL, 2, False)
    assert isinstance(rule.threshold, float)
    assert rule.describe() == "churn_rate > 7 → PERSONNEL"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"kpi_code": ""}, "kpi_code"),
        ({"kpi_code": " sla"}, "kpi_code"),
        ({"kpi_code": 5}, "kpi_code"),
        ({"comparator": "EQ"}, "comparator"),
        ({"comparator": None}, "comparator"),
        ({"threshold": math.inf}, "threshold"),
        ({"threshold": math.nan}, "threshold"),
        ({"threshold": "95"}, "threshold"),
        ({"threshold": True}, "threshold"),
        ({"category": "CYBER"}, "category"),
        ({"likelihood_step": 0}, "likelihood_step"),
        ({"likelihood_step": 5}, "likelihood_step"),
        ({"likelihood_step": 1.0}, "likelihood_step"),
        ({"enabled": "yes"}, "enabled"),
    ],
)
def test_validate_rule_names_the_bad_field(overrides: dict[str, object], field: str) -> None:
    args: dict[str, object] = {
        "kpi_code": "sla_compliance",
        "comparator": "LT",
        "threshold": 95,
        "category": "VENDOR_RELIABILITY",
        "likelihood_step": 1,
        "enabled": True,
    } | overrides
    with pytest.raises(ValidationFailed) as err:
        validate_rule("id", **args)
    assert err.value.field == field


def test_no_kpi_data_window() -> None:
    now = datetime(2025, 6, 30, 12, tzinfo=UTC)
    assert NO_DATA_DAYS == 30
    assert no_kpi_data(None, now)
    assert not no_kpi_data(now - timedelta(days=30), now)
    assert no_kpi_data(now - timedelta(days=30, seconds=1), now)
    assert not no_kpi_data(now - timedelta(days=1), now)


# ------------------------------------------------------------------ roadmap

TODAY = date(2025, 6, 30)


def test_stage_catalogue() -> None:
    assert [s.code for s in STAGES] == list(StageCode)
    assert [s.number for s in STAGES] == [1, 2, 3, 4, 5]
    bounds = [(s.typical_min_days, s.typical_max_days) for s in STAGES]
    assert bounds == [(14, 21), (21, 28), (30, 61), (61, 92), (0, None)]


def test_slippage_of_a_done_stage_uses_actual_dates() -> None:
    start = date(2025, 1, 1)
    on_time = Stage(StageCode.AUDIT, DONE, actual_start=start, actual_end=start + timedelta(21))
    late = Stage(StageCode.AUDIT, DONE, actual_start=start, actual_end=start + timedelta(25))
    early = Stage(
        StageCode.ARCHITECTURE, DONE, actual_start=start, actual_end=start + timedelta(20)
    )
    assert slippage_days(on_time, TODAY) == 0
    assert not slips(on_time, TODAY)
    assert slippage_days(late, TODAY) == 4
    assert slips(late, TODAY)
    assert slippage_days(early, TODAY) == -8
    assert not slips(early, TODAY)


def test_slippage_of_an_in_progress_stage_uses_elapsed_time() -> None:
    stage = Stage(StageCode.MVP, IP, actual_start=TODAY - timedelta(days=70))
    assert slippage_days(stage, TODAY) == 9
    assert slips(stage, TODAY)
    fresh = Stage(StageCode.MVP, IP, actual_start=TODAY - timedelta(days=10))
    assert slippage_days(fresh, TODAY) == -51
    assert not slips(fresh, TODAY)


def test_no_slippage_when_not_started_or_ongoing() -> None:
    assert slippage_days(Stage(StageCode.SCALING), TODAY) is None
    assert not slips(Stage(StageCode.SCALING), TODAY)
    ongoing = Stage(StageCode.MONITORING, IP, actual_start=date(2020, 1, 1))
    assert slippage_days(ongoing, TODAY) is None
    assert not slips(ongoing, TODAY)


def _done(code: StageCode) -> Stage:
    return Stage(code, DONE, actual_start=date(2025, 1, 1), actual_end=date(2025, 1, 10))


def test_stage_cannot_be_done_before_its_predecessor() -> None:
    with pytest.raises(InvalidTransition) as err:
        check_stage_status([Stage(StageCode.AUDIT, IP)], StageCode.ARCHITECTURE, DONE)
    assert err.value.field == "status"
    assert "AUDIT" in err.value.message
    # a missing predecessor counts as NOT_STARTED
    with pytest.raises(InvalidTransition):
        check_stage_status([], StageCode.MVP, DONE)


def test_stage_can_be_done_after_its_predecessor_and_first_stage_any_time() -> None:
    check_stage_status([], StageCode.AUDIT, DONE)
    check_stage_status([_done(StageCode.AUDIT)], StageCode.ARCHITECTURE, DONE)
    # starting never depends on the predecessor
    check_stage_status([], StageCode.SCALING, IP)


def test_stage_never_goes_back_to_not_started() -> None:
    for status in (IP, DONE):
        with pytest.raises(InvalidTransition):
            check_stage_status([Stage(StageCode.AUDIT, status)], StageCode.AUDIT, NS)
    check_stage_status([Stage(StageCode.AUDIT, NS)], StageCode.AUDIT, NS)


def test_done_stage_reopens_only_while_successor_not_done() -> None:
    stages = [_done(StageCode.AUDIT), Stage(StageCode.ARCHITECTURE, IP)]
    check_stage_status(stages, StageCode.AUDIT, IP)
    stages = [_done(StageCode.AUDIT), _done(StageCode.ARCHITECTURE)]
    with pytest.raises(InvalidTransition) as err:
        check_stage_status(stages, StageCode.AUDIT, IP)
    assert "ARCHITECTURE" in err.value.message


def test_set_stage_status_fills_actual_dates() -> None:
    started = set_stage_status([], StageCode.AUDIT, IP, TODAY)
    assert started == Stage(StageCode.AUDIT, IP, actual_start=TODAY)
    later = TODAY + timedelta(days=5)
    done = set_stage_status([started], StageCode.AUDIT, DONE, later)
    assert (done.actual_start, done.actual_end) == (TODAY, later)
    reopened = set_stage_status([done], StageCode.AUDIT, IP, later)
    assert (reopened.status, reopened.actual_start, reopened.actual_end) == (IP, TODAY, None)


def test_set_stage_status_rejects_predecessor_violation() -> None:
    with pytest.raises(InvalidTransition):
        set_stage_status([], StageCode.ARCHITECTURE, DONE, TODAY)


def test_set_stage_status_rejects_done_before_a_future_start() -> None:
    stage = Stage(StageCode.AUDIT, IP, actual_start=TODAY + timedelta(days=3))
    with pytest.raises(ValidationFailed) as err:
        set_stage_status([stage], StageCode.AUDIT, DONE, TODAY)
    assert err.value.field == "actual_end"


@pytest.mark.parametrize(
    ("stage", "field"),
    [
        (Stage(StageCode.AUDIT, planned_start=TODAY, planned_end=date(2025, 6, 1)), "planned_end"),
        (Stage(StageCode.AUDIT, NS, actual_start=TODAY), "actual_start"),
        (Stage(StageCode.AUDIT, IP), "actual_start"),
        (Stage(StageCode.AUDIT, IP, actual_start=TODAY, actual_end=TODAY), "actual_end"),
        (Stage(StageCode.AUDIT, DONE, actual_start=TODAY), "actual_end"),
        (Stage(StageCode.AUDIT, DONE, actual_end=TODAY), "actual_start"),
        (
            Stage(StageCode.AUDIT, DONE, actual_start=TODAY, actual_end=date(2025, 6, 1)),
            "actual_end",
        ),
    ],
)
def test_validate_stage_rejects_inconsistent_dates(stage: Stage, field: str) -> None:
    with pytest.raises(ValidationFailed) as err:
        validate_stage(stage)
    assert err.value.field == field


def test_validate_stage_accepts_consistent_stages() -> None:
    validate_stage(Stage(StageCode.AUDIT, planned_start=TODAY, planned_end=TODAY))
    validate_stage(Stage(StageCode.AUDIT, IP, actual_start=TODAY))
    validate_stage(Stage(StageCode.AUDIT, DONE, actual_start=TODAY, actual_end=TODAY))
    assert STAGE_BY_CODE[StageCode.MVP].number == 3


# ------------------------------------------------------------------ overdue


def test_review_overdue() -> None:
    assert is_review_overdue(TODAY - timedelta(days=1), TODAY)
    assert not is_review_overdue(TODAY, TODAY)
    assert not is_review_overdue(None, TODAY)


def test_action_overdue() -> None:
    yesterday = TODAY - timedelta(days=1)
    assert is_action_overdue(yesterday, False, TODAY)
    assert not is_action_overdue(yesterday, True, TODAY)
    assert not is_action_overdue(TODAY, False, TODAY)
    assert not is_action_overdue(None, False, TODAY)


def test_errors_are_integra_errors() -> None:
    with pytest.raises(IntegraError) as err:
        check_transition(S.CLOSED, S.ASSESSED)
    assert err.value.status == 409
    with pytest.raises(IntegraError) as err:
        assess(0, 0)
    assert err.value.status == 422
