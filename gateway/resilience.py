"""How the gateway treats a failing service: retries of idempotent reads, a circuit breaker.

A read (``GET``) that fails in transit (timeout, refused connection, 502/503/504) is tried
again after an exponential backoff with jitter; a write is never repeated by the gateway,
because the service may have applied it. A :class:`CircuitBreaker` per service counts
consecutive failures: after ``failure_threshold`` of them it opens and calls fail at once with
``SERVICE_UNAVAILABLE`` naming the service, so a dead service is not hammered and queries do
not wait for its timeouts; after ``cooldown_seconds`` one trial call is let through
(half-open) and its outcome closes or re-opens the breaker.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import Final

from prometheus_client import Counter, Gauge
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.runtime.backoff import backoff_delay
from services.runtime.errors import ErrorCode, IntegraError
from services.runtime.metrics import REGISTRY

IDEMPOTENT_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS"})
RETRYABLE_STATUSES: Final = frozenset({502, 503, 504})

SERVICE_READY: Final = Gauge(
    "gateway_service_ready",
    "Whether a service answered the gateway's last readiness check (1) or not (0)",
    ["service"],
    registry=REGISTRY,
)
BREAKER_STATE: Final = Gauge(
    "gateway_circuit_breaker_state",
    "State set of the gateway's circuit breaker per service: 1 for the current state "
    "(closed, open, half_open), 0 for the others.",
    ["service", "state"],
    registry=REGISTRY,
)
BREAKER_TRANSITIONS: Final = Counter(
    "gateway_circuit_breaker_transitions",
    "Changes of a service's circuit breaker, by the state entered.",
    ["service", "state"],
    registry=REGISTRY,
)
SERVICE_CALL_RETRIES: Final = Counter(
    "gateway_service_call_retries",
    "Repeated attempts of idempotent reads after a transient failure, by service.",
    ["service"],
    registry=REGISTRY,
)


class ResilienceSettings(BaseSettings):
    """Retry and circuit-breaker settings of the gateway (``INTEGRA_GATEWAY_*``)."""

    model_config = SettingsConfigDict(env_prefix="INTEGRA_GATEWAY_", extra="ignore", frozen=True)

    read_retries: int = Field(
        default=2, ge=0, le=5, description="Extra attempts of a failed idempotent read."
    )
    retry_backoff_seconds: float = Field(
        default=0.05, ge=0, le=5, description="First backoff; doubles per retry, with jitter."
    )
    retry_backoff_max_seconds: float = Field(
        default=1.0, ge=0, le=30, description="Longest backoff between two attempts."
    )
    breaker_failure_threshold: int = Field(
        default=5, ge=1, le=1000, description="Consecutive failures that open a breaker."
    )
    breaker_cooldown_seconds: float = Field(
        default=10.0, gt=0, le=600, description="How long an open breaker fails fast."
    )


def is_idempotent(method: str) -> bool:
    """Whether repeating ``method`` cannot change anything twice (only reads are retried)."""
    return method.upper() in IDEMPOTENT_METHODS


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long apart a failed idempotent read is tried again."""

    retries: int = 2
    base_delay: float = 0.05
    max_delay: float = 1.0

    @classmethod
    def from_settings(cls, settings: ResilienceSettings) -> RetryPolicy:
        """The policy the settings describe."""
        return cls(
            settings.read_retries,
            settings.retry_backoff_seconds,
            settings.retry_backoff_max_seconds,
        )

    def attempts(self, method: str) -> int:
        """How many times a call with ``method`` may be sent in all (writes: once)."""
        return 1 + self.retries if is_idempotent(method) else 1

    def delay(self, retry: int, rng: Callable[[], float] = random.random) -> float:
        """Seconds to wait before retry number ``retry`` (1-based): "full jitter" backoff,
        uniform in [0, min(max_delay, base_delay * 2 ** (retry - 1))], so that many
        gateways do not retry in lock-step."""
        return backoff_delay(retry, self.base_delay, self.max_delay, 1.0, 1.0 - rng())


class BreakerState(Enum):
    """The states of a circuit breaker; the value is the metric's ``state`` label."""

    CLOSED = "closed"
    HALF_OPEN = "half_open"
    OPEN = "open"


@dataclass
class CircuitBreaker:
    """Closed → open after ``failure_threshold`` consecutive failures → half-open after
    ``cooldown_seconds`` (one trial call) → closed on its success, open again on failure."""

    service: str
    failure_threshold: int = 5
    cooldown_seconds: float = 10.0
    clock: Callable[[], float] = time.monotonic
    state: BreakerState = field(default=BreakerState.CLOSED, init=False)
    failures: int = field(default=0, init=False)
    _opened_at: float = field(default=0.0, init=False)
    _trial_in_flight: bool = field(default=False, init=False)

    def __post_init__(self) -> None:
        self._export_state()

    @classmethod
    def from_settings(cls, service: str, settings: ResilienceSettings) -> CircuitBreaker:
        """A breaker for ``service`` as the settings describe."""
        return cls(service, settings.breaker_failure_threshold, settings.breaker_cooldown_seconds)

    def before_call(self) -> None:
        """Let a call through, or fail fast with ``SERVICE_UNAVAILABLE`` while open."""
        if self.state is BreakerState.OPEN:
            if self.clock() - self._opened_at < self.cooldown_seconds:
                raise self._rejection()
            self._enter(BreakerState.HALF_OPEN)
        if self.state is BreakerState.HALF_OPEN:
            if self._trial_in_flight:
                raise self._rejection()
            self._trial_in_flight = True

    def record_success(self) -> None:
        """The service answered: close the breaker and forget past failures."""
        self.failures = 0
        self._trial_in_flight = False
        if self.state is not BreakerState.CLOSED:
            self._enter(BreakerState.CLOSED)

    def record_failure(self) -> None:
        """The service failed (timeout, unreachable, 502/503/504): count it, maybe open."""
        self.failures += 1
        self._trial_in_flight = False
        if self.state is BreakerState.HALF_OPEN or self.failures >= self.failure_threshold:
            self._opened_at = self.clock()
            self._enter(BreakerState.OPEN)

    def release(self) -> None:
        """A call ended without telling anything about the service's health (cancelled)."""
        self._trial_in_flight = False

    def _enter(self, state: BreakerState) -> None:
        if state is not self.state:
            self.state = state
            self._export_state()
            BREAKER_TRANSITIONS.labels(self.service, state.value).inc()

    def _export_state(self) -> None:
        """The state set: one sample per state, 1 for the current one and 0 for the others."""
        for each in BreakerState:
            BREAKER_STATE.labels(self.service, each.value).set(int(each is self.state))

    def _rejection(self) -> IntegraError:
        return IntegraError(
            ErrorCode.SERVICE_UNAVAILABLE,
            f"the {self.service} service is unavailable (circuit open after repeated failures)",
        )
