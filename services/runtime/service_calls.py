"""Another service, reached over its HTTP contract by background work or a rare check: where it
is (a base URL, an in-process ASGI transport in the one-process stack) and who calls it (a
service principal, its token signed per call for that service)."""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from services.runtime.auth import Principal
from services.runtime.service_tokens import ServiceTokens
from services.runtime.tracing import traced_transport


@dataclass
class ServiceEndpoint:
    """``audience`` at ``base_url``, called as ``caller``."""

    base_url: str
    caller: Principal
    audience: str
    tokens: ServiceTokens | None = None
    transport: httpx.AsyncBaseTransport | None = None
    timeout: float = 5.0

    def client(self) -> httpx.AsyncClient:
        """A client for one batch of calls (close it after use)."""
        return httpx.AsyncClient(
            base_url=self.base_url, transport=traced_transport(self.transport), timeout=self.timeout
        )

    def headers(self) -> dict[str, str]:
        """The credential of one call: a short-lived token for ``audience`` (none without a
        service key, and the call is then refused by the service)."""
        if self.tokens is None:
            return {}
        return {"authorization": f"Bearer {self.tokens.sign(self.caller, self.audience)}"}
