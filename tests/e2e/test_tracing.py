"""Traces as an operator's collector receives them, from real processes exporting over OTLP.

One dashboard query sent with a W3C ``traceparent`` comes back as one trace covering the
gateway, each service it called and their MongoDB commands: in one process (``integra up``:
the services are called in process) and in four (``integra serve``: over HTTP, the trace
carried by ``traceparent``); a KPI breach delivered later by the outbox continues the trace
of the measurement that caused it. Turned off, nothing is exported.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry.sdk.trace import TracerProvider

from services.runtime.embedded import free_port
from services.runtime.json_logging import JsonFormatter
from tests.conftest import TEST_JWT_SECRET, bearer, signed_jwt
from tests.e2e.otlp_receiver import OtlpReceiver, ReceivedSpan
from tests.e2e.processes import IntegraProcess, admin_headers, clean_env, graphql, split_env

pytestmark = pytest.mark.slow

DASHBOARD = """query Dashboard($id: ID!) { shop(id: $id) {
  name score { sh band } advice { critical }
  risks { totalCount items { title } } riskMatrix { total }
  kpis { kpiCode value status } } }"""
CRITERIA = {"U": 60, "I": 70, "R": 80, "C": 50, "T": 90, "L": 40, "S": 70, "M": 60, "E": 3}
RECORD = "mutation($i: RecordMeasurementInput!) { recordMeasurement(input: $i) { id } }"


def _traceparent() -> tuple[str, str, str]:
    """A new sampled ``traceparent`` and its trace and parent span ids."""
    trace_id, span_id = secrets.token_hex(16), secrets.token_hex(8)
    return f"00-{trace_id}-{span_id}-01", trace_id, span_id


def _measurement(shop_id: str, code: str, inputs: dict[str, float]) -> dict[str, object]:
    return {
        "shopId": shop_id,
        "kpiCode": code,
        "periodStart": "2026-11-01T00:00:00Z",
        "periodEnd": "2026-11-02T00:00:00Z",
        "inputs": [{"name": k, "value": v} for k, v in inputs.items()],
    }


def _seed(base: str, headers: dict[str, str]) -> str:
    """A shop with a score, a risk and a KPI measurement; its id."""
    created: object = graphql(
        base, 'mutation { createShop(input: {name: "Traced"}) { id } }', headers=headers
    )
    shop_id = str(created["createShop"]["id"])  # type: ignore[index]
    graphql(
        base,
        "mutation($i: RecordAssessmentInput!) { recordAssessment(input: $i) { id } }",
        {"i": {"shopId": shop_id, "assessor": "ops", "criteria": CRITERIA}},
        headers,
    )
    risk = {
        "shopId": shop_id,
        "category": "DATA_QUALITY",
        "title": "Duplicate orders",
        "owner": "ops",
        "inherent": {"likelihood": 3, "impact": 4},
    }
    graphql(
        base,
        "mutation($i: CreateRiskInput!) { createRisk(input: $i) { id } }",
        {"i": risk},
        headers,
    )
    average = {"revenue": 1000.0, "transactions": 10.0}
    graphql(base, RECORD, {"i": _measurement(shop_id, "average_check", average)}, headers)
    return shop_id


def _traced(
    base: str, headers: dict[str, str], query: str, variables: dict[str, object]
) -> tuple[Any, str, str]:
    """An operation sent within a new trace: its data, the trace id and the caller's span id."""
    traceparent, trace_id, parent = _traceparent()
    answer = httpx.post(
        f"{base}/graphql",
        json={"query": query, "variables": variables},
        headers={**headers, "traceparent": traceparent},
        timeout=30,
    ).json()
    assert not answer.get("errors"), answer
    return answer["data"], trace_id, parent


def _dashboard(base: str, headers: dict[str, str], shop_id: str) -> tuple[str, str]:
    """The dashboard query sent within a new trace: its trace id and the caller's span id."""
    data, trace_id, parent = _traced(base, headers, DASHBOARD, {"id": shop_id})
    assert data["shop"]["kpis"][0]["kpiCode"] == "average_check"
    return trace_id, parent


def _orphans(spans: list[ReceivedSpan], parent: str) -> list[tuple[str, str]]:
    """The spans that hang from no other span of the trace nor from the caller's span."""
    ids = {s.span_id for s in spans} | {parent}
    return [(s.service, s.name) for s in spans if s.parent_id not in ids]


def _assert_one_tree(spans: list[ReceivedSpan], parent: str) -> None:
    """Every span hangs from another span of the trace, or from the caller's span."""
    assert not _orphans(spans, parent)


def _ancestors(span: ReceivedSpan, by_id: dict[str, ReceivedSpan]) -> Iterator[ReceivedSpan]:
    while span.parent_id in by_id:
        span = by_id[span.parent_id]
        yield span


def _mongo_under(spans: list[ReceivedSpan], owner: str) -> list[ReceivedSpan]:
    """The MongoDB command spans beneath the spans of ``owner`` (a service's in-process call
    or its server span): each names the database system."""
    by_id = {s.span_id: s for s in spans}
    return [
        s
        for s in spans
        if s.attributes.get("db.system") == "mongodb"
        and any(a.name.startswith(owner) for a in _ancestors(s, by_id))
    ]


@pytest.fixture
def receiver() -> Iterator[OtlpReceiver]:
    """A collector on a free port."""
    running = OtlpReceiver()
    try:
        yield running
    finally:
        running.close()


@contextmanager
def _up(tmp_path: Path, **env: str) -> Iterator[tuple[str, dict[str, str]]]:
    """``integra up`` with ``env`` on a free port: its URL and the local ADMIN key's headers."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    settings = {"INTEGRA_PORT": str(port), "INTEGRA_DATA_DIR": str(tmp_path / "data"), **env}
    process = IntegraProcess(["up"], clean_env(**settings), tmp_path / "up.log")
    try:
        process.wait_ready(base)
        yield base, admin_headers(tmp_path / "data")
    finally:
        process.kill()


def _otel_env(receiver: OtlpReceiver) -> dict[str, str]:
    return {"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint, "OTEL_BSP_SCHEDULE_DELAY": "100"}


def test_a_dashboard_in_one_process_is_one_trace_through_every_service_into_mongodb(
    tmp_path: Path, receiver: OtlpReceiver
) -> None:
    # INTEGRA_LOG_LEVEL=debug: an access line per request.
    with _up(tmp_path, INTEGRA_LOG_LEVEL="debug", **_otel_env(receiver)) as (base, headers):
        trace_id, parent = _dashboard(base, headers, _seed(base, headers))
        openmetrics = httpx.get(
            f"{base}/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"}
        )
        services = ("scoring ", "risk ", "kpi ")
        spans = receiver.wait_for(trace_id, lambda got: all(_mongo_under(got, s) for s in services))
    names = {s.name for s in spans}
    assert {s.service for s in spans} == {"integra"}
    [server] = [s for s in spans if s.kind == "SERVER"]
    assert (server.name, server.parent_id) == ("POST /graphql", parent)
    assert "query Dashboard" in names, names
    for service in services:
        calls = [s for s in spans if s.name.startswith(service)]
        assert calls, (service, names)
        assert all(c.attributes["integra.service"] == service.strip() for c in calls)
        assert _mongo_under(spans, service), (service, names)
    _assert_one_tree(spans, parent)
    # The request's log line names its trace: from the log, an operator finds the trace.
    log = (tmp_path / "up.log").read_text().splitlines()
    lines = [json.loads(line) for line in log if line.startswith("{")]  # GraphiQL's link too
    [access] = [
        line for line in lines if line.get("trace_id") == trace_id and "/graphql" in line["message"]
    ]
    assert access["span_id"] in {s.span_id for s in spans}
    assert access["request_id"]
    # A latency bucket of the request's route keeps its trace as an exemplar (OpenMetrics).
    assert openmetrics.headers["content-type"].startswith("application/openmetrics-text")
    assert any(
        line.startswith("http_server_request_duration_seconds_bucket{")
        and 'http_route="/graphql"' in line
        and f'# {{trace_id="{trace_id}"}}' in line
        for line in openmetrics.text.splitlines()
    ), "no exemplar of the traced request"


def test_a_dashboard_across_processes_is_one_trace_and_an_escalation_continues_it(
    tmp_path: Path, mongo_uri: str, receiver: OtlpReceiver
) -> None:
    ports = {name: free_port() for name in ("scoring", "risk", "kpi", "gateway")}
    env = split_env(
        mongo_uri,
        ports,
        "trace",
        INTEGRA_JWT_SECRET=TEST_JWT_SECRET,
        **_otel_env(receiver),
    )
    processes: list[IntegraProcess] = []
    try:
        for name, port in ports.items():
            started = IntegraProcess(
                ["serve", name], {**env, "INTEGRA_PORT": str(port)}, tmp_path / f"{name}.log"
            )
            processes.append(started)
            started.wait_ready(f"http://127.0.0.1:{port}", timeout=60)
        base = f"http://127.0.0.1:{ports['gateway']}"
        headers = bearer(signed_jwt("ADMIN", sub="tracing-test"))
        shop_id = _seed(base, headers)
        trace_id, parent = _dashboard(base, headers, shop_id)
        services = [f"integra-{name}" for name in ("scoring", "risk", "kpi")]

        def complete(got: list[ReceivedSpan]) -> bool:
            return not _orphans(got, parent) and all(
                any(s.service == svc and s.attributes.get("db.system") for s in got)
                for svc in services
            )

        spans = receiver.wait_for(trace_id, complete)
        _assert_one_tree(spans, parent)
        by_id = {s.span_id: s for s in spans}
        for service in services:
            served = [s for s in spans if s.service == service and s.kind == "SERVER"]
            assert served, (service, [(s.service, s.name) for s in spans])
            for span in served:  # each called by the gateway, over HTTP
                caller = by_id[span.parent_id]
                assert (caller.service, caller.kind) == ("integra-gateway", "CLIENT")
                assert not re.search(r"[0-9a-f]{24}", span.name), span.name  # a template
            assert any(s.service == service and s.attributes.get("db.system") for s in spans)

        # A breach recorded now is delivered to risk by the outbox, later, in the same trace.
        breach = _measurement(shop_id, "sla_compliance", {"within_sla": 90.0, "total": 100.0})
        _, breach_trace, breach_parent = _traced(base, headers, RECORD, {"i": breach})

        def escalated(got: list[ReceivedSpan]) -> bool:  # each process exports on its own
            delivered = any(
                s.service == "integra-risk" and s.name == "POST /escalations" for s in got
            )
            return delivered and not _orphans(got, breach_parent)

        breach_spans = receiver.wait_for(breach_trace, escalated)
        assert escalated(breach_spans), [(s.service, s.name) for s in breach_spans]
        _assert_one_tree(breach_spans, breach_parent)
        assert any(s.name == "deliver to risk" for s in breach_spans)
    finally:
        for process in processes:
            process.kill()


@pytest.mark.parametrize("off", [{"OTEL_TRACES_EXPORTER": "none"}, {"OTEL_SDK_DISABLED": "true"}])
def test_tracing_turned_off_exports_nothing_even_with_an_endpoint(
    tmp_path: Path, receiver: OtlpReceiver, off: dict[str, str]
) -> None:
    with _up(tmp_path, **_otel_env(receiver), **off) as (base, headers):
        _dashboard(base, headers, _seed(base, headers))
        time.sleep(0.5)  # five export intervals: a batch would have been sent by now
    assert receiver.spans == []


def test_a_log_line_within_a_span_names_its_trace_and_span() -> None:
    tracer = TracerProvider().get_tracer("test")  # a provider of its own: nothing global
    record = logging.LogRecord("integra", logging.INFO, __file__, 1, "hello", None, None)
    with tracer.start_as_current_span("work") as span:
        line = json.loads(JsonFormatter().format(record))
    context = span.get_span_context()
    assert line["trace_id"] == format(context.trace_id, "032x")
    assert line["span_id"] == format(context.span_id, "016x")
    assert "trace_id" not in json.loads(JsonFormatter().format(record))
