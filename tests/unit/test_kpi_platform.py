"""The platform's own KPIs (§4.6): inputs from two snapshots of the request histogram."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

import pytest
from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from pydantic import ValidationError

from services.kpi import domain, measuring
from services.kpi.app import KpiOptions, KpiSettings
from services.kpi.platform import (
    HistogramSnapshot,
    PlatformWindow,
    PrometheusReader,
    SeriesCounts,
    platform_window,
    sla_bound,
    snapshot_from_families,
)
from services.kpi.platform_recorder import PlatformRecorder
from services.runtime.app import stop_if_cancelled
from services.runtime.backoff import backoff_delay
from services.runtime.metrics import LATENCY_BUCKETS

INF = float("inf")


def series(
    count: float, seconds: float, buckets: Mapping[float, float], **labels: str
) -> tuple[tuple[tuple[str, str], ...], SeriesCounts]:
    key = tuple(sorted({"http_route": "/x", "http_response_status_code": "200", **labels}.items()))
    return key, SeriesCounts(count, seconds, {**buckets, INF: count})


def snap(
    *items: tuple[tuple[tuple[str, str], ...], SeriesCounts], instances: str = ""
) -> HistogramSnapshot:
    return HistogramSnapshot(dict(items), frozenset(instances.split(",")))


def test_inputs_over_a_window_by_hand() -> None:
    before = snap(
        series(10, 2.0, {0.25: 8, 0.5: 9, 1.0: 10}),
        series(1, 0.1, {0.25: 1, 0.5: 1, 1.0: 1}, http_response_status_code="500"),
        series(3, 3.0, {0.25: 0, 0.5: 0, 1.0: 1}, http_route="/y", http_response_status_code="404"),
    )
    after = snap(
        series(30, 7.0, {0.25: 20, 0.5: 26, 1.0: 29}),  # +20 requests, 17 within 0.5 s
        # +3 errors, fast
        series(4, 0.4, {0.25: 4, 0.5: 4, 1.0: 4}, http_response_status_code="500"),
        # +2, 2 within
        series(5, 4.0, {0.25: 1, 0.5: 2, 1.0: 3}, http_route="/y", http_response_status_code="404"),
    )
    window = platform_window(before, after, 0.5)
    assert window is not None
    assert window.total_seconds == pytest.approx(6.3)
    assert window == PlatformWindow(
        requests=25, total_seconds=window.total_seconds, errors=3, within_sla=19, sla_bound=0.5
    )
    inputs = window.inputs()
    assert inputs == {
        "system_response_time": {"total_response_seconds": pytest.approx(6.3), "requests": 25},
        "sla_compliance": {"within_sla": 19, "total": 25},
        "process_errors": {"errors": 3, "operations": 25},
    }
    values = {
        code: measuring.compute_value(domain.CATALOGUE[code], v) for code, v in inputs.items()
    }
    assert values["system_response_time"] == pytest.approx(0.252)
    assert values["sla_compliance"] == pytest.approx(76.0)
    assert values["process_errors"] == pytest.approx(120.0)


def test_no_requests_in_the_window_records_nothing() -> None:
    same = snap(series(10, 1.0, {0.5: 10}))
    assert platform_window(same, same, 0.5) is None
    assert platform_window(snap(), snap(), 0.5) is None


def test_probe_and_scrape_routes_are_not_counted() -> None:
    before = snap(series(0, 0, {0.5: 0}, http_route="/metrics"), series(0, 0, {0.5: 0}))
    after = snap(series(50, 0.5, {0.5: 50}, http_route="/metrics"), series(2, 0.2, {0.5: 2}))
    after_probes = snap(series(9, 0.1, {0.5: 9}, http_route="/healthz"), series(0, 0, {0.5: 0}))
    window = platform_window(before, after, 0.5)
    assert window is not None
    assert window.requests == 2
    assert platform_window(before, after_probes, 0.5) is None


def test_a_threshold_between_buckets_uses_the_bucket_below() -> None:
    assert sla_bound(LATENCY_BUCKETS, 0.5) == 0.5
    assert sla_bound(LATENCY_BUCKETS, 0.7) == 0.5
    assert sla_bound([0.1, 0.3, INF], 100) == 0.3
    with pytest.raises(ValueError, match="SLA threshold"):
        sla_bound(LATENCY_BUCKETS, 0.001)
    before = snap(series(0, 0, {0.25: 0, 0.5: 0, 1.0: 0}))
    after = snap(series(10, 4.0, {0.25: 2, 0.5: 6, 1.0: 10}))
    window = platform_window(before, after, 0.7)
    assert window is not None
    assert (window.sla_bound, window.within_sla) == (0.5, 6)


def test_a_series_that_restarted_counts_from_zero() -> None:
    before = snap(series(100, 50.0, {0.5: 90}))
    after = snap(series(4, 1.0, {0.5: 3}))  # the process restarted
    window = platform_window(before, after, 0.5)
    assert window is not None
    assert (window.requests, window.total_seconds, window.within_sla) == (4, 1.0, 3)


def test_new_series_count_only_for_instances_read_before() -> None:
    a, b = "http://a/metrics", "http://b/metrics"
    before = snap(series(1, 0.1, {0.5: 1}, instance=a), instances=a)
    after = snap(
        series(3, 0.3, {0.5: 3}, instance=a),
        series(2, 0.2, {0.5: 2}, instance=a, http_route="/new"),  # new route on a: counted
        series(500, 9.0, {0.5: 500}, instance=b),  # b was not read before: unknown increase
        instances=f"{a},{b}",
    )
    window = platform_window(before, after, 0.5)
    assert window is not None
    assert window.requests == 4


def test_snapshots_from_a_registry_and_from_its_exposition_agree() -> None:
    registry = CollectorRegistry()
    histogram = Histogram(
        "http_server_request_duration_seconds",
        "test",
        ["service", "http_request_method", "http_route", "http_response_status_code"],
        buckets=LATENCY_BUCKETS,
        registry=registry,
    )
    empty = snapshot_from_families(registry.collect())
    for seconds in (0.01, 0.2, 0.4, 0.7, 3.0):
        histogram.labels("kpi", "GET", "/series", "200").observe(seconds)
    histogram.labels("gateway", "POST", "/graphql", "503").observe(0.1)
    collected = snapshot_from_families(registry.collect())
    text = generate_latest(registry).decode()
    scraped = snapshot_from_families(text_string_to_metric_families(text), "http://k/metrics")
    assert len(collected.series) == 2
    assert scraped.instances == frozenset({"http://k/metrics"})
    assert {dict(k)["instance"] for k in scraped.series} == {"http://k/metrics"}
    ok = collected.series[
        (
            ("http_request_method", "GET"),
            ("http_response_status_code", "200"),
            ("http_route", "/series"),
            ("service", "kpi"),
        )
    ]
    assert ok.count == 5
    assert ok.total_seconds == pytest.approx(4.31)
    assert ok.buckets[0.5] == 3
    assert ok.buckets[INF] == 5
    window = platform_window(empty, collected, 0.5)
    assert window is not None
    assert (window.requests, window.errors, window.within_sla) == (6, 1, 3)
    from_text = platform_window(
        HistogramSnapshot({}, frozenset({"http://k/metrics"})), scraped, 0.5
    )
    assert from_text == window


def test_the_recorder_checks_its_configuration() -> None:
    def no_store() -> object:
        raise AssertionError("not used")

    class Never:
        async def read(self) -> HistogramSnapshot:
            raise AssertionError("not used")

    with pytest.raises(ValueError, match="multiple"):
        PlatformRecorder(no_store, Never(), 0.5, interval=60, window=90)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="SLA threshold"):
        PlatformRecorder(no_store, Never(), 0.001)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="positive"):
        PlatformRecorder(no_store, Never(), 0.5, interval=0)  # type: ignore[arg-type]


def test_a_late_tick_does_not_skip_a_grid_time() -> None:
    """A tick that ran past the next grid time (a busy host) must still take that grid time's
    snapshot, or the period after it has no start and its requests are never counted."""

    class Never:
        async def read(self) -> HistogramSnapshot:
            raise AssertionError("not used")

    def no_store() -> object:
        raise AssertionError("not used")

    recorder = PlatformRecorder(no_store, Never(), 0.5, interval=60, window=300)  # type: ignore[arg-type]
    minute = 60_000
    assert recorder.next_grid_time(None, 10 * minute + 5) == 11 * minute
    assert recorder.next_grid_time(11 * minute, 11 * minute + 10) == 12 * minute
    # The tick of minute 12 took 90 s: minute 13 is due at once, not skipped for minute 14.
    assert recorder.next_grid_time(12 * minute, 13 * minute + 30_000) == 13 * minute
    # After a stall longer than the window it starts again on the coming grid time.
    assert recorder.next_grid_time(12 * minute, 20 * minute + 1) == 21 * minute


# --- the outbox's retry schedule ------------------------------------------------------------------


def test_backoff_doubles_up_to_the_cap_and_jitter_only_shortens() -> None:
    delays = [backoff_delay(n, 1.0, 60.0, 0.2, 0.0) for n in range(1, 9)]
    assert delays == [1, 2, 4, 8, 16, 32, 60, 60]
    assert backoff_delay(3, 1.0, 60.0, 0.2, 0.999) == pytest.approx(4 * 0.8002)
    assert backoff_delay(10_000, 1.0, 60.0, 0.2, 0.5) == pytest.approx(54.0)
    assert backoff_delay(0, 0.5, 60.0, 0.0, 0.0) == 0.5


async def test_a_cancellation_turned_into_an_exception_still_stops_a_loop() -> None:
    """PyMongo may answer a cancelled operation with an ordinary exception."""

    async def library_call() -> None:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            raise RuntimeError("operation cancelled") from None

    async def loop() -> None:
        while True:
            try:
                await library_call()
            except Exception:
                stop_if_cancelled()
            await asyncio.sleep(10)

    task = asyncio.create_task(loop())
    await asyncio.sleep(0)
    task.cancel()
    async with asyncio.timeout(2):
        with pytest.raises(asyncio.CancelledError):
            await task


def test_the_platform_kpis_come_from_one_source_at_most() -> None:
    with pytest.raises(ValidationError, match="not both"):
        KpiSettings.model_validate(
            {
                "platform_prometheus_url": "http://prometheus:9090",
                "platform_metrics_urls": "http://scoring:8000/metrics",
            }
        )
    settings = KpiSettings.model_validate({"platform_prometheus_url": "http://prometheus:9090"})
    reader = KpiOptions.from_settings(settings).platform_reader
    assert isinstance(reader, PrometheusReader)
    assert reader.base_url == "http://prometheus:9090"
