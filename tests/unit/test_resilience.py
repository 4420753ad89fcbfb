"""The gateway's retry policy and circuit breaker, as pure state machines."""

from __future__ import annotations

import pytest

from gateway.resilience import BreakerState, CircuitBreaker, RetryPolicy, is_idempotent
from services.runtime.errors import ErrorCode, IntegraError
from services.runtime.metrics import REGISTRY


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(
    ("method", "attempts"),
    [("GET", 3), ("get", 3), ("POST", 1), ("PATCH", 1), ("PUT", 1), ("DELETE", 1)],
)
def test_only_reads_are_retried(method: str, attempts: int) -> None:
    assert RetryPolicy(retries=2).attempts(method) == attempts
    assert is_idempotent(method) == (attempts > 1)


def test_backoff_doubles_up_to_the_ceiling_with_full_jitter() -> None:
    policy = RetryPolicy(retries=5, base_delay=0.1, max_delay=0.3)
    assert [policy.delay(n, lambda: 1.0) for n in (1, 2, 3, 4)] == pytest.approx(
        [0.1, 0.2, 0.3, 0.3]
    )
    assert policy.delay(2, lambda: 0.5) == pytest.approx(0.1)
    assert policy.delay(3, lambda: 0.0) == 0.0


def state_of(breaker: CircuitBreaker) -> BreakerState:
    """The breaker's state (a call, so the type checker does not narrow it between steps),
    checked against the exported state set: 1 for that state, 0 for every other."""
    exported = {
        state: REGISTRY.get_sample_value(
            "gateway_circuit_breaker_state", {"service": breaker.service, "state": state.value}
        )
        for state in BreakerState
    }
    assert exported == {state: int(state is breaker.state) for state in BreakerState}
    return breaker.state


def _breaker(clock: FakeClock) -> CircuitBreaker:
    return CircuitBreaker("risk-unit", failure_threshold=3, cooldown_seconds=10, clock=clock)


def test_breaker_opens_after_consecutive_failures_and_fails_fast_naming_the_service() -> None:
    clock = FakeClock()
    breaker = _breaker(clock)
    for _ in range(2):
        breaker.before_call()
        breaker.record_failure()
    assert state_of(breaker) is BreakerState.CLOSED
    breaker.before_call()
    breaker.record_failure()
    assert state_of(breaker) is BreakerState.OPEN
    with pytest.raises(IntegraError) as refused:
        breaker.before_call()
    assert refused.value.code is ErrorCode.SERVICE_UNAVAILABLE
    assert "risk-unit" in refused.value.message


def test_a_success_resets_the_count_of_failures() -> None:
    breaker = _breaker(FakeClock())
    for _ in range(2):
        breaker.record_failure()
    breaker.record_success()
    for _ in range(2):
        breaker.record_failure()
    assert state_of(breaker) is BreakerState.CLOSED


def test_half_open_lets_one_trial_through_and_closes_on_success() -> None:
    clock = FakeClock()
    breaker = _breaker(clock)
    for _ in range(3):
        breaker.record_failure()
    clock.now += 9.9
    with pytest.raises(IntegraError):
        breaker.before_call()
    clock.now += 0.2
    breaker.before_call()
    assert state_of(breaker) is BreakerState.HALF_OPEN
    with pytest.raises(IntegraError):
        breaker.before_call()  # a second caller while the trial is in flight
    breaker.record_success()
    assert state_of(breaker) is BreakerState.CLOSED
    breaker.before_call()


def test_a_failed_trial_opens_the_breaker_for_another_cooldown() -> None:
    clock = FakeClock()
    breaker = _breaker(clock)
    for _ in range(3):
        breaker.record_failure()
    clock.now += 10
    breaker.before_call()
    breaker.record_failure()
    assert state_of(breaker) is BreakerState.OPEN
    clock.now += 5
    with pytest.raises(IntegraError):
        breaker.before_call()
    clock.now += 5
    breaker.before_call()
    assert state_of(breaker) is BreakerState.HALF_OPEN


def test_a_cancelled_trial_lets_the_next_caller_try() -> None:
    clock = FakeClock()
    breaker = _breaker(clock)
    for _ in range(3):
        breaker.record_failure()
    clock.now += 10
    breaker.before_call()
    breaker.release()
    breaker.before_call()
    assert state_of(breaker) is BreakerState.HALF_OPEN
