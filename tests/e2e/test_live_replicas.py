"""Subscriptions across real processes: each service and two gateway replicas as ``integra
serve``, the gateways following the services' feeds over HTTP. A breach recorded through
replica A reaches a subscriber of replica B; a subscriber that was away resumes from its
cursor."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from services.runtime.embedded import free_port
from tests.conftest import TEST_JWT_SECRET, bearer, signed_jwt
from tests.e2e.processes import IntegraProcess, graphql, split_env
from tests.e2e.test_subscriptions import RECORD, RISK_EVENTS, connected, next_event, subscribe

pytestmark = pytest.mark.slow


@pytest.fixture
def replicas(mongo_uri: str, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """The base URLs of gateway replicas A and B over the three services."""
    ports = {name: free_port() for name in ("scoring", "risk", "kpi", "gateway", "gateway-b")}
    env = split_env(mongo_uri, ports, "live", INTEGRA_JWT_SECRET=TEST_JWT_SECRET)
    processes: list[IntegraProcess] = []
    try:
        for name, port in ports.items():
            component = name.removesuffix("-b")
            started = IntegraProcess(
                ["serve", component], {**env, "INTEGRA_PORT": str(port)}, tmp_path / f"{name}.log"
            )
            processes.append(started)
            started.wait_ready(f"http://127.0.0.1:{port}", timeout=60)
        yield f"http://127.0.0.1:{ports['gateway']}", f"http://127.0.0.1:{ports['gateway-b']}"
    finally:
        for process in processes:
            process.kill()


async def test_a_breach_through_one_replica_reaches_a_subscriber_of_another(
    replicas: tuple[str, str],
) -> None:
    a, b = replicas
    headers = bearer(signed_jwt("ANALYST", sub="live-replicas"))
    created: Any = graphql(a, 'mutation { createShop(input: {name: "Two"}) { id } }', None, headers)
    shop_id = created["createShop"]["id"]
    async with connected(b, headers) as socket:
        await subscribe(socket, RISK_EVENTS, {"shop": shop_id})
        await asyncio.sleep(1.0)  # the subscription reads from now on, once it started
        started = asyncio.get_running_loop().time()
        await asyncio.to_thread(graphql, a, RECORD, {"s": shop_id}, headers)
        first = (await next_event(socket))["riskEvents"]
        assert asyncio.get_running_loop().time() - started < 2.0
    # Away while the second escalation was written: resumed from the first one's cursor.
    async with connected(b, headers) as socket:
        await subscribe(socket, RISK_EVENTS, {"shop": shop_id, "after": first["cursor"]})
        second = (await next_event(socket))["riskEvents"]
    assert {first["risk"]["category"], second["risk"]["category"]} == {
        "PERFORMANCE_UX", "VENDOR_RELIABILITY"
    }  # fmt: skip
    assert first["kind"] == second["kind"] == "ESCALATED"
