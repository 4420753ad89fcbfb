"""How many service calls each GraphQL operation costs, as a metric.

The DataLoaders promise at most one call per service per nesting level; this makes it
visible in production: ``gateway_service_calls_per_operation{operation_type, service}`` is
observed once per operation and service with the number of calls the operation sent (a
retried read counts once). A rising sum per operation flags an N+1 regression.
"""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Final

from prometheus_client import Histogram
from strawberry.extensions import SchemaExtension

from services.runtime.metrics import REGISTRY

SERVICES: Final = ("scoring", "risk", "kpi")

SERVICE_CALLS_PER_OPERATION: Final = Histogram(
    "gateway_service_calls_per_operation",
    "Calls the gateway sent to a service for one GraphQL operation.",
    ["operation_type", "service"],
    buckets=(0, 1, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 50, 100),
    registry=REGISTRY,
)

_calls: ContextVar[Tally[str] | None] = ContextVar("integra_operation_calls", default=None)


def count_service_call(service: str) -> None:
    """Count one call to ``service`` for the operation being executed (if any)."""
    tally = _calls.get()
    if tally is not None:
        tally[service] += 1


class ServiceCallsPerOperation(SchemaExtension):
    """Tallies the service calls of one operation and observes them when it ends.

    The tally lives in a context variable set before execution; resolvers and the
    DataLoaders' batch tasks run in copies of that context, so they share the one tally.
    """

    def on_operation(self) -> Iterator[None]:
        """Start an empty tally; after the operation, observe each service's count."""
        tally: Tally[str] = Tally()
        token = _calls.set(tally)
        try:
            yield
        finally:
            _calls.reset(token)
            try:
                operation = self.execution_context.operation_type.value
            except (RuntimeError, AttributeError, ValueError):
                operation = "unknown"
            for service in sorted({*SERVICES, *tally}):
                SERVICE_CALLS_PER_OPERATION.labels(operation, service).observe(tally[service])
