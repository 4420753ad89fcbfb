"""Fault: the risk service process is killed mid-load and started again.

``integra serve scoring``, ``risk`` and ``gateway`` run as separate processes. Writers create
risks through GraphQL, keeping every acknowledged id, while readers ask for a shop with its
risks. The risk process is SIGKILLed: the gateway still answers the shop (scoring data) with
``risks: null`` and a SERVICE_UNAVAILABLE error at that path, and risk writes fail with that
code. Started again on the same port, the gateway answers in full again by itself (with or
without a circuit breaker: the test polls until a deadline), and every acknowledged risk is
there.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.faults.cluster import Cluster, cluster, eventually, readiness
from tests.faults.load import Load, Write, missing, running

pytestmark = pytest.mark.slow

CREATE_SHOP = "mutation($input: CreateShopInput!) { createShop(input: $input) { id } }"
CREATE_RISK = "mutation($input: CreateRiskInput!) { createRisk(input: $input) { id } }"
SHOP = "query($id: ID!) { shop(id: $id) { name version risks(limit: 1) { totalCount } } }"
WRITERS = 3


def _risk_writes(stack: Cluster, shop_id: str) -> Write:
    graphql = f"{stack.url('gateway')}/graphql"

    async def write(load: Load, client: httpx.AsyncClient, writer: int, iteration: int) -> None:
        risk = {
            "shopId": shop_id,
            "category": "PERFORMANCE_UX",
            "title": f"risk {writer}-{iteration}",
            "owner": "load",
            "inherent": {"likelihood": 2},
            "changedBy": "load",
        }
        answer = await load.graphql(
            client, "risk", graphql, CREATE_RISK, {"input": risk}, stack.headers()
        )
        if answer is not None:
            load.ack("risk", answer["createRisk"]["id"])

    return write


async def _shop(stack: Cluster, client: httpx.AsyncClient, shop_id: str) -> dict[str, Any]:
    response = await client.post(
        f"{stack.url('gateway')}/graphql",
        json={"query": SHOP, "variables": {"id": shop_id}},
        headers=stack.headers(),
    )
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def _partial(
    stack: Cluster, client: httpx.AsyncClient, shop_id: str
) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        answer = await _shop(stack, client, shop_id)
        errors = answer.get("errors") or []
        return (
            answer["data"]["shop"] is not None
            and answer["data"]["shop"]["name"] == "Fault Shop"
            and answer["data"]["shop"]["risks"] is None
            and [e["path"] for e in errors] == [["shop", "risks"]]
            and errors[0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"
        )

    return check


def _complete(
    stack: Cluster, client: httpx.AsyncClient, shop_id: str
) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        answer = await _shop(stack, client, shop_id)
        return not answer.get("errors") and answer["data"]["shop"]["risks"] is not None

    return check


async def test_risk_killed_mid_load_gives_partial_answers_then_recovers(
    mongo_uri: str, tmp_path: Path
) -> None:
    with cluster(tmp_path, mongo_uri, ("scoring", "risk", "gateway")) as stack:
        async with httpx.AsyncClient(timeout=30, headers=stack.service_headers()) as client:
            await eventually(
                readiness(client, [stack.url("scoring"), stack.url("risk")], True), 30, "ready"
            )
            created = await client.post(
                f"{stack.url('gateway')}/graphql",
                json={"query": CREATE_SHOP, "variables": {"input": {"name": "Fault Shop"}}},
                headers=stack.headers(),
            )
            shop_id = created.json()["data"]["createShop"]["id"]

            async with running(_risk_writes(stack, shop_id), writers=WRITERS) as load:
                await eventually(_acked(load, 10), 30, "risks acknowledged")
                await asyncio.to_thread(stack.kill, "risk")
                await eventually(_partial(stack, client, shop_id), 20, "a partial answer")
                failed_before = len(load.failures)
                await eventually(_failures(load, failed_before + 5), 20, "risk writes failing")

                await asyncio.to_thread(stack.start, "risk")
                await eventually(_complete(stack, client, shop_id), 30, "full answers")
                after = load.count("risk")
                await eventually(_acked(load, after + 10), 30, "risk writes again")

            assert load.failure_codes() == {"SERVICE_UNAVAILABLE"}, load.failure_codes()
            acked = load.acked["risk"]
            assert await missing(client, f"{stack.url('risk')}/risks", acked) == []
            answer = await _shop(stack, client, shop_id)
            # A write in flight at the kill may be committed without its answer reaching the
            # client: at most one per writer exists beyond the acknowledged ones.
            stored = answer["data"]["shop"]["risks"]["totalCount"]
            assert len(acked) <= stored <= len(acked) + WRITERS, (stored, len(acked))
            print(
                f"risk killed: {len(acked)} risks acknowledged, {len(load.failures)} failed "
                "(SERVICE_UNAVAILABLE), partial answers while down, 0 acknowledged writes lost"
            )


def _acked(load: Load, count: int) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return load.count("risk") >= count

    return check


def _failures(load: Load, count: int) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return len(load.failures) >= count

    return check
