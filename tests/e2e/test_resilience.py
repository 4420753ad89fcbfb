"""A dead service, as real processes: partial answers, fail-fast, readiness and recovery.

scoring, risk, kpi and the gateway run as separate ``integra serve`` processes; the risk
process is stopped and started again while the gateway keeps serving.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.runtime.embedded import free_port
from tests.e2e.processes import IntegraProcess, graphql, split_env

pytestmark = pytest.mark.slow

SHOP = """
query Shop($id: ID!) {
  shop(id: $id) { name score { band } risks { totalCount } kpis { kpiCode } }
}
"""
CRITERIA = {"U": 90, "I": 90, "R": 90, "C": 90, "T": 90, "L": 90, "S": 90, "M": 90, "E": 0}
#: This test is about resilience, not auth: the processes run with auth explicitly off.
AUTH_OFF = {"INTEGRA_AUTH_ENABLED": "false"}


@dataclass
class Cluster:
    """The four processes of a split deployment and how to reach them."""

    tmp: Path
    env: dict[str, str]
    ports: dict[str, int]
    processes: dict[str, IntegraProcess]

    def url(self, name: str) -> str:
        """Base URL of a component."""
        return f"http://127.0.0.1:{self.ports[name]}"

    def start(self, name: str, run: int = 1) -> None:
        """Start ``integra serve <name>`` on its port and wait until it is ready."""
        env = {**self.env, "INTEGRA_PORT": str(self.ports[name])}
        if name == "risk":
            env["INTEGRA_LOG_LEVEL"] = "debug"
        process = IntegraProcess(["serve", name], env, self.tmp / f"{name}-{run}.log")
        self.processes[name] = process
        process.wait_ready(self.url(name), timeout=60)


@pytest.fixture
def cluster(mongo_uri: str, tmp_path: Path) -> Iterator[Cluster]:
    """scoring, risk, kpi and the gateway as separate processes over one MongoDB."""
    ports = {name: free_port() for name in ("scoring", "risk", "kpi", "gateway")}
    env = split_env(
        mongo_uri,
        ports,
        "res",
        INTEGRA_SERVICE_TIMEOUT_SECONDS="2",
        INTEGRA_GATEWAY_BREAKER_FAILURE_THRESHOLD="3",
        INTEGRA_GATEWAY_BREAKER_COOLDOWN_SECONDS="1",
        **AUTH_OFF,
    )
    running = Cluster(tmp_path, env, ports, {})
    try:
        for name in ("scoring", "risk", "kpi", "gateway"):
            running.start(name)
        yield running
    finally:
        for process in running.processes.values():
            process.kill()


def _query(cluster: Cluster, shop_id: str, request_id: str) -> httpx.Response:
    return httpx.post(
        f"{cluster.url('gateway')}/graphql",
        json={"query": SHOP, "variables": {"id": shop_id}},
        headers={"X-Request-ID": request_id},
        timeout=30,
    )


def _gauge(cluster: Cluster, name: str, service: str) -> float:
    for line in httpx.get(f"{cluster.url('gateway')}/metrics").text.splitlines():
        if line.startswith(f'{name}{{service="{service}"}}'):
            return float(line.split()[-1])
    raise AssertionError(f"no {name} metric")


def _breaker_state(cluster: Cluster, service: str) -> str:
    """The one state whose sample of the state set is 1 (every other state's is 0)."""
    prefix = f'gateway_circuit_breaker_state{{service="{service}",state="'
    text = httpx.get(f"{cluster.url('gateway')}/metrics").text
    samples = {
        line.removeprefix(prefix).split('"', 1)[0]: float(line.split()[-1])
        for line in text.splitlines()
        if line.startswith(prefix)
    }
    assert sorted(samples) == ["closed", "half_open", "open"], samples
    assert sorted(samples.values()) == [0.0, 0.0, 1.0], samples
    return next(state for state, value in samples.items() if value == 1)


def _risk_log_request_ids(cluster: Cluster) -> set[str]:
    ids: set[str] = set()
    for log in cluster.tmp.glob("risk-*.log"):
        for line in log.read_text().splitlines():
            if line.startswith("{"):
                record = json.loads(line)
                if record.get("request_id"):
                    ids.add(record["request_id"])
    return ids


def test_a_dead_service_costs_only_its_fields_and_the_gateway_recovers(cluster: Cluster) -> None:
    gateway = cluster.url("gateway")
    created: Any = graphql(gateway, 'mutation { createShop(input: {name: "Split"}) { id } }')
    shop_id = created["createShop"]["id"]
    graphql(
        gateway,
        "mutation($i: RecordAssessmentInput!) { recordAssessment(input: $i) { id } }",
        {"i": {"shopId": shop_id, "assessor": "ops", "criteria": CRITERIA}},
    )
    healthy = _query(cluster, shop_id, "before-outage-1")
    assert healthy.headers["x-request-id"] == "before-outage-1"
    assert healthy.json() == {
        "data": {
            "shop": {
                "name": "Split",
                "score": {"band": "EXCELLENT"},
                "risks": {"totalCount": 0},
                "kpis": [],
            }
        }
    }
    assert "before-outage-1" in _risk_log_request_ids(cluster)
    ready = httpx.get(f"{gateway}/readyz")
    assert ready.status_code == 200
    assert ready.json()["services"] == {"scoring": True, "risk": True, "kpi": True}

    assert cluster.processes["risk"].interrupt() == 0

    partial = _query(cluster, shop_id, "during-outage").json()
    assert partial["data"] is not None, partial
    assert partial["data"]["shop"] == {
        "name": "Split",
        "score": {"band": "EXCELLENT"},
        "risks": None,
        "kpis": [],
    }
    [error] = partial["errors"]
    assert error["path"] == ["shop", "risks"]
    assert error["extensions"]["code"] == "SERVICE_UNAVAILABLE"
    assert "risk" in error["message"]
    # The gateway still serves (partially): it stays ready, and names the dead service.
    degraded = httpx.get(f"{gateway}/readyz")
    assert degraded.status_code == 200
    assert degraded.json()["services"] == {"scoring": True, "risk": False, "kpi": True}
    assert _gauge(cluster, "gateway_service_ready", "risk") == 0

    # Each failed query costs 1 + 2 retried attempts: the breaker (threshold 3) is open now.
    assert _breaker_state(cluster, "risk") == "open"
    fast = _query(cluster, shop_id, "breaker-open").json()
    assert "circuit open" in fast["errors"][0]["message"]
    assert fast["data"]["shop"]["score"] == {"band": "EXCELLENT"}

    cluster.start("risk", run=2)
    deadline = time.monotonic() + 20
    answer = _query(cluster, shop_id, "after-restart").json()
    while answer.get("errors") and time.monotonic() < deadline:
        time.sleep(0.3)
        answer = _query(cluster, shop_id, "after-restart").json()
    assert answer == healthy.json()
    assert _breaker_state(cluster, "risk") == "closed"
    assert httpx.get(f"{gateway}/readyz").status_code == 200
