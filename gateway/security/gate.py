"""The security gate in front of ``/graphql``: CSRF, authentication, rate limit, APQ.

Order of checks for an operation (GET with ``query``/``extensions``, or POST):

1. CSRF (:mod:`gateway.security.csrf`): a forgeable request is refused, HTTP 400
   ``CSRF_PREVENTED``.
2. Authentication: no credentials or bad ones (malformed, unknown, revoked, expired, badly
   signed) are refused with HTTP 401 ``UNAUTHENTICATED`` and ``WWW-Authenticate: Bearer``;
   with ``INTEGRA_AUTH_ENABLED=false`` every caller is an anonymous ADMIN.
3. Rate limit per client (API key id, JWT ``sub``, else IP), shared by the replicas through
   the gateway's database (:mod:`gateway.security.rate_limit`): HTTP 429 ``RATE_LIMITED`` with
   ``Retry-After``. Refused credentials count against the IP's limit.
4. Automatic persisted queries: the query text of a known hash is filled in.

When the gateway's database (API keys, persisted queries) does not answer, the request gets
``DATABASE_UNAVAILABLE`` in a GraphQL answer (HTTP 200), like a resolver whose service's
database is down.

Refusals have the GraphQL response shape ``{"errors": [{"message", "extensions": {"code"}}]}``.
A GET without an operation (the GraphiQL page) passes straight through.
"""

from __future__ import annotations

import json
import logging
from urllib.parse import urlencode

from pymongo.errors import ConnectionFailure
from starlette.datastructures import Headers, QueryParams
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.security import csrf, request_json
from gateway.security.persisted_queries import (
    NOT_FOUND_CODE,
    NOT_FOUND_MESSAGE,
    PersistedQueryStore,
    check_hash,
    requested_hash,
)
from gateway.security.principal import RequestSecurity, serving
from gateway.security.rate_limit import RateLimit
from services.runtime.api_keys import ApiKeyStore
from services.runtime.auth import InvalidCredentials, Principal, Role
from services.runtime.authentication import Authenticator
from services.runtime.errors import ErrorCode, ValidationFailed
from services.runtime.settings import IntegraSettings

log = logging.getLogger("integra.gateway.security")

DATABASE_DOWN_MESSAGE = "the database is unavailable; retry later"
UNAUTHENTICATED_MESSAGE = "authentication required: send 'Authorization: Bearer <API key or JWT>'"


def refusal(
    status: int, code: str, message: str, headers: dict[str, str] | None = None, **extra: str
) -> Response:
    """A refused request in the GraphQL response shape."""
    body = {"errors": [{"message": message, "extensions": {"code": code, **extra}}]}
    return Response(
        json.dumps(body, separators=(",", ":")),
        status_code=status,
        media_type="application/json",
        headers=headers,
    )


def invalid_request(error: ValidationFailed) -> Response:
    """A request refused before GraphQL ran, HTTP 400 with the error's code and field."""
    if error.field is None:
        return refusal(400, error.code.value, error.message)
    return refusal(400, error.code.value, error.message, field=error.field)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


class SecurityGate:
    """ASGI wrapper of the GraphQL view; see the module docstring for what it checks."""

    def __init__(
        self,
        app: ASGIApp,
        settings: IntegraSettings,
        keys: ApiKeyStore | None,
        persisted: PersistedQueryStore,
        limiter: RateLimit | None = None,
    ) -> None:
        self.app = app
        self.auth_enabled = settings.auth_enabled
        self.keys = keys
        self.authenticator = Authenticator(settings, keys)
        self.limiter = limiter or RateLimit(settings.rate_limit_per_minute)
        self.persisted = persisted

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the request, then hand it to GraphQL as the authenticated caller."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method: str = scope["method"]
        headers = Headers(scope=scope)
        params = QueryParams(scope.get("query_string", b"").decode("latin-1"))
        if method == "GET" and "query" not in params and "extensions" not in params:
            await self.app(scope, receive, send)  # the GraphiQL page, or Strawberry's 400
            return
        principal: Principal | None = None
        response: Response | None = None
        try:
            if csrf.is_forgeable(method, headers):
                response = refusal(400, csrf.CODE, csrf.MESSAGE)
            else:
                principal, response = await self._caller(scope, headers)
            if principal is not None:
                response = await self._rate_limited(principal.client_id)
            if response is None:
                scope, receive, response = await self._persisted_query(
                    scope, receive, method, params, headers
                )
        except ValidationFailed as error:  # not a body too large: the boundary's 413
            response = invalid_request(error)
        except ConnectionFailure as error:  # the gateway's database (API keys, APQ)
            log.warning("gateway database unavailable: %s", error)
            principal = None
            response = refusal(200, ErrorCode.DATABASE_UNAVAILABLE.value, DATABASE_DOWN_MESSAGE)
        if response is not None:
            await response(scope, receive, send)
            return
        if principal is None:  # every path above that leaves no caller answers a refusal
            raise RuntimeError("the gate let a request through without a caller")
        with serving(RequestSecurity(principal, self.keys)):
            await self.app(scope, receive, send)

    async def _caller(
        self, scope: Scope, headers: Headers
    ) -> tuple[Principal | None, Response | None]:
        client = scope.get("client")
        ip_id = f"ip:{client[0] if client else 'unknown'}"
        if not self.auth_enabled:
            return Principal(ip_id, "anonymous (auth disabled)", Role.ADMIN, "anonymous"), None
        try:
            principal = await self.authenticator.authenticate(headers.get("authorization"))
            message = UNAUTHENTICATED_MESSAGE
        except InvalidCredentials as exc:
            principal, message = None, exc.message
        if principal is not None:
            return principal, None
        limited = await self._rate_limited(ip_id)
        if limited is not None:
            return None, limited
        challenge = {"WWW-Authenticate": 'Bearer realm="integra"'}
        return None, refusal(401, ErrorCode.UNAUTHENTICATED.value, message, challenge)

    async def _rate_limited(self, client_id: str) -> Response | None:
        wait = await self.limiter.acquire(client_id)
        if wait is None:
            return None
        return refusal(
            429,
            ErrorCode.RATE_LIMITED.value,
            f"too many requests; retry in {wait} s",
            {"Retry-After": str(wait)},
        )

    async def _persisted_query(
        self, scope: Scope, receive: Receive, method: str, params: QueryParams, headers: Headers
    ) -> tuple[Scope, Receive, Response | None]:
        """Fill in the query of a known APQ hash; store a new one; refuse an unknown one."""
        if method == "GET":
            raw = params.get("extensions")
            try:
                data: object = {"extensions": request_json.decode(raw) if raw else None}
            except ValueError:
                return scope, receive, None  # Strawberry answers the malformed parameter
            if "query" in params:
                data = {**data, "query": params["query"]}  # type: ignore[dict-item]
        else:
            if "application/json" not in headers.get("content-type", ""):
                return scope, receive, None
            body = await _read_body(receive)
            receive = _replay(body, receive)
            try:
                data = request_json.decode(body)
            except ValueError:
                return scope, receive, None
        if not isinstance(data, dict):
            return scope, receive, None
        digest = requested_hash(data.get("extensions"))
        if digest is None:
            return scope, receive, None
        query = data.get("query")
        if isinstance(query, str):
            check_hash(query, digest)
            await self.persisted.put(digest, query)
            return scope, receive, None
        stored = await self.persisted.get(digest)
        if stored is None:
            return scope, receive, refusal(200, NOT_FOUND_CODE, NOT_FOUND_MESSAGE)
        if method == "GET":
            query_string = urlencode([*params.multi_items(), ("query", stored)])
            return {**scope, "query_string": query_string.encode("latin-1")}, receive, None
        body = json.dumps({**data, "query": stored}).encode("utf-8")
        scope_headers = [(k, v) for k, v in scope["headers"] if k != b"content-length"]
        scope_headers.append((b"content-length", str(len(body)).encode("latin-1")))
        return {**scope, "headers": scope_headers}, _replay(body, receive), None
