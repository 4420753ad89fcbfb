"""A real Prometheus scrapes a real ``integra up`` and evaluates the project's rules.

The stack runs as the user runs it (``integra up``, embedded database, free port); Prometheus
(Debian's ``prometheus`` binary) runs on loopback with the scrape config of
``deploy/prometheus/prometheus.yml`` pointed at the stack, a 1 s scrape and evaluation
interval, and the project's rule files. The test sends known traffic — fast requests to every
service, GraphQL operations, 404s, and requests slower than the 0.5 s SLA (their bodies are
uploaded slowly, as a slow client does) — and checks through Prometheus' HTTP API that every
target is up and that the request-rate, error-ratio and SLA-compliance recording rules agree
with the requests the stack itself counted.

Prometheus' ``rate()`` only sees increases between samples, so every series is created by
warm-up traffic before Prometheus starts and is first scraped before the measured traffic;
the expectation is the increase of the stack's own histogram over the measured traffic.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from services.kpi.platform import PrometheusReader, platform_window
from services.runtime.metrics import LATENCY_BUCKETS
from tests.deploy.prometheus_server import PrometheusServer, eventually, scrape_config
from tests.e2e.processes import admin_headers, integra_up

pytestmark = pytest.mark.slow

SLA_SECONDS = 0.5
PROBE_ROUTES = frozenset({"/metrics", "/healthz", "/readyz"})
SERIES_LABELS = ("service", "http_request_method", "http_route", "http_response_status_code")
SERVICES = ("scoring", "risk", "kpi", "gateway")
ROUNDS = 12
SLOW_REQUESTS = 4
SLOW_CLIENT_PAUSE = 0.8  # seconds between the two halves of a slow upload: above the SLA
MISSING_SHOP = "0123456789abcdef01234567"
PROFIT_INPUT = {
    "reach": 10000, "c1": 0.05, "c": 0.2, "churn": 20, "pu": 50, "d": 2, "q1": 3, "rt": 0.5,
    "capex": 1000, "h": 5000, "cogs": 10000, "cac": 2000, "crc": 500,
}  # fmt: skip
SHOPS_QUERY = "{ shops(limit: 3) { totalCount } }"
TOLERANCE = 1e-6
"""Allowed gap between a rule's ratio and the stack's (floating point only, see the test)."""


# ------------------------------------------------------------------------- the stack's side


def api_headers(data_dir: Path) -> dict[str, str]:
    """Headers of every API request: the local ADMIN API key ``integra up`` wrote.

    The one place to change if the stack's authentication changes.
    """
    return admin_headers(data_dir)


@dataclass(frozen=True)
class Stack:
    """A running ``integra up``: base URL and the headers its API wants."""

    base: str
    headers: dict[str, str]

    def get(self, path: str) -> httpx.Response:
        """GET one REST route of a service."""
        return httpx.get(f"{self.base}{path}", headers=self.headers, timeout=30)

    def post(self, path: str, body: object) -> httpx.Response:
        """POST a JSON body to one REST route of a service."""
        return httpx.post(f"{self.base}{path}", json=body, headers=self.headers, timeout=30)

    def graphql(self, query: str) -> dict[str, Any]:
        """One GraphQL operation through the gateway; its ``data`` (must have no errors)."""
        response = self.post("/graphql", {"query": query})
        assert response.status_code == 200, response.text
        answer: dict[str, Any] = response.json()
        assert not answer.get("errors"), answer
        return answer

    def slow_post(self, path: str, body: object, pause: float) -> httpx.Response:
        """POST whose body arrives in two halves ``pause`` seconds apart (a slow client)."""
        data = json.dumps(body).encode()

        def chunks() -> Iterator[bytes]:
            yield data[: len(data) // 2]
            time.sleep(pause)
            yield data[len(data) // 2 :]

        headers = {**self.headers, "Content-Type": "application/json"}
        return httpx.post(f"{self.base}{path}", content=chunks(), headers=headers, timeout=30)

    def histogram(self) -> dict[tuple[str, str, str, str], tuple[float, float]]:
        """The stack's request histogram now, probes left out: per (service,
        http_request_method, http_route, http_response_status_code) series, its count and
        its count within the SLA bucket."""
        text = httpx.get(f"{self.base}/metrics", timeout=10).text
        counts: dict[tuple[str, str, str, str], float] = {}
        within: dict[tuple[str, str, str, str], float] = {}
        for family in text_string_to_metric_families(text):
            if family.name != "http_server_request_duration_seconds":
                continue
            for sample in family.samples:
                labels = sample.labels
                if labels["http_route"] in PROBE_ROUTES:
                    continue
                key = _series_key(labels)
                if sample.name.endswith("_count"):
                    counts[key] = sample.value
                elif sample.name.endswith("_bucket") and float(labels["le"]) == SLA_SECONDS:
                    within[key] = sample.value
        return {key: (count, within.get(key, 0.0)) for key, count in counts.items()}


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    """``integra up`` on a free port with its own data directory."""
    with integra_up(tmp_path) as (base, data_dir):
        yield Stack(base, api_headers(data_dir))


def drive_fast_traffic(stack: Stack, rounds: int) -> None:
    """``rounds`` times: each service's REST API, a 404, a GraphQL operation (which also
    calls scoring through the gateway), a profit computation."""
    for _ in range(rounds):
        assert stack.get("/scoring/shops").status_code == 200
        assert stack.get(f"/scoring/shops/{MISSING_SHOP}").status_code == 404
        assert stack.get("/risk/catalogue").status_code == 200
        assert stack.get("/kpi/catalogue").status_code == 200
        assert stack.post("/kpi/profit", PROFIT_INPUT).status_code == 200
        assert stack.graphql(SHOPS_QUERY)["data"]["shops"]["totalCount"] >= 0


def drive_slow_traffic(stack: Stack, requests: int) -> None:
    """``requests`` profit computations uploaded slower than the SLA, concurrently."""
    with ThreadPoolExecutor(max_workers=requests) as pool:
        answers = list(
            pool.map(
                lambda _: stack.slow_post("/kpi/profit", PROFIT_INPUT, SLOW_CLIENT_PAUSE),
                range(requests),
            )
        )
    assert all(answer.status_code == 200 for answer in answers), [a.text for a in answers]


# --------------------------------------------------------------------- Prometheus' side


def scraped_counts(prometheus: PrometheusServer) -> dict[tuple[str, str, str, str], float]:
    """The latest scraped count of each non-probe request series."""
    samples = prometheus.query(
        'http_server_request_duration_seconds_count{http_route!~"/metrics|/healthz|/readyz"}'
    )
    return {_series_key(s["metric"]): float(s["value"][1]) for s in samples}


def _series_key(labels: dict[str, str]) -> tuple[str, str, str, str]:
    service, method, route, status = (labels[name] for name in SERIES_LABELS)
    return service, method, route, status


def assert_sloth_error_ratios(
    prometheus: PrometheusServer, expected: dict[str, tuple[float, float, float]]
) -> None:
    """The Sloth-shaped ``slo:sli_error:ratio_rate5m`` (integra-slo.yml), by ``sloth_id``,
    is each service's 5xx ratio (availability) and ratio not fast and not 5xx (latency) of
    ``expected`` (requests, errors, fast). The SLO group evaluates apart from the SLI group
    it reads, so it may lag one evaluation: read until it agrees, for up to 10 s."""
    wanted = {f"{service}-availability": e[1] / e[0] for service, e in expected.items()}
    wanted |= {f"{service}-latency": 1 - e[2] / e[0] for service, e in expected.items()}
    deadline = time.monotonic() + 10
    while True:
        ratios = prometheus.values('slo:sli_error:ratio_rate5m{sloth_window="5m"}', "sloth_id")
        close = all(abs(ratios.get(k, -1.0) - v) <= TOLERANCE for k, v in wanted.items())
        if close or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert {k: ratios.get(k) for k in wanted} == pytest.approx(wanted, abs=TOLERANCE), ratios


def wait_until_scraped(
    prometheus: PrometheusServer, expected: dict[tuple[str, str, str, str], tuple[float, float]]
) -> None:
    """Wait until Prometheus' latest sample of every series equals the stack's count."""
    counts = {key: count for key, (count, _) in expected.items()}
    eventually(
        lambda: True if scraped_counts(prometheus) == counts else None,
        f"prometheus to scrape the stack's request counts {counts}",
    )


def wait_for_evaluation_after(prometheus: PrometheusServer, moment: float) -> None:
    """Wait until the 5m SLI rules were evaluated for every service after ``moment``."""

    def evaluated() -> bool | None:
        stamps = prometheus.values("timestamp(service:sla_compliance:ratio_rate5m)", "service")
        done = set(SERVICES) <= stamps.keys() and min(stamps.values()) > moment
        return True if done else None

    eventually(evaluated, "the SLI recording rules to be evaluated after the traffic")


def by_service(
    histogram: dict[tuple[str, str, str, str], tuple[float, float]],
) -> dict[str, tuple[float, float, float]]:
    """Per service: requests, 5xx responses, non-5xx requests within the SLA."""
    totals: dict[str, tuple[float, float, float]] = {}
    for (service, _, _, status), (count, within) in histogram.items():
        requests, errors, fast = totals.get(service, (0.0, 0.0, 0.0))
        server_error = status.startswith("5")
        totals[service] = (
            requests + count,
            errors + (count if server_error else 0.0),
            fast + (0.0 if server_error else within),
        )
    return totals


def increase(
    before: dict[tuple[str, str, str, str], tuple[float, float]],
    after: dict[tuple[str, str, str, str], tuple[float, float]],
) -> dict[tuple[str, str, str, str], tuple[float, float]]:
    """Per series, how much its count and SLA-bucket count grew."""
    return {
        key: (count - before.get(key, (0.0, 0.0))[0], within - before.get(key, (0.0, 0.0))[1])
        for key, (count, within) in after.items()
    }


# ---------------------------------------------------------------------------------- test


def test_prometheus_scrapes_the_stack_and_the_sli_rules_match_the_traffic(
    stack: Stack, tmp_path: Path
) -> None:
    assert SLA_SECONDS in LATENCY_BUCKETS
    # Warm-up: every series the measured traffic touches exists, with about as many requests
    # as the measured traffic adds, before Prometheus starts. Its first scrape then holds the
    # same moment for every series, so rate() extrapolates all of them alike and each ratio is
    # exactly the ratio of the increases.
    drive_fast_traffic(stack, rounds=ROUNDS)
    drive_slow_traffic(stack, requests=SLOW_REQUESTS)
    before = stack.histogram()
    target = stack.base.removeprefix("http://")
    prometheus = PrometheusServer(scrape_config(target), tmp_path / "prometheus")
    try:
        prometheus.wait_ready()
        wait_until_scraped(prometheus, before)
        platform_before = asyncio.run(PrometheusReader(prometheus.url).read())

        drive_fast_traffic(stack, rounds=ROUNDS)
        drive_slow_traffic(stack, requests=SLOW_REQUESTS)
        after = stack.histogram()
        wait_until_scraped(prometheus, after)
        platform_after = asyncio.run(PrometheusReader(prometheus.url).read())
        wait_for_evaluation_after(prometheus, time.time())

        # Every target of every Integra job is scraped successfully.
        up = prometheus.query('up{job=~"integra.*"}')
        assert up, "no Integra target is scraped"
        assert all(float(sample["value"][1]) == 1 for sample in up), up
        targets = prometheus.targets()
        assert targets
        assert all(t["health"] == "up" for t in targets), targets

        # The stack counted exactly the traffic sent.
        sent = increase(before, after)
        missing_shop = ("scoring", "GET", "/shops/{shop_id}", "404")
        assert sent[missing_shop][0] == ROUNDS
        slow_and_fast = sent[("kpi", "POST", "/profit", "200")]
        assert slow_and_fast[0] == ROUNDS + SLOW_REQUESTS
        assert slow_and_fast[1] <= ROUNDS, "the slow uploads were not slower than the SLA"
        graphql = sent[("gateway", "POST", "/graphql", "200")]
        assert graphql[0] == ROUNDS
        expected = by_service(sent)
        assert set(SERVICES) <= expected.keys()

        # Prometheus scraped the same 404s, and the rules agree with the traffic per service.
        not_found = prometheus.values(
            'http_server_request_duration_seconds_count{service="scoring",'
            'http_response_status_code="404"}',
            "http_route",
        )
        assert not_found == {"/shops/{shop_id}": after[missing_shop][0]}
        rates = prometheus.values("service:http_requests:rate5m", "service")
        error_ratios = prometheus.values("service:http_request_errors:ratio_rate5m", "service")
        compliance = prometheus.values("service:sla_compliance:ratio_rate5m", "service")
        # Every series shares the scrape times, so each service's rate is its request count
        # over the same (extrapolated) window.
        window = {service: expected[service][0] / rates[service] for service in SERVICES}
        assert window["scoring"] > 0
        for service in SERVICES:
            requests, errors, fast = expected[service]
            assert window[service] == pytest.approx(window["scoring"], rel=TOLERANCE), window
            assert error_ratios[service] == pytest.approx(errors / requests, abs=TOLERANCE), (
                service,
                error_ratios,
                expected,
            )
            assert compliance[service] == pytest.approx(fast / requests, abs=TOLERANCE), (
                service,
                compliance,
                expected,
            )
        assert_sloth_error_ratios(prometheus, expected)  # the SLO series carry the same ratios
        # The platform KPIs read through Prometheus (INTEGRA_KPI_PLATFORM_PROMETHEUS_URL) see
        # exactly the traffic sent.
        platform = platform_window(platform_before, platform_after, SLA_SECONDS)
        assert platform is not None
        assert platform.requests == sum(e[0] for e in expected.values())
        assert platform.errors == sum(e[1] for e in expected.values())
        assert platform.within_sla == sum(e[2] for e in expected.values())
        # The slow uploads show in kpi's compliance.
        kpi_requests, _, kpi_fast = expected["kpi"]
        assert kpi_fast / kpi_requests < 0.9
        assert compliance["kpi"] < 0.9
        # 404s are client errors: they spend no availability budget.
        assert error_ratios["scoring"] == 0
    finally:
        prometheus.stop()
