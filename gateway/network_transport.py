"""The network transport of the gateway's HTTP clients (``integra serve``): aiohttp or httpcore.

The clients speak httpx either way; only the transport under them differs. aiohttp's
connection pool is the default because it costs the gateway about a quarter of the CPU per
call of httpx's own (httpcore) pool, which scans its connections on every request
(``docs/benchmarks.md``); ``INTEGRA_SERVICE_HTTP_CLIENT=httpx`` keeps httpcore.
"""

from __future__ import annotations

from typing import Literal

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport

HttpClientName = Literal["aiohttp", "httpx"]

POOL = httpx.Limits(max_connections=100, max_keepalive_connections=50)
"""Connections per service: enough for the gateway's concurrency, kept alive between calls."""


class AiohttpServiceTransport(AiohttpTransport):
    """httpx over aiohttp, with failures to connect reported as such: the adapter maps every
    ``aiohttp.ClientConnectionError`` to ``httpx.ConnectTimeout``, so a refused connection
    would read as a service too slow to answer."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` through aiohttp."""
        try:
            return await super().handle_async_request(request)
        except httpx.ConnectTimeout as exc:
            cause = exc.__cause__
            timed_out = isinstance(cause, TimeoutError | aiohttp.ServerTimeoutError)
            if timed_out or not isinstance(cause, aiohttp.ClientConnectionError):
                raise
            raise httpx.ConnectError(str(exc), request=request) from cause


def network_transport(client: HttpClientName) -> httpx.AsyncBaseTransport:
    """A pooled transport for calls over the network with the ``client`` library."""
    if client == "aiohttp":
        return AiohttpServiceTransport(limits=POOL, trust_env=False)
    return httpx.AsyncHTTPTransport(limits=POOL)
