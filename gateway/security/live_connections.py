"""Who may hold a subscription connection (``graphql-transport-ws`` at ``/graphql``).

A WebSocket carries no credential the browser can set, so the client sends it in
``connection_init``: ``{"Authorization": "Bearer <API key or JWT>"}`` (the handshake's own
``Authorization`` header is accepted too). It is checked as the security gate checks a
request's, against the same rate limit; a missing or bad one closes the socket with 4403
before any operation runs. The caller then serves every operation of the connection, which
the role check judges one by one like queries. A client holds at most
``INTEGRA_LIVE_CONNECTIONS_PER_CLIENT`` connections on a replica, WebSockets and SSE streams
together; one more is refused. The credential is checked again every
``INTEGRA_LIVE_RECHECK_SECONDS``: a JWT that expired or an API key revoked meanwhile closes the
connection with 4403.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Iterator, Mapping

from graphql import ExecutionResult, GraphQLError
from starlette.websockets import WebSocket
from strawberry.exceptions import ConnectionRejectionError
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from gateway.security.principal import RequestSecurity, set_serving
from gateway.security.rate_limit import RateLimit
from services.runtime.api_keys import ApiKeyStore
from services.runtime.auth import InvalidCredentials, Principal, Role
from services.runtime.authentication import Authenticator
from services.runtime.errors import ErrorCode
from services.runtime.metrics import LIVE_CONNECTIONS

log = logging.getLogger("integra.gateway.security")


class LiveConnections:
    """Authenticates subscription connections and counts them per client."""

    def __init__(
        self,
        authenticator: Authenticator,
        keys: ApiKeyStore | None,
        limiter: RateLimit,
        per_client: int,
        auth_enabled: bool = True,
        recheck_seconds: float = 60.0,
    ) -> None:
        self.authenticator, self.keys, self.limiter = authenticator, keys, limiter
        self.per_client = per_client
        self.auth_enabled = auth_enabled
        self.recheck_seconds = recheck_seconds
        self.open: Counter[str] = Counter()

    async def accept(
        self, params: Mapping[str, object], header: str | None, socket: WebSocket | None = None
    ) -> tuple[Principal, asyncio.Task[None] | None]:
        """The caller of a new connection, now serving it, and the task that checks its
        credential again (it closes ``socket`` once the credential is refused);
        ConnectionRejectionError (4403) for a missing or bad credential, a client over its
        rate or connection limit."""
        credential = _credential(params, header)
        principal = await self._principal(credential)
        if principal is None:
            LIVE_CONNECTIONS.labels("unauthenticated").inc()
            raise ConnectionRejectionError({"code": "UNAUTHENTICATED"})
        if await self.limiter.acquire(principal.client_id) is not None:
            raise ConnectionRejectionError({"code": "RATE_LIMITED"})
        if not self.take(principal):
            raise ConnectionRejectionError({"code": "TOO_MANY_CONNECTIONS"})
        set_serving(RequestSecurity(principal, self.keys))
        recheck = None
        if socket is not None and self.auth_enabled:
            recheck = asyncio.create_task(self._recheck(credential, socket))
        return principal, recheck

    def take(self, principal: Principal) -> bool:
        """Count one more connection of ``principal`` (a WebSocket, an SSE stream); ``False``
        when the client holds its limit already."""
        if self.open[principal.client_id] >= self.per_client:
            LIVE_CONNECTIONS.labels("refused").inc()
            return False
        self.open[principal.client_id] += 1
        LIVE_CONNECTIONS.labels("accepted").inc()
        return True

    def release(self, principal: Principal, recheck: asyncio.Task[None] | None) -> None:
        """A connection of ``principal`` closed."""
        if recheck is not None:
            recheck.cancel()
        self.open[principal.client_id] -= 1
        if self.open[principal.client_id] <= 0:
            del self.open[principal.client_id]

    async def _recheck(self, credential: str | None, socket: WebSocket) -> None:
        """Close ``socket`` (4403) once its credential is no longer accepted."""
        while True:
            await asyncio.sleep(self.recheck_seconds)
            try:
                accepted = await self._principal(credential) is not None
            except Exception:  # the key store unreachable: keep the connection, ask later
                log.warning("could not check a subscription connection's credential again")
                continue
            if not accepted:
                LIVE_CONNECTIONS.labels("expired").inc()
                with contextlib.suppress(RuntimeError):  # closed meanwhile
                    await socket.close(code=4403, reason="credential no longer valid")
                return

    async def _principal(self, credential: str | None) -> Principal | None:
        """The caller ``credential`` names; ``None`` when it is missing or refused."""
        if not self.auth_enabled:
            return Principal("ip:websocket", "anonymous (auth disabled)", Role.ADMIN, "anonymous")
        try:
            return await self.authenticator.authenticate(credential)
        except InvalidCredentials:
            return None


def _credential(params: Mapping[str, object], header: str | None) -> str | None:
    """The ``Authorization`` value of ``connection_init``, else of the handshake."""
    sent = params.get("Authorization", params.get("authorization", header))
    return sent if isinstance(sent, str) else None


OVER_HTTP = (
    "a subscription runs over a WebSocket (graphql-transport-ws at /graphql) or as a stream "
    "of server-sent events (Accept: text/event-stream); as a plain request ask a query"
)


class SubscriptionsOverStreams(SchemaExtension):
    """Refuses a subscription sent as a plain HTTP request with VALIDATION_ERROR on
    ``operation``, before it runs (GraphQL would answer its root field as a null)."""

    def on_execute(self) -> Iterator[None]:
        """Skip execution of a subscription that came neither over a WebSocket nor SSE."""
        context = self.execution_context
        gateway = context.context
        if context.operation_type is OperationType.SUBSCRIPTION and not (
            getattr(gateway, "socket", None) is not None or getattr(gateway, "streaming", False)
        ):
            code = {"code": ErrorCode.VALIDATION_ERROR.value, "field": "operation"}
            context.result = ExecutionResult(None, [GraphQLError(OVER_HTTP, extensions=code)])
        yield
