"""The app factory shared by the services and the gateway.

A :class:`Component` is one service (or the gateway): its routes, how it starts and stops,
and what its readiness depends on. :func:`build_app` wraps it with what every process has:
``/healthz``, ``/readyz``, ``/metrics``, the request id, request metrics, the error boundary
and body limit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Protocol, runtime_checkable

from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match, Route

from services.runtime import mongo
from services.runtime.api_keys import ApiKeyStore
from services.runtime.authentication import Authenticator, ServiceAuthentication
from services.runtime.change_feed import ChangeFeed, FeedOptions
from services.runtime.change_routes import change_routes
from services.runtime.errors import ErrorCode, IntegraError
from services.runtime.http import ErrorBoundary, error_response, json_response
from services.runtime.metrics import RequestMetricsMiddleware, metrics_response, route_templates
from services.runtime.openapi import api_routes, openapi_route
from services.runtime.records import Document
from services.runtime.request_context import RequestIdMiddleware
from services.runtime.service_tokens import tokens_from
from services.runtime.settings import IntegraSettings
from services.runtime.tracing import server_middleware

log = logging.getLogger("integra")


class Component(Protocol):
    """One deployable part of Integra."""

    name: str

    def routes(self) -> list[BaseRoute]:
        """The component's own HTTP routes."""

    async def start(self) -> None:
        """Acquire resources (database clients, HTTP clients, background tasks)."""

    async def stop(self) -> None:
        """Release what :meth:`start` acquired."""

    async def readiness(self) -> dict[str, bool]:
        """Each dependency the component needs to serve, and whether it is usable now."""


@runtime_checkable
class HasDependencies(Protocol):
    """A component that reports components it calls (the gateway: the services)."""

    async def dependencies(self) -> dict[str, bool]:
        """Whether each dependency answers now."""


def feed_options(settings: IntegraSettings) -> FeedOptions:
    """The change feeds' options: the retention, and a pending change resolved once no write
    can still be in flight (the MongoDB client's longest wait, and a margin)."""
    return FeedOptions(
        retention_ms=round(settings.change_retention_hours * 3_600_000),
        resolve_after_ms=settings.mongo_socket_timeout_ms + settings.mongo_timeout_ms + 5_000,
    )


class MongoComponent:
    """Base of the services that own a MongoDB database.

    Start never fails because the database is down: index creation is retried in the
    background until the database answers, and readiness reports the database's state. Every
    such service has a change feed (``GET /changes``) and sweeps it in the background.
    """

    name: str

    def __init__(self, settings: IntegraSettings) -> None:
        self.settings = settings
        self._client: AsyncMongoClient[Document] | None = None
        self._prepare_task: asyncio.Task[None] | None = None
        self._sweep_task: asyncio.Task[None] | None = None
        self._feed: ChangeFeed | None = None
        self.prepared = asyncio.Event()
        self.service_tokens = tokens_from(settings)
        self._authenticator: Authenticator | None = None

    @property
    def client(self) -> AsyncMongoClient[Document]:
        """The service's MongoDB client (only between start and stop)."""
        if self._client is None:
            raise RuntimeError(f"{self.name} is not started")
        return self._client

    @property
    def feed(self) -> ChangeFeed:
        """The service's change feed (only between start and stop)."""
        if self._feed is None:
            raise RuntimeError(f"{self.name} is not started")
        return self._feed

    async def start(self) -> None:
        """Connect and prepare the database (indexes, built-in records) in the background."""
        self._client = mongo.connect(self.settings, self.name)
        db = mongo.database(self._client, self.settings, self.name)
        self._feed = ChangeFeed(db, self.name, feed_options(self.settings))
        self.on_connect(db)
        self._prepare_task = asyncio.create_task(self._prepare_until_done())
        self._sweep_task = asyncio.create_task(self._sweep_forever(self._feed))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(self.prepared.wait()), timeout=10)

    def on_connect(self, db: AsyncDatabase[Document]) -> None:
        """Build the store over ``db`` (and :attr:`feed`); subclasses override."""

    def authenticator(self) -> Authenticator:
        """Checks the callers of this service: service tokens addressed to it, API keys
        (read from the gateway's database on the same server) and JWTs."""
        if self._authenticator is None:
            keys = ApiKeyStore(mongo.database(self.client, self.settings, "gateway"))
            self._authenticator = Authenticator(
                self.settings, keys, self.service_tokens, audience=self.name
            )
        return self._authenticator

    async def prepare(self) -> None:
        """Create indexes and built-in records, idempotently; subclasses override."""

    async def _prepare_until_done(self) -> None:
        delay = 0.5
        while True:
            try:
                await self.feed.prepare()
                await self.prepare()
            except Exception:
                stop_if_cancelled()
                log.warning("%s: database not ready, retrying in %.1f s", self.name, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)
            else:
                self.prepared.set()
                return

    @staticmethod
    async def _sweep_forever(feed: ChangeFeed) -> None:
        failing = False
        while True:
            await asyncio.sleep(feed.options.sweep_seconds)
            try:
                await feed.sweep()
            except Exception:
                stop_if_cancelled()
                if not failing:  # once per outage: readiness tells the rest
                    log.warning("%s: the change feed's sweep failed; retrying", feed.service)
                failing = True
            else:
                failing = False

    async def stop(self) -> None:
        """Stop preparing and sweeping, and close the client."""
        await cancel_until_done(*(t for t in (self._prepare_task, self._sweep_task) if t))
        self._prepare_task = self._sweep_task = self._feed = None
        if self._client is not None:
            await self._client.close()
            self._client = None
            self._authenticator = None

    async def readiness(self) -> dict[str, bool]:
        """Ready when the database answers and has been prepared."""
        return {"database": await mongo.ping(self.client) and self.prepared.is_set()}


async def cancel_until_done(*tasks: asyncio.Task[None]) -> None:
    """Cancel background tasks and wait until they ended: again each second, since a library
    may swallow a cancellation (PyMongo's async API can) and a task would run on."""
    while pending := [task for task in tasks if not task.done()]:
        for task in pending:
            task.cancel()
        await asyncio.wait(pending, timeout=1.0)


def stop_if_cancelled() -> None:
    """Re-raise a cancellation that a library turned into an ordinary exception.

    PyMongo's async API may answer a cancelled operation with an ``Exception`` (not
    ``CancelledError``); a loop that logs and carries on after ``except Exception`` would then
    never stop. Call this in such handlers.
    """
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


def health_routes(
    readiness: Callable[[], Awaitable[dict[str, bool]]],
    dependencies: Callable[[], Awaitable[dict[str, bool]]] | None = None,
) -> list[BaseRoute]:
    """``/healthz`` (the process is alive) and ``/readyz`` (it can serve); ``dependencies``
    (the gateway's services) are reported in the body without deciding the status."""

    async def healthz(_: Request) -> Response:
        return json_response({"status": "ok"})

    async def readyz(_: Request) -> Response:
        checks = await readiness()
        ready = all(checks.values())
        body: dict[str, object] = {"status": "ready" if ready else "unavailable", "checks": checks}
        if dependencies is not None:
            body["services"] = await dependencies()
        return json_response(body, status=200 if ready else 503)

    return [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", metrics_response, methods=["GET"]),
    ]


async def http_error(_: Request, exc: Exception) -> Response:
    """Routing errors (unknown path 404, wrong method 405) in the JSON error model; a 405
    keeps the ``Allow`` header the router gave it."""
    if not isinstance(exc, HTTPException):  # registered for HTTPException only
        raise exc
    code = {404: ErrorCode.NOT_FOUND, 405: ErrorCode.METHOD_NOT_ALLOWED}.get(
        exc.status_code, ErrorCode.VALIDATION_ERROR
    )
    field = "method" if code is ErrorCode.METHOD_NOT_ALLOWED else "path"
    response = error_response(IntegraError(code, str(exc.detail), field))
    response.status_code = exc.status_code
    response.headers.update(exc.headers or {})
    return response


def routing_errors(
    routes: Sequence[BaseRoute],
) -> Callable[[Request, Exception], Awaitable[Response]]:
    """:func:`http_error` whose 405 allows every method of ``routes`` at the path (RFC 9110):
    the router names only the first route that matched the path, and each method of a path is
    a route of its own."""

    async def handler(request: Request, exc: Exception) -> Response:
        if not isinstance(exc, HTTPException):  # registered for HTTPException only
            raise exc
        if exc.status_code == 405:
            allowed = sorted(
                {
                    method
                    for route in routes
                    if isinstance(route, Route)
                    and route.methods
                    and route.matches(request.scope)[0] is not Match.NONE
                    for method in route.methods
                }
            )
            exc = HTTPException(
                405,
                f"{request.method} is not allowed here; allowed: {', '.join(allowed)}",
                {"Allow": ", ".join(allowed)},
            )
        return await http_error(request, exc)

    return handler


def build_app(
    component: Component, settings: IntegraSettings, *, manage_lifecycle: bool = True
) -> Starlette:
    """The ASGI app of ``component``.

    With ``manage_lifecycle`` the app's lifespan starts and stops the component; the
    one-process stack passes ``False`` and drives every component's lifecycle itself.
    """
    own_routes = component.routes()
    if isinstance(component, MongoComponent):
        own_routes.extend(change_routes(lambda: component.feed))
    dependencies = component.dependencies if isinstance(component, HasDependencies) else None
    routes = [*own_routes, *health_routes(component.readiness, dependencies)]
    if api_routes(own_routes):
        routes.append(openapi_route(f"Integra {component.name}", lambda: own_routes))

    # Every service route needs a credential (zero trust); the gateway guards /graphql itself.
    authentication = (
        [Middleware(ServiceAuthentication, authenticator=component.authenticator)]
        if isinstance(component, MongoComponent)
        else []
    )

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        if manage_lifecycle:
            await component.start()
        try:
            yield
        finally:
            if manage_lifecycle:
                await component.stop()

    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={HTTPException: routing_errors(routes)},
        middleware=[
            *server_middleware(),  # outermost: the request id and metrics see the trace
            Middleware(RequestIdMiddleware),
            Middleware(
                RequestMetricsMiddleware,
                service=component.name,
                templates=route_templates(routes),
            ),
            Middleware(ErrorBoundary, max_body_bytes=settings.max_body_bytes),
            *authentication,
        ],
    )
    # A JSON API answers an unknown path (``/profiles/`` with an empty name) with its JSON
    # 404, never with a redirect a client would not follow.
    app.router.redirect_slashes = False
    return app
