"""The gateway component: ``/graphql`` (GraphiQL in development) over the service clients."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping

import httpx
from cross_web import HTTPException
from pymongo import AsyncMongoClient
from starlette.applications import Starlette
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.subscriptions import GRAPHQL_SSE_PROTOCOL, GRAPHQL_TRANSPORT_WS_PROTOCOL

from gateway.clients import ServiceClient
from gateway.context import GatewayContext, LocalServices, ServiceClients
from gateway.graphiql.assets import (
    asset_routes,
    assets_installed,
    ide_page,
    missing_assets_page,
)
from gateway.resilience import SERVICE_READY, CircuitBreaker, ResilienceSettings, RetryPolicy
from gateway.schema import build_schema
from gateway.security import csrf, request_json
from gateway.security.gate import SecurityGate, invalid_request, refusal
from gateway.security.live_connections import LiveConnections
from gateway.security.persisted_queries import PersistedQueryStore
from gateway.security.principal import current_caller
from gateway.security.rate_limit import RateLimit
from services.runtime import mongo
from services.runtime.api_keys import ApiKeyStore
from services.runtime.app import build_app
from services.runtime.authentication import Authenticator
from services.runtime.errors import ErrorCode, ValidationFailed
from services.runtime.records import Document
from services.runtime.service_tokens import tokens_from
from services.runtime.settings import IntegraSettings
from services.runtime.tracing import configure_tracing


class IntegraGraphQL(GraphQL[GatewayContext, None]):
    """Strawberry's ASGI view with a fresh context (and DataLoaders) per request, and
    subscriptions over ``graphql-transport-ws`` for the callers ``live`` accepts."""

    def __init__(
        self, clients: ServiceClients, settings: IntegraSettings, live: LiveConnections
    ) -> None:
        development = settings.environment == "development"
        super().__init__(
            build_schema(settings),
            graphql_ide="graphiql" if development else None,
            allow_queries_via_get=True,
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_SSE_PROTOCOL),
        )
        self.clients = clients
        self.settings = settings
        self.live = live

    async def on_ws_connect(self, context: GatewayContext) -> None:
        """Accept a subscription connection only with a valid credential
        (:mod:`gateway.security.live_connections`)."""
        socket = context.socket
        header = None if socket is None else socket.headers.get("authorization")
        context.caller, context.recheck = await self.live.accept(
            context.connection_params or {}, header, socket
        )

    async def render_graphql_ide(self, request: Request) -> Response:
        """GraphiQL from the gateway's own assets (no CDN); the page holds no secret."""
        if not assets_installed():
            return missing_assets_page()
        return HTMLResponse(ide_page())

    def decode_json(self, data: str | bytes) -> object:
        """The request's JSON, refused when nested too deeply (:mod:`request_json`)."""
        return request_json.decode(data)

    def parse_json(self, data: str | bytes) -> object:
        """The request's JSON; a body that is neither an object nor a list (``null``, ``42``)
        is a 400, not a crash of the view (found by the hostile-input suite)."""
        parsed = super().parse_json(data)
        if not isinstance(parsed, dict | list):
            raise HTTPException(400, "the request body must be a JSON object")
        return parsed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Strawberry's view, with its HTTP refusals (malformed JSON, batching, a missing
        query) in the GraphQL error shape with a stable code instead of plain text."""
        if scope["type"] != "http":
            connection: dict[str, GatewayContext] = {}
            try:
                await super().__call__({**scope, "integra.connection": connection}, receive, send)
            finally:
                context = connection.get("context")
                if context is not None and context.caller is not None:
                    self.live.release(context.caller, context.recheck)
            return
        request = Request(scope=scope, receive=receive)
        caller = current_caller()
        if caller is not None and streams(request):  # an SSE stream counts like a WebSocket
            if not self.live.take(caller):
                message = "this client holds its limit of subscription connections"
                await refusal(429, ErrorCode.RATE_LIMITED.value, message)(scope, receive, send)
                return
            try:
                await self._answer(request, scope, receive, send)
            finally:
                self.live.release(caller, None)
            return
        await self._answer(request, scope, receive, send)

    async def _answer(self, request: Request, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            response = await self.run(request)
        except HTTPException as error:
            code = http_refusal_code(error.status_code)
            at: dict[str, str] = (
                {"field": "body"} if code == ErrorCode.VALIDATION_ERROR.value else {}
            )
            response = refusal(error.status_code, code, error.reason, None, **at)
        except ValidationFailed as error:
            response = invalid_request(error)
        await response(scope, receive, send)

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> GatewayContext:
        """A new context for each operation (for a subscription connection, one for the
        connection): loaders never leak between requests."""
        if not isinstance(request, WebSocket):
            return GatewayContext(self.clients, streaming=streams(request))
        context = GatewayContext(self.clients, socket=request)
        request.scope.get("integra.connection", {})["context"] = context
        return context


log = logging.getLogger("integra.gateway")


def streams(request: Request) -> bool:
    """Whether the request asks for a stream of events (a subscription over SSE)."""
    accept = request.headers.get("accept", "")
    return any(part.split(";")[0].strip() == "text/event-stream" for part in accept.split(","))


def http_refusal_code(status: int) -> str:
    """The stable code of an HTTP-level refusal of the GraphQL view (a 400: the request's
    fault, as a service's malformed body is a VALIDATION_ERROR)."""
    codes = {404: ErrorCode.NOT_FOUND, 405: ErrorCode.METHOD_NOT_ALLOWED}
    return codes.get(status, ErrorCode.VALIDATION_ERROR).value


def cors(app: ASGIApp, origins: list[str]) -> ASGIApp:
    """``app`` answering CORS preflights and adding CORS headers for allowed ``origins``."""
    return CORSMiddleware(
        app,
        allow_origins=origins,
        allow_methods=["GET", "POST"],
        allow_headers=[
            "Authorization",
            "Content-Type",
            "X-Request-ID",
            *csrf.PREFLIGHT_HEADERS,
        ],
        expose_headers=["X-Request-ID", "Retry-After"],
        max_age=600,
    )


class Gateway:
    """The public GraphQL API over the services' typed clients: over their HTTP APIs, or in
    process for the ``local`` services (the one-process stack).

    Its own database (``<db_prefix>_gateway``) holds API keys and persisted queries; without
    ``MONGODB_URI`` it runs with JWTs only and keeps persisted queries in memory.
    """

    name = "gateway"

    def __init__(
        self,
        settings: IntegraSettings,
        transports: Mapping[str, httpx.AsyncBaseTransport] | None = None,
        local: LocalServices | None = None,
    ) -> None:
        self.settings = settings
        self.transports = dict(transports or {})
        self.local = local
        self._clients: ServiceClients | None = None
        self._graphql: IntegraGraphQL | None = None
        self._endpoint: ASGIApp | None = None
        self._mongo: AsyncMongoClient[Document] | None = None
        self.api_keys: ApiKeyStore | None = None
        self.service_tokens = tokens_from(settings)
        if self.service_tokens is None:
            log.warning("no INTEGRA_SERVICE_TOKEN_KEY: every call to a service will be refused")

    def _client(self, name: str, url: str) -> ServiceClient:
        transport = self.transports.get(name)
        base = f"http://{name}" if transport is not None else url
        resilience = ResilienceSettings()
        return ServiceClient(
            name,
            base,
            self.settings.service_timeout_seconds,
            transport,
            retry=RetryPolicy.from_settings(resilience),
            breaker=CircuitBreaker.from_settings(name, resilience),
            tokens=self.service_tokens,
            http_client=self.settings.service_http_client,
        )

    @property
    def clients(self) -> ServiceClients:
        """The service clients (only between start and stop)."""
        if self._clients is None:
            raise RuntimeError("the gateway is not started")
        return self._clients

    async def start(self) -> None:
        """Open the service clients."""
        self._clients = ServiceClients.of(
            self.settings.service_timeout_seconds,
            {
                "scoring": self._client("scoring", str(self.settings.scoring_url)),
                "risk": self._client("risk", str(self.settings.risk_url)),
                "kpi": self._client("kpi", str(self.settings.kpi_url)),
            },
            self.local,
        )
        self._endpoint = cors(self._secured(self._clients), self.settings.cors_origins)

    def _secured(self, clients: ServiceClients) -> ASGIApp:
        """The GraphQL view behind the security gate, over the gateway's own database (and
        its subscription connections, which the gate does not see, behind their own check)."""
        if not self.settings.auth_enabled:
            log.warning(
                "authentication is OFF (INTEGRA_AUTH_ENABLED=false): every caller is an ADMIN"
            )
        db = None
        if self.settings.mongodb_uri is not None:
            self._mongo = mongo.connect(self.settings, self.name)
            db = mongo.database(self._mongo, self.settings, self.name)
            self.api_keys = ApiKeyStore(db)
        else:
            log.warning("no MONGODB_URI: API keys are unavailable (JWTs only)")
        persisted = PersistedQueryStore(db, ttl_seconds=self.settings.persisted_query_ttl_seconds)
        limiter = RateLimit(self.settings.rate_limit_per_minute, db)  # shared by the replicas
        live = LiveConnections(
            Authenticator(self.settings, self.api_keys),
            self.api_keys,
            limiter,
            self.settings.live_connections_per_client,
            self.settings.auth_enabled,
            self.settings.live_recheck_seconds,
        )
        self._graphql = IntegraGraphQL(clients, self.settings, live)
        return SecurityGate(self._graphql, self.settings, self.api_keys, persisted, limiter)

    async def stop(self) -> None:
        """Close the service clients."""
        if self._clients is not None:
            await asyncio.gather(*(c.close() for c in self._clients.all().values()))
            self._clients = None
        if self._mongo is not None:
            await self._mongo.close()
            self._mongo = None

    async def readiness(self) -> dict[str, bool]:
        """Ready when the gateway itself can serve: started, and its own database answers
        (when it has one). A dead service does not make it unready: it answers partially,
        and :meth:`dependencies` reports the services."""
        if self._mongo is None:
            return {"configuration": self._endpoint is not None}
        return {"database": await mongo.ping(self._mongo)}

    async def dependencies(self) -> dict[str, bool]:
        """Whether each service answers its readiness probe (body of /readyz and the gauge
        ``gateway_service_ready``; never the status code: one dead service must not take
        every gateway replica out of its load balancer)."""
        clients = self.clients.all()
        answers = await asyncio.gather(*(c.ready() for c in clients.values()))
        for name, ready in zip(clients, answers, strict=True):
            SERVICE_READY.labels(name).set(1 if ready else 0)
        return dict(zip(clients, answers, strict=True))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one GraphQL request (the ASGI endpoint of ``/graphql``)."""
        if self._endpoint is None:
            raise RuntimeError("the gateway is not started")
        await self._endpoint(scope, receive, send)

    def routes(self) -> list[BaseRoute]:
        """``/graphql`` for GET (queries, GraphiQL) and POST; GraphiQL's assets in
        development."""
        methods = ["GET", "POST"] + (["OPTIONS"] if self.settings.cors_origins else [])
        routes: list[BaseRoute] = [
            Route("/graphql", self, methods=methods),
            WebSocketRoute("/graphql", self),
        ]
        if self.settings.environment == "development":
            routes.extend(asset_routes())
        return routes


def create_app(settings: IntegraSettings | None = None) -> Starlette:
    """A standalone gateway (``integra serve gateway``) calling the services' URLs."""
    configure_tracing("integra-gateway")  # before any client or schema is made
    settings = settings or IntegraSettings()
    return build_app(Gateway(settings), settings)
