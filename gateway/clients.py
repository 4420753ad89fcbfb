"""Typed async clients for the services' HTTP APIs (httpx).

The same client works over the network (``integra serve``) and over an in-process ASGI
transport (``integra up``); the gateway does not know which. A service's JSON error comes
back as the same :class:`IntegraError`; a timeout or an unreachable service is
``SERVICE_UNAVAILABLE`` naming the service.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

import httpx

from services.runtime.errors import ErrorCode, IntegraError
from services.runtime.metrics import SERVICE_CALL_DURATION, SERVICE_CALLS

Json = Any
Params = Mapping[str, str | int | float | Sequence[str]]


class ServiceClient:
    """Calls one service. ``route`` is the route template, used as the metrics label."""

    def __init__(
        self,
        name: str,
        base_url: str,
        timeout: float,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.name = name
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            timeout=httpx.Timeout(timeout),
            transport=transport,
            limits=httpx.Limits(max_connections=100, max_keepalive_connections=50),
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
    ) -> Json:
        """Send one request and answer its JSON body; errors become :class:`IntegraError`."""
        url = route.format(**{k: quote(v, safe="") for k, v in path.items()}) if path else route
        started = time.perf_counter()
        outcome = "error"
        try:
            response = await self._http.request(method, url, params=params, json=body)
            outcome = "success" if response.is_success else f"http_{response.status_code // 100}xx"
        except httpx.TimeoutException:
            outcome = "timeout"
            raise IntegraError(
                ErrorCode.SERVICE_UNAVAILABLE, f"the {self.name} service did not answer in time"
            ) from None
        except httpx.TransportError:
            raise IntegraError(
                ErrorCode.SERVICE_UNAVAILABLE, f"the {self.name} service is unreachable"
            ) from None
        finally:
            SERVICE_CALLS.labels(self.name, route, outcome).inc()
            SERVICE_CALL_DURATION.labels(self.name, route).observe(time.perf_counter() - started)
        if response.is_success:
            return response.json()
        raise self._error(response)

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
        """Whether the service answers its readiness probe."""
        try:
            response = await self._http.get("/readyz")
        except httpx.HTTPError:
            return False
        return response.status_code == 200
