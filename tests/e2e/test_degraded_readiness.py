"""Readiness that degrades instead of cascading, as real processes.

A dead service must not take every gateway replica out of its load balancer: the gateway stays
ready (it answers partially) and names the service in ``/readyz``'s body, in the gauge
``gateway_service_ready`` and in ``platform { services }``. ``integra up``'s readiness still
follows its database.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.runtime.embedded import free_port
from tests.conftest import TEST_JWT_SECRET, bearer, signed_jwt
from tests.e2e.processes import IntegraProcess, graphql, integra_up, split_env

pytestmark = pytest.mark.slow

COMPONENTS = ("scoring", "risk", "kpi", "gateway")
ADMIN = bearer(signed_jwt("ADMIN", sub="degraded-readiness"))
SHOP = "query($id: ID!) { shop(id: $id) { name risks { totalCount } } }"
SERVICES = "{ platform { services { name ready } } }"


@pytest.fixture
def split(mongo_uri: str, tmp_path: Path) -> Iterator[dict[str, tuple[str, IntegraProcess]]]:
    """Each component as its own ``integra serve`` process over one database."""
    ports = {name: free_port() for name in COMPONENTS}
    env = split_env(
        mongo_uri,
        ports,
        "deg",
        INTEGRA_JWT_SECRET=TEST_JWT_SECRET,
        INTEGRA_SERVICE_TIMEOUT_SECONDS="2",
        INTEGRA_KPI_PLATFORM_RECORDER="false",
    )
    running: dict[str, tuple[str, IntegraProcess]] = {}
    try:
        for name in COMPONENTS:
            base = f"http://127.0.0.1:{ports[name]}"
            process = IntegraProcess(
                ["serve", name], {**env, "INTEGRA_PORT": str(ports[name])}, tmp_path / f"{name}.log"
            )
            running[name] = (base, process)
            process.wait_ready(base)
        yield running
    finally:
        for _, process in running.values():
            process.kill()


def _gauge(base: str, service: str) -> float:
    for line in httpx.get(f"{base}/metrics").text.splitlines():
        if line.startswith(f'gateway_service_ready{{service="{service}"}}'):
            return float(line.split()[-1])
    raise AssertionError(f"no gateway_service_ready for {service}")


def test_a_dead_service_leaves_the_gateway_ready_and_named(
    split: dict[str, tuple[str, IntegraProcess]],
) -> None:
    gateway, _ = split["gateway"]
    created: Any = graphql(
        gateway, 'mutation { createShop(input: {name: "Degraded"}) { id } }', headers=ADMIN
    )
    shop_id = created["createShop"]["id"]
    assert split["risk"][1].interrupt() == 0

    ready = httpx.get(f"{gateway}/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json() == {
        "status": "ready",
        "checks": {"database": True},
        "services": {"scoring": True, "risk": False, "kpi": True},
    }
    assert _gauge(gateway, "risk") == 0
    assert _gauge(gateway, "scoring") == 1
    assert httpx.get(f"{gateway}/healthz").json() == {"status": "ok"}

    answer = httpx.post(
        f"{gateway}/graphql",
        json={"query": SHOP, "variables": {"id": shop_id}},
        headers=ADMIN,
        timeout=30,
    ).json()
    assert answer["data"] == {"shop": {"name": "Degraded", "risks": None}}, answer
    [error] = answer["errors"]
    assert error["path"] == ["shop", "risks"]
    assert error["extensions"]["code"] == "SERVICE_UNAVAILABLE"

    platform: Any = graphql(gateway, SERVICES, headers=ADMIN)
    assert {s["name"]: s["ready"] for s in platform["platform"]["services"]} == {
        "scoring": True,
        "risk": False,
        "kpi": True,
    }


def test_up_readiness_names_the_database_and_the_services(tmp_path: Path) -> None:
    with integra_up(tmp_path) as (base, _):
        ready = httpx.get(f"{base}/readyz")
        assert ready.status_code == 200
        assert ready.json() == {
            "status": "ready",
            "checks": {"database": True},
            "services": {"scoring": True, "risk": True, "kpi": True},
        }
