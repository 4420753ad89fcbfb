"""The kpi domain's rules for recording a measurement and judging a latest value (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.kpi.domain import CATALOGUE, Comparator, MeasurementSource, Target, TargetStatus
from services.kpi.judging import ScopeTarget, applied_target, judged
from services.kpi.recording import check_measurement
from services.runtime.errors import ValidationFailed

SLA = CATALOGUE["sla_compliance"]  # within_sla / total * 100, UP, default target GTE 95
RESPONSE = CATALOGUE["system_response_time"]  # DOWN, default target LTE 0.5
INTEGRATIONS = CATALOGUE["integration_compatibility"]  # no default target
MAY = datetime(2026, 5, 1, tzinfo=UTC)
JUNE = datetime(2026, 6, 1, tzinfo=UTC)
SHOP = "a" * 24


def test_a_checked_measurement_has_its_value_and_a_utc_period_at_milliseconds() -> None:
    naive_start = datetime(2026, 5, 1, 0, 0, 0, 123456)
    checked = check_measurement(
        SLA, SHOP, (naive_start, JUNE), {"within_sla": 9, "total": 10}, MeasurementSource.MANUAL
    )
    assert checked.value == pytest.approx(90.0)
    assert checked.period_start == datetime(2026, 5, 1, 0, 0, 0, 123000, tzinfo=UTC)
    assert (checked.shop_id, checked.kpi_code, checked.period_end) == (SHOP, SLA.code, JUNE)
    assert dict(checked.inputs) == {"within_sla": 9, "total": 10}
    assert not checked.replace


def test_a_period_must_survive_truncation_to_milliseconds() -> None:
    end = MAY + timedelta(microseconds=500)
    with pytest.raises(ValidationFailed) as error:
        check_measurement(
            SLA, SHOP, (MAY, end), {"within_sla": 1, "total": 1}, MeasurementSource.MANUAL
        )
    assert error.value.field == "period"


def test_checks_run_in_order_period_then_inputs_then_reason() -> None:
    inputs = {"within_sla": 11, "total": 10}  # a part above its whole
    with pytest.raises(ValidationFailed) as period:
        check_measurement(SLA, SHOP, (JUNE, MAY), inputs, MeasurementSource.MANUAL, replace=True)
    assert period.value.field == "period"
    with pytest.raises(ValidationFailed) as part:
        check_measurement(SLA, SHOP, (MAY, JUNE), inputs, MeasurementSource.MANUAL, replace=True)
    assert part.value.field == "inputs.within_sla"
    valid = {"within_sla": 9, "total": 10}
    with pytest.raises(ValidationFailed) as reason:
        check_measurement(SLA, SHOP, (MAY, JUNE), valid, MeasurementSource.MANUAL, replace=True)
    assert reason.value.field == "reason"
    replacing = check_measurement(
        SLA, SHOP, (MAY, JUNE), valid, MeasurementSource.IMPORT, replace=True, reason="recount"
    )
    assert (replacing.replace, replacing.reason) == (True, "recount")


def test_the_scope_target_applies_only_while_in_force_else_the_default() -> None:
    always = ScopeTarget(Target(Comparator.GTE, 99))
    assert applied_target(SLA, always, (MAY, JUNE)) is always
    june = ScopeTarget(Target(Comparator.GTE, 99), period_start=JUNE,
                       period_end=JUNE + timedelta(days=30))  # fmt: skip
    assert applied_target(SLA, june, None) is june  # without data: shown as is
    assert applied_target(SLA, june, (JUNE, JUNE + timedelta(days=1))) is june
    default = applied_target(SLA, june, (MAY, JUNE))
    assert default is not None
    assert (default.own, default.target) == (False, Target(Comparator.GTE, 95))
    assert (default.period_start, default.period_end) == (None, None)
    assert applied_target(INTEGRATIONS, None, (MAY, JUNE)) is None


def test_a_value_is_judged_with_its_status_and_fulfilment() -> None:
    cases = [
        (SLA, Target(Comparator.GTE, 95), 97.0, TargetStatus.MET, 97 / 95 * 100),
        (SLA, Target(Comparator.GTE, 99), 97.0, TargetStatus.AT_RISK, 97 / 99 * 100),
        (RESPONSE, Target(Comparator.LTE, 0.5), 1.0, TargetStatus.MISSED, 50.0),
    ]
    for definition, target, value, status, fulfilment in cases:
        got_status, got_fulfilment = judged(definition, target, value)
        assert got_status is status
        assert got_fulfilment == pytest.approx(fulfilment)
    assert judged(SLA, Target(Comparator.GTE, 95), None) == (TargetStatus.NO_DATA, None)
    # a zero denominator: the fulfilment is undefined, the status is not
    assert judged(RESPONSE, Target(Comparator.LTE, 0.5), 0.0) == (TargetStatus.MET, None)
