"""Prometheus metrics shared by every process, with bounded labels only.

Names and labels follow the OpenTelemetry semantic conventions as Prometheus spells them
(dots become underscores): request latency is ``http_server_request_duration_seconds``
labelled by ``service``, ``http_request_method``, ``http_route`` (the route *template*) and
``http_response_status_code``; its ``_count`` is the request count (no separate counter). The
bucket at the SLA threshold (0.5 s) exists so that SLA compliance is computable in PromQL.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Iterable
from typing import Final

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import choose_encoder
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.runtime.tracing import name_server_span, trace_exemplar

REGISTRY: Final = CollectorRegistry(auto_describe=True)

LATENCY_BUCKETS: Final = (
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
)  # fmt: skip

HTTP_REQUEST_DURATION: Final = Histogram(
    "http_server_request_duration_seconds",
    "Duration of HTTP requests handled, by route template; its _count counts the requests.",
    ["service", "http_request_method", "http_route", "http_response_status_code"],
    buckets=LATENCY_BUCKETS,
    registry=REGISTRY,
)
DB_OPERATION_DURATION: Final = Histogram(
    "db_client_operation_duration_seconds",
    "Duration of MongoDB commands sent by a service; error_type is empty on success.",
    ["service", "db_system_name", "db_operation_name", "error_type"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
    registry=REGISTRY,
)
GRAPHQL_OPERATIONS: Final = Counter(
    "graphql_operations",
    "GraphQL operations executed by the gateway, by type and outcome.",
    ["operation_type", "outcome"],
    registry=REGISTRY,
)
GRAPHQL_OPERATION_DURATION: Final = Histogram(
    "graphql_operation_duration_seconds",
    "Duration of GraphQL operations executed by the gateway.",
    ["operation_type", "outcome"],
    buckets=LATENCY_BUCKETS,
    registry=REGISTRY,
)
SERVICE_CALLS: Final = Counter(
    "gateway_service_calls",
    "Calls from the gateway to a service, by service, route template and outcome.",
    ["service", "route", "outcome"],
    registry=REGISTRY,
)
SERVICE_CALL_DURATION: Final = Histogram(
    "http_client_request_duration_seconds",
    "Duration of calls (each attempt) from the gateway to a service, by route template.",
    ["service", "http_request_method", "http_route"],
    buckets=LATENCY_BUCKETS,
    registry=REGISTRY,
)

RISK_ESCALATIONS: Final = Counter(
    "risk_escalations",
    "Risk escalations (alerts) by risk category and source: kpi_rule, no_data, roadmap_slip.",
    ["category", "source"],
    registry=REGISTRY,
)

FEED_CHANGES: Final = Counter(
    "integra_change_feed_changes",
    "Changes of a service's feed by outcome: committed, void (the write did not happen), "
    "left_pending (the writer failed uncertainly), recovered (by the sweep), appended_again.",
    ["service", "outcome"],
    registry=REGISTRY,
)
FEED_READS: Final = Counter(
    "integra_change_feed_reads",
    "Reads of a service's change feed (GET /changes), by outcome: changes, empty, expired.",
    ["service", "outcome"],
    registry=REGISTRY,
)

LIVE_CONNECTIONS: Final = Counter(
    "gateway_live_connections",
    "Subscription connections (WebSockets, SSE streams) by outcome: accepted, unauthenticated, "
    "refused (the client holds its limit of connections), expired (closed: the credential "
    "expired or was revoked).",
    ["outcome"],
    registry=REGISTRY,
)

EMBEDDED_DATABASE_RESTARTS: Final = Counter(
    "integra_embedded_database_restarts",
    "Restarts of the embedded nx-27017 by the supervisor of integra up after it exited "
    "(services/runtime/embedded.py); every attempt counts, so a crash loop shows as a rate.",
    registry=REGISTRY,
)

GC_FROZEN_OBJECTS: Final = Gauge(
    "python_gc_frozen_objects",
    "Objects in the garbage collector's permanent generation: what start-up built, left out "
    "of collections (services/runtime/heap.py); 0 before start-up is done.",
    registry=REGISTRY,
)
GC_FROZEN_OBJECTS.set_function(gc.get_freeze_count)

UNMATCHED_ROUTE: Final = "__unmatched__"


def metrics_response(request: Request) -> Response:
    """The exposition of every metric of this process: Prometheus' text format, or
    OpenMetrics (with the latency histograms' trace exemplars) when the scraper asks for it,
    as Prometheus does."""
    encode, media_type = choose_encoder(request.headers.get("accept", ""))
    return Response(encode(REGISTRY), media_type=media_type)


def route_templates(routes: Iterable[BaseRoute], prefix: str = "") -> dict[object, str]:
    """Map each endpoint to its route template, so labels never carry raw paths or ids."""
    templates: dict[object, str] = {}
    for route in routes:
        if isinstance(route, Route):
            templates[route.endpoint] = prefix + route.path
        elif isinstance(route, Mount):
            templates.update(route_templates(route.routes, prefix + route.path))
    return templates


class RequestMetricsMiddleware:
    """ASGI middleware that times every HTTP request by service, method, route template, status.

    The template comes from the endpoint Starlette's router resolved; requests that match no
    route share one label value, so label cardinality stays bounded.
    """

    def __init__(self, app: ASGIApp, service: str, templates: dict[object, str]) -> None:
        self.app = app
        self.service = service
        self.templates = templates

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        finally:
            route = self.templates.get(scope.get("endpoint"), UNMATCHED_ROUTE)
            name_server_span(scope["method"], route)
            labels = (self.service, scope["method"], route, str(status))
            HTTP_REQUEST_DURATION.labels(*labels).observe(
                time.perf_counter() - started, exemplar=trace_exemplar()
            )
