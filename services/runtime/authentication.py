"""Who is calling: a bearer token checked as a service token, an API key or a JWT.

The gateway authenticates the public credentials (API keys, JWTs) at ``/graphql``; every
service authenticates the same public credentials and, besides, the per-call tokens that
components sign for each other (:mod:`services.runtime.service_tokens`). The
:class:`ServiceAuthentication` middleware guards every service route except the probes and
``/metrics``: no credential is 401, a bad one 401, and the role table of each route
(:class:`services.runtime.openapi.ApiRoute`) answers 403 where the role is missing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from starlette.types import ASGIApp, Receive, Scope, Send

from services.runtime.api_keys import ApiKeyStore
from services.runtime.auth import (
    InvalidCredentials,
    JwtVerifier,
    Principal,
    bearer_token,
    looks_like_api_key,
)
from services.runtime.caller import calling_as
from services.runtime.errors import ErrorCode, IntegraError
from services.runtime.http import error_response
from services.runtime.service_tokens import ServiceTokens, is_service_token
from services.runtime.settings import IntegraSettings

OPEN_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
"""The only paths of a service answered without a credential (they carry no data)."""


class Authenticator:
    """Turns an ``Authorization`` header into a :class:`Principal`.

    ``audience`` and ``service_tokens`` are given to a service: it then also accepts the
    tokens other components sign for it.
    """

    def __init__(
        self,
        settings: IntegraSettings,
        keys: ApiKeyStore | None,
        service_tokens: ServiceTokens | None = None,
        audience: str | None = None,
    ) -> None:
        secret = settings.jwt_secret.get_secret_value() if settings.jwt_secret else None
        jwks_url = str(settings.jwt_jwks_url) if settings.jwt_jwks_url else None
        self.jwt = JwtVerifier(
            secret, settings.jwt_jwks_file, settings.jwt_audience, settings.jwt_issuer, jwks_url
        )
        self.keys = keys
        self.service_tokens = service_tokens
        self.audience = audience

    async def authenticate(self, authorization: str | None) -> Principal | None:
        """The caller; ``None`` without credentials; :class:`InvalidCredentials` for bad ones."""
        token = bearer_token(authorization)
        if token is None:
            return None
        if looks_like_api_key(token):
            if self.keys is None:
                raise InvalidCredentials("API keys need the gateway's database (MONGODB_URI)")
            return await self.keys.authenticate(token)
        if self.audience is not None and is_service_token(token):
            if self.service_tokens is None:
                raise InvalidCredentials("this service has no service key configured")
            return self.service_tokens.verify(token, self.audience)
        if not self.jwt.configured:
            raise InvalidCredentials(
                "JWTs are not accepted: no INTEGRA_JWT_SECRET, INTEGRA_JWT_JWKS_FILE or "
                "INTEGRA_JWT_JWKS_URL is set"
            )
        if self.jwt.fetches:  # a JWKS URL: fetching keys must not block the event loop
            return await asyncio.to_thread(self.jwt.verify, token)
        return self.jwt.verify(token)


def _authorization(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            return str(value.decode("latin-1"))
    return None


def _route_path(scope: Scope) -> str:
    """The path within the app (a mounted service sees ``/healthz``, not ``/risk/healthz``)."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path


class ServiceAuthentication:
    """ASGI middleware of a service: authenticates every request but the open paths.

    The authenticator is looked up per request (``authenticator()``) because it reads API
    keys through the service's database client, which exists only once the service started.
    """

    def __init__(self, app: ASGIApp, authenticator: Callable[[], Authenticator]) -> None:
        self.app = app
        self.authenticator = authenticator

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or _route_path(scope) in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        try:
            principal = await self.authenticator().authenticate(_authorization(scope))
        except InvalidCredentials as exc:
            await self._refuse(exc.message, scope, receive, send)
            return
        if principal is None:
            message = "a credential is required: send 'Authorization: Bearer <token>'"
            await self._refuse(message, scope, receive, send)
            return
        with calling_as(principal):
            await self.app(scope, receive, send)

    @staticmethod
    async def _refuse(message: str, scope: Scope, receive: Receive, send: Send) -> None:
        response = error_response(IntegraError(ErrorCode.UNAUTHENTICATED, message))
        response.headers["WWW-Authenticate"] = 'Bearer realm="integra"'
        await response(scope, receive, send)
