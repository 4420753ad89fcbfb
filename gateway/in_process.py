"""The in-process transport under the typed service clients (``integra up``).

Where a service runs in the gateway's process, its typed client calls the service's use cases
(``services/<name>/service.py``) directly: no HTTP, no JSON, no token. What the HTTP path
guarantees holds here too:

- **Validation**: every request model is validated again as the service validates the wire
  (:func:`revalidated`), so a query the gateway built unchecked (``model_construct``) is
  checked, with the same VALIDATION_ERROR naming the same field.
- **Authentication**: the use case runs as the GraphQL caller (the gateway itself, reading
  only, outside a request), the principal a signed token would carry; the use cases enforce
  their roles against it, as their HTTP routes do.
- **Errors**: mapped by the service's own error boundary
  (:func:`services.runtime.http.as_integra_error`): a service error as is, a database that
  cannot be reached DATABASE_UNAVAILABLE, anything else INTERNAL_ERROR (logged).
- **Metrics**: the same ``gateway_service_calls_total`` and
  ``http_client_request_duration_seconds``, labelled with the method and route template the
  use case serves over HTTP (outcome ``http_4xx`` for a 4xx error), and
  the same per-operation call count.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, ParamSpec, TypeVar

from pydantic import BaseModel

from gateway.clients import GATEWAY_PRINCIPAL
from gateway.operation_calls import count_service_call
from gateway.security.principal import current_caller
from services.runtime.caller import calling_as
from services.runtime.http import as_integra_error
from services.runtime.metrics import SERVICE_CALL_DURATION, SERVICE_CALLS
from services.runtime.tracing import trace_exemplar, traced
from services.runtime.use_cases import Operation
from services.runtime.wire import parse

P = ParamSpec("P")
R = TypeVar("R")
M = TypeVar("M", bound=BaseModel)


def revalidated(model: M) -> M:
    """``model`` validated anew from the JSON the HTTP client would send (fields the caller
    did not set left out), so that in process a service sees only what it would accept."""
    data = model.model_dump(mode="json", by_alias=True, exclude_unset=True)
    return parse(type(model), data)


def answer_of(kind: type[M], answer: object) -> M:
    """``answer`` as ``kind``, for use cases that answer one of several shapes."""
    if not isinstance(answer, kind):
        raise TypeError(f"expected {kind.__name__}, the service answered {type(answer).__name__}")
    return answer


class InProcessCalls:
    """Calls one service's use cases in this process, as :class:`gateway.clients.ServiceClient`
    calls its routes. ``operations`` is the service's route table: the route template of a
    use case's first route is its calls' metrics label."""

    def __init__(self, name: str, operations: Sequence[Operation[Any]]) -> None:
        self.name = name
        self._routes = {op.uses: (op.method, op.path) for op in reversed(operations)}

    async def __call__(
        self, use_case: Callable[P, Awaitable[R]], *args: P.args, **kwargs: P.kwargs
    ) -> R:
        """Run ``use_case`` as the current caller, counted and timed like an HTTP call."""
        method, route = self._routes.get(getattr(use_case, "__name__", ""), ("", "in_process"))
        count_service_call(self.name)
        started = time.perf_counter()
        outcome = "error"
        try:
            with (
                traced(f"{self.name} {route}", {"integra.service": self.name, "http.route": route}),
                calling_as(current_caller() or GATEWAY_PRINCIPAL),
            ):
                answer = await use_case(*args, **kwargs)
            outcome = "success"
            return answer
        except Exception as exc:
            error = as_integra_error(exc, f"{self.name} {route} (in process)")
            outcome = f"http_{error.status // 100}xx"
            if error is exc:
                raise
            raise error from None
        finally:
            SERVICE_CALLS.labels(self.name, route, outcome).inc()
            elapsed = time.perf_counter() - started
            SERVICE_CALL_DURATION.labels(self.name, method, route).observe(
                elapsed, exemplar=trace_exemplar()
            )
