"""The HTTP transport under the typed service clients (httpx).

The same transport works over the network (``integra serve``) and over an in-process ASGI
transport (``integra up``); the gateway does not know which. The typed clients
(:mod:`gateway.scoring_client`, ...) send their request models through it and decode the
answer's bytes with their response models. A service's JSON error comes
back as the same :class:`IntegraError`; a timeout or an unreachable service is
``SERVICE_UNAVAILABLE`` naming the service.

Every call carries a token signed for this call (audience: the service; principal: the
GraphQL caller, see :mod:`services.runtime.service_tokens`), has the configured timeout,
carries the request id (``X-Request-ID``), and goes
through the service's circuit breaker; idempotent reads that fail in transit are retried
with backoff (see :mod:`gateway.resilience`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
import orjson
from pydantic import BaseModel

from gateway.network_transport import HttpClientName, network_transport
from gateway.operation_calls import count_service_call
from gateway.resilience import (
    RETRYABLE_STATUSES,
    SERVICE_CALL_RETRIES,
    CircuitBreaker,
    RetryPolicy,
)
from gateway.security.principal import current_caller
from services.runtime import request_context
from services.runtime.auth import Role
from services.runtime.errors import ErrorCode, IntegraError
from services.runtime.idempotency import HEADER as IDEMPOTENCY_HEADER
from services.runtime.metrics import SERVICE_CALL_DURATION, SERVICE_CALLS
from services.runtime.service_tokens import ServiceTokens, service_principal
from services.runtime.tracing import trace_exemplar, traced_transport

Json = Any
GATEWAY_PRINCIPAL = service_principal("gateway", Role.VIEWER)
"""Who the gateway acts as outside an authenticated request (reads only)."""
Params = Mapping[str, str | int | float | Sequence[str]]


def query_params(query: BaseModel) -> dict[str, Any]:
    """A query model as URL parameters: wire names, defaults left out (the service applies
    them), lists as repeated keys."""
    return query.model_dump(mode="json", by_alias=True, exclude_defaults=True)


def key_header(idempotency_key: str | None) -> dict[str, str] | None:
    """The ``Idempotency-Key`` header of a creating request (``None`` without a key)."""
    return None if idempotency_key is None else {IDEMPOTENCY_HEADER: idempotency_key}


def request_body(body: BaseModel) -> bytes:
    """A request model as its JSON body: wire names, fields the caller did not set left out
    (an explicit ``null`` stays: it clears a field)."""
    return body.model_dump_json(by_alias=True, exclude_unset=True).encode()


class _TransientFailure(Exception):
    """One attempt failed in a way worth retrying (and counting against the breaker)."""

    def __init__(self, error: IntegraError) -> None:
        super().__init__(error.message)
        self.error = error


@dataclass(frozen=True)
class _Request:
    """One request as every attempt sends it."""

    method: str
    route: str
    url: str
    params: Params | None
    json: Json
    content: bytes | None
    headers: Mapping[str, str]


class ServiceClient:
    """Calls one service. ``route`` is the route template, used as the metrics label."""

    def __init__(
        self,
        name: str,
        base_url: str,
        timeout: float,
        transport: httpx.AsyncBaseTransport | None = None,
        *,
        retry: RetryPolicy | None = None,
        breaker: CircuitBreaker | None = None,
        tokens: ServiceTokens | None = None,
        http_client: HttpClientName = "aiohttp",
    ) -> None:
        self.name = name
        self.tokens = tokens
        self.retry = retry or RetryPolicy()
        self.breaker = breaker or CircuitBreaker(name)
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            timeout=httpx.Timeout(timeout),
            transport=traced_transport(transport or network_transport(http_client)),
        )

    async def close(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def call(
        self,
        method: str,
        route: str,
        *,
        path: Mapping[str, str] | None = None,
        params: Params | None = None,
        body: Json = None,
        headers: Mapping[str, str] | None = None,
    ) -> Json:
        """Send one request with a JSON ``body`` and answer its decoded JSON (see :meth:`send`)."""
        answer = await self.send(
            method, route, path=path, params=params, json=body, headers=headers
        )
        return orjson.loads(answer)  # the services answer UTF-8 JSON

    async def send(
        self,
        method: str,
        route: str,
        *,
        path: Mapping[str, str] | None = None,
        params: Params | None = None,
        json: Json = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> bytes:
        """Send one request (a ``json`` value or encoded ``content``) and answer the bytes of
        its body; errors become :class:`IntegraError`.

        Reads are tried up to ``1 + retry.retries`` times on timeouts, unreachable service
        and 502/503/504; writes exactly once. An open breaker fails at once.
        """
        url = route.format(**{k: quote(v, safe="") for k, v in path.items()}) if path else route
        sent_headers = dict(headers or {})
        if content is not None:
            sent_headers["Content-Type"] = "application/json"
        request_id = request_context.current_request_id()
        if request_id is not None:
            sent_headers[request_context.HEADER] = request_id
        if self.tokens is not None:
            caller = current_caller() or GATEWAY_PRINCIPAL
            sent_headers["Authorization"] = f"Bearer {self.tokens.sign(caller, self.name)}"
        request = _Request(method, route, url, params, json, content, sent_headers)
        attempts = self.retry.attempts(method)
        for attempt in range(1, attempts + 1):
            self.breaker.before_call()
            if attempt == 1:
                count_service_call(self.name)  # once per call, however often it is retried
            try:
                response = await self._attempt(request)
            except _TransientFailure as failure:
                self.breaker.record_failure()
                if attempt == attempts:
                    raise failure.error from None
                SERVICE_CALL_RETRIES.labels(self.name).inc()
                await asyncio.sleep(self.retry.delay(attempt))
                continue
            except BaseException:
                self.breaker.release()
                raise
            self.breaker.record_success()
            if response.is_success:
                return response.content
            raise self._error(response)
        raise AssertionError("unreachable: the last attempt returns or raises")

    async def _attempt(self, request: _Request) -> httpx.Response:
        route = request.route
        started = time.perf_counter()
        outcome = "error"
        try:
            response = await self._http.request(
                request.method,
                request.url,
                params=request.params,
                json=request.json,
                content=request.content,
                headers=request.headers,
            )
            outcome = "success" if response.is_success else f"http_{response.status_code // 100}xx"
        except httpx.TimeoutException:
            outcome = "timeout"
            raise _TransientFailure(
                IntegraError(
                    ErrorCode.SERVICE_UNAVAILABLE,
                    f"the {self.name} service did not answer in time",
                )
            ) from None
        except httpx.InvalidURL:
            # A parameter too long for a URL (a 100 000-character code): the client's input.
            raise IntegraError(
                ErrorCode.VALIDATION_ERROR, "a request parameter is too long or malformed"
            ) from None
        except httpx.TransportError:
            raise _TransientFailure(
                IntegraError(
                    ErrorCode.SERVICE_UNAVAILABLE, f"the {self.name} service is unreachable"
                )
            ) from None
        finally:
            SERVICE_CALLS.labels(self.name, route, outcome).inc()
            elapsed = time.perf_counter() - started
            SERVICE_CALL_DURATION.labels(self.name, request.method, route).observe(
                elapsed, exemplar=trace_exemplar()
            )
        if response.status_code in RETRYABLE_STATUSES:
            raise _TransientFailure(self._error(response))
        return response

    def _error(self, response: httpx.Response) -> IntegraError:
        try:
            error = response.json()["error"]
            code = ErrorCode(error["code"])
        except (ValueError, KeyError, TypeError):
            return IntegraError(
                ErrorCode.SERVICE_UNAVAILABLE,
                f"the {self.name} service answered {response.status_code}",
            )
        return IntegraError(code, str(error.get("message", "")), error.get("field"))

    async def ready(self) -> bool:
        """Whether the service answers its readiness probe (bypasses the breaker)."""
        try:
            response = await self._http.get("/readyz")
        except httpx.HTTPError:
            return False
        return response.status_code == 200
