"""Distributed tracing with OpenTelemetry, off unless the standard ``OTEL_*`` variables ask.

Tracing is on when ``OTEL_TRACES_EXPORTER`` names an exporter other than ``none``
(``otlp`` or ``console``), or when ``OTEL_EXPORTER_OTLP_ENDPOINT`` /
``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` is set; ``OTEL_SDK_DISABLED=true`` turns it off. The
SDK reads the rest itself (endpoint, headers, protocol ``http/protobuf``, batch delays,
``OTEL_SERVICE_NAME``, ``OTEL_RESOURCE_ATTRIBUTES``). Off, nothing is installed: no
middleware, no patched client, no span — the requests cost what they cost without it.

On, every component's ASGI app accepts a W3C ``traceparent`` and answers within its trace
(:func:`server_middleware`), httpx calls carry it on (the gateway's calls over the network,
the calls between services, the outbox deliveries), every MongoDB command is a child span,
and the gateway adds a span per GraphQL operation and per in-process use case call.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Final

import httpx
from opentelemetry import context, propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SimpleSpanProcessor,
    SpanExporter,
)
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from starlette.middleware import Middleware

TRACER: Final = trace.get_tracer("integra")
#: Requests that are not worth a trace: probes and scrapes.
UNTRACED_PATHS: Final = "healthz,readyz,metrics"


class _State:
    enabled = False


def tracing_requested(environ: Mapping[str, str] = os.environ) -> bool:
    """Whether the environment asks for traces to be exported (see the module's docstring)."""
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    exporters = environ.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if exporters:
        return exporters != "none"
    return bool(
        environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
        or environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    )


def tracing_enabled() -> bool:
    """Whether this process traces (:func:`configure_tracing` turned it on)."""
    return _State.enabled


def _exporters(environ: Mapping[str, str]) -> list[SpanExporter]:
    names = [n.strip() for n in environ.get("OTEL_TRACES_EXPORTER", "otlp").lower().split(",")]
    chosen: list[SpanExporter] = []
    for name in names:
        if name == "console":
            chosen.append(ConsoleSpanExporter())
        elif name in ("otlp", ""):
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            chosen.append(OTLPSpanExporter())
        elif name != "none":
            raise ValueError(f"OTEL_TRACES_EXPORTER: unknown exporter {name!r} (otlp, console)")
    return chosen


def configure_tracing(service_name: str, exporter: SpanExporter | None = None) -> bool:
    """Turn tracing on for this process if the environment asks (or with ``exporter``,
    spans go to it as they end: the tests' in-memory exporter); once per process, the first
    call's ``service_name`` (``OTEL_SERVICE_NAME`` wins) names it. Whether tracing is on."""
    if _State.enabled:
        return True
    if exporter is None and not tracing_requested():
        return False
    name = os.environ.get("OTEL_SERVICE_NAME") or service_name
    provider = TracerProvider(resource=Resource.create({"service.name": name}))
    if exporter is not None:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    else:
        for chosen in _exporters(os.environ):
            provider.add_span_processor(BatchSpanProcessor(chosen))
    trace.set_tracer_provider(provider)
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
    from opentelemetry.instrumentation.pymongo import PymongoInstrumentor

    HTTPXClientInstrumentor().instrument()  # clients made from now on carry traceparent
    PymongoInstrumentor().instrument()  # a span per command of the clients made from now on
    _State.enabled = True
    return True


def server_middleware() -> list[Middleware]:
    """The ASGI middleware that answers each request within the trace its ``traceparent``
    names (or a new one), as a SERVER span; none while tracing is off."""
    if not _State.enabled:
        return []
    from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware

    return [
        Middleware(
            OpenTelemetryMiddleware,
            excluded_urls=UNTRACED_PATHS,
            exclude_spans=["receive", "send"],
        )
    ]


def traced_transport(transport: httpx.AsyncBaseTransport | None) -> httpx.AsyncBaseTransport | None:
    """``transport``, carrying the trace on: httpx's own transport (also the default, ``None``)
    is traced by the instrumentation; another one (in-process ASGI, aiohttp) is wrapped."""
    if not _State.enabled or transport is None or isinstance(transport, httpx.AsyncHTTPTransport):
        return transport
    from opentelemetry.instrumentation.httpx import AsyncOpenTelemetryTransport

    return AsyncOpenTelemetryTransport(transport)


def name_server_span(method: str, route: str) -> None:
    """Name the current request's span by its route template (never by a raw path, which
    would carry ids): ``GET /risks/{risk_id}``."""
    if not _State.enabled:
        return
    span = trace.get_current_span()
    if span.is_recording():
        span.update_name(f"{method} {route}")
        span.set_attribute("http.route", route)


@contextmanager
def traced(
    name: str, attributes: Mapping[str, Any], kind: SpanKind = SpanKind.INTERNAL
) -> Iterator[Span | None]:
    """A span around the enclosed work (``None`` while tracing is off); an exception marks
    it as failed with the exception's type, never its text (which may carry input)."""
    if not _State.enabled:
        yield None
        return
    with TRACER.start_as_current_span(
        name,
        kind=kind,
        attributes=dict(attributes),
        record_exception=False,
        set_status_on_exception=False,
    ) as span:
        try:
            yield span
        except Exception as exc:
            span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
            span.set_attribute("error.type", type(exc).__name__)
            raise


def trace_carrier() -> dict[str, str]:
    """The current trace as W3C headers (``traceparent``, ``tracestate``) to store with work
    done later (an outbox entry); empty while tracing is off or outside a trace."""
    if not _State.enabled:
        return {}
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier


@contextmanager
def continued(carrier: Mapping[str, str] | None) -> Iterator[None]:
    """Run the enclosed work within the trace ``carrier`` names (see :func:`trace_carrier`)."""
    if not _State.enabled or not carrier:
        yield
        return
    token = context.attach(propagate.extract(dict(carrier)))
    try:
        yield
    finally:
        context.detach(token)


def trace_exemplar() -> dict[str, str] | None:
    """The current trace as a Prometheus exemplar of a latency observation (``trace_id``),
    so a slow bucket leads to a trace; ``None`` while tracing is off or outside a trace."""
    if not _State.enabled:
        return None
    span_context = trace.get_current_span().get_span_context()
    if not span_context.is_valid or not span_context.trace_flags.sampled:
        return None
    return {"trace_id": format(span_context.trace_id, "032x")}


def current_trace_ids() -> tuple[str, str] | None:
    """The trace and span ids of the current span (hex), for log lines; ``None`` outside."""
    span_context = trace.get_current_span().get_span_context()
    if not span_context.is_valid:
        return None
    return format(span_context.trace_id, "032x"), format(span_context.span_id, "016x")
