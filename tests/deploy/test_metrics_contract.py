"""The metrics contract: deploy/README.md documents exactly the metrics the code exports.

A metric added to the code without a row in the table (or a row left behind for a metric
that is gone, or whose type or labels changed) fails here, with the row to write.
"""

from __future__ import annotations

from services.runtime.metrics import HTTP_REQUEST_DURATION, LATENCY_BUCKETS
from services.runtime.settings import IntegraSettings
from tests.deploy.metrics_contract import (
    DOCUMENT,
    MetricSpec,
    code_metrics,
    documented_metrics,
    exposed_name,
    source_metrics,
)


def suggested_row(spec: MetricSpec) -> str:
    labels = ", ".join(f"`{label}`" for label in sorted(spec.labels)) or "—"
    return f"| `{spec.name}` | {spec.type} | {labels} | <meaning> |   ({spec.origin})"


def test_every_exported_metric_is_documented() -> None:
    code, documented = code_metrics(), documented_metrics()
    missing = [suggested_row(code[name]) for name in sorted(code.keys() - documented.keys())]
    assert not missing, (
        f"metrics exported by the code but missing from the table of {DOCUMENT}:\n"
        + "\n".join(missing)
    )


def test_every_documented_metric_is_exported() -> None:
    code, documented = code_metrics(), documented_metrics()
    stale = sorted(documented.keys() - code.keys())
    assert not stale, f"metrics documented in {DOCUMENT} that the code does not export: {stale}"


def test_documented_types_and_labels_match_the_code() -> None:
    code, documented = code_metrics(), documented_metrics()
    wrong = [
        f"{name}: documented {documented[name].type} {sorted(documented[name].labels)}, "
        f"code {code[name].type} {sorted(code[name].labels)} ({code[name].origin})"
        for name in sorted(code.keys() & documented.keys())
        if (documented[name].type, documented[name].labels) != (code[name].type, code[name].labels)
    ]
    assert not wrong, "metrics table rows that disagree with the code:\n" + "\n".join(wrong)


def test_every_metric_in_the_source_is_served_by_the_shared_registry() -> None:
    """/metrics serves services.runtime.metrics.REGISTRY only: a metric on another registry
    (or on prometheus_client's default one) would never be scraped."""
    code = code_metrics()
    unregistered = [
        f"{spec.name} ({spec.origin})"
        for spec in source_metrics().values()
        if code[spec.name].origin != "REGISTRY"
    ]
    assert not unregistered, f"metrics not registered on the served REGISTRY: {unregistered}"


def test_the_request_histogram_has_a_bucket_at_the_sla_threshold() -> None:
    threshold = IntegraSettings.model_fields["sla_seconds"].default
    assert threshold == 0.5
    assert threshold in LATENCY_BUCKETS
    assert threshold in HTTP_REQUEST_DURATION._upper_bounds


def test_the_table_reader() -> None:
    assert exposed_name("graphql_operations", "counter") == "graphql_operations_total"
    assert exposed_name("kpi_outbox_pending_events", "gauge") == "kpi_outbox_pending_events"
    documented = documented_metrics()
    assert documented["http_server_request_duration_seconds"] == MetricSpec(
        "http_server_request_duration_seconds",
        "histogram",
        frozenset({"service", "http_request_method", "http_route", "http_response_status_code"}),
        DOCUMENT.name,
    )
