"""The gateway component: ``/graphql`` (GraphiQL in development) over the service clients."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL

from gateway.clients import ServiceClient
from gateway.context import GatewayContext, ServiceClients
from gateway.schema import build_schema
from services.runtime.app import build_app
from services.runtime.settings import IntegraSettings


class IntegraGraphQL(GraphQL[GatewayContext, None]):
    """Strawberry's ASGI view with a fresh context (and DataLoaders) per request."""

    def __init__(self, clients: ServiceClients, settings: IntegraSettings) -> None:
        development = settings.environment == "development"
        super().__init__(
            build_schema(),
            graphql_ide="graphiql" if development else None,
            allow_queries_via_get=True,
        )
        self.clients = clients

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> GatewayContext:
        """A new context for each operation: loaders never leak between requests."""
        return GatewayContext(self.clients)


class Gateway:
    """The public GraphQL API; reaches the services only through their HTTP APIs."""

    name = "gateway"

    def __init__(
        self,
        settings: IntegraSettings,
        transports: Mapping[str, httpx.AsyncBaseTransport] | None = None,
    ) -> None:
        self.settings = settings
        self.transports = dict(transports or {})
        self._clients: ServiceClients | None = None
        self._graphql: IntegraGraphQL | None = None

    def _client(self, name: str, url: str) -> ServiceClient:
        transport = self.transports.get(name)
        base = f"http://{name}" if transport is not None else url
        return ServiceClient(name, base, self.settings.service_timeout_seconds, transport)

    @property
    def clients(self) -> ServiceClients:
        """The service clients (only between start and stop)."""
        if self._clients is None:
            raise RuntimeError("the gateway is not started")
        return self._clients

    async def start(self) -> None:
        """Open the service clients."""
        self._clients = ServiceClients(
            scoring=self._client("scoring", str(self.settings.scoring_url)),
            risk=self._client("risk", str(self.settings.risk_url)),
        )
        self._graphql = IntegraGraphQL(self._clients, self.settings)

    async def stop(self) -> None:
        """Close the service clients."""
        if self._clients is not None:
            await asyncio.gather(*(c.close() for c in self._clients.all().values()))
            self._clients = None

    async def readiness(self) -> dict[str, bool]:
        """Ready when every service answers its own readiness probe."""
        clients = self.clients.all()
        answers = await asyncio.gather(*(c.ready() for c in clients.values()))
        return dict(zip(clients, answers, strict=True))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one GraphQL request (the ASGI endpoint of ``/graphql``)."""
        if self._graphql is None:
            raise RuntimeError("the gateway is not started")
        await self._graphql(scope, receive, send)

    def routes(self) -> list[BaseRoute]:
        """``/graphql`` for GET (queries, GraphiQL) and POST."""
        return [Route("/graphql", self, methods=["GET", "POST"])]


def create_app(settings: IntegraSettings | None = None) -> Starlette:
    """A standalone gateway (``integra serve gateway``) calling the services' URLs."""
    settings = settings or IntegraSettings()
    return build_app(Gateway(settings), settings)
