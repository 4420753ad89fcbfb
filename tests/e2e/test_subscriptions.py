"""Subscriptions over graphql-transport-ws against a real ``integra up``: a KPI breach reaches a
subscriber as the risks it escalated, a reconnecting subscriber resumes from its cursor, and
only a credential opens a connection."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
import websockets
from websockets.asyncio.client import ClientConnection

from tests.conftest import TEST_JWT_SECRET, bearer, signed_jwt
from tests.e2e.processes import admin_headers, graphql, integra_up

pytestmark = pytest.mark.slow

RISK_EVENTS = """subscription($shop: ID!, $after: String) {
  riskEvents(shopId: $shop, after: $after) { cursor kind actor { clientId } risk { id category } }
}"""
SHOP_CHANGED = """subscription($shop: ID!) {
  shopChanged(id: $shop) { cursor service entity kind version }
}"""
CREATE_SHOP = "mutation($n: String!) { createShop(input: {name: $n}) { id } }"
CREATE_RISK = """mutation($s: ID!) { createRisk(input: {shopId: $s, category: "DATA_QUALITY",
  title: "Feeds", owner: "Olga", inherent: {likelihood: 2}}) { id } }"""
RECORD = """mutation($s: ID!) { recordMeasurement(input: {shopId: $s, kpiCode: "sla_compliance",
  periodStart: "2026-11-01T00:00:00Z", periodEnd: "2026-11-02T00:00:00Z",
  inputs: [{name: "within_sla", value: 90}, {name: "total", value: 100}]}) { id } }"""


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    """One ``integra up`` for the module: three connections per client at most, credentials
    checked again every half second, the tests' JWTs accepted."""
    workdir = tmp_path_factory.mktemp("live")
    env = {
        "INTEGRA_LIVE_CONNECTIONS_PER_CLIENT": "3",
        "INTEGRA_LIVE_RECHECK_SECONDS": "0.5",
        "INTEGRA_JWT_SECRET": TEST_JWT_SECRET,
    }
    with integra_up(workdir, **env) as (base, data_dir):
        yield base, admin_headers(data_dir)


@asynccontextmanager
async def connected(base: str, init: dict[str, Any]) -> AsyncIterator[ClientConnection]:
    url = base.replace("http://", "ws://") + "/graphql"
    async with websockets.connect(url, subprotocols=["graphql-transport-ws"]) as socket:  # type: ignore[list-item]
        await socket.send(json.dumps({"type": "connection_init", "payload": init}))
        yield socket


async def subscribe(socket: ClientConnection, query: str, variables: dict[str, Any]) -> None:
    ack = json.loads(await asyncio.wait_for(socket.recv(), 5))
    assert ack["type"] == "connection_ack", ack
    message = {"id": "1", "type": "subscribe", "payload": {"query": query, "variables": variables}}
    await socket.send(json.dumps(message))


async def next_event(socket: ClientConnection) -> Any:
    message = json.loads(await asyncio.wait_for(socket.recv(), 5))
    assert message["type"] == "next", message
    assert "errors" not in message["payload"], message
    return message["payload"]["data"]


def shop(base: str, headers: dict[str, str], name: str) -> str:
    created: Any = graphql(base, CREATE_SHOP, {"n": name}, headers)
    return str(created["createShop"]["id"])


async def test_a_breach_reaches_a_subscriber_as_the_risks_it_escalated(
    stack: tuple[str, dict[str, str]],
) -> None:
    base, headers = stack
    shop_id = shop(base, headers, "Live breach")
    async with connected(base, headers) as socket:
        await subscribe(socket, RISK_EVENTS, {"shop": shop_id})
        await asyncio.sleep(1.0)  # the subscription reads from now on, once it started
        started = asyncio.get_running_loop().time()
        await asyncio.to_thread(graphql, base, RECORD, {"s": shop_id}, headers)
        events = [(await next_event(socket))["riskEvents"] for _ in range(2)]
        assert asyncio.get_running_loop().time() - started < 2.0
    assert {e["kind"] for e in events} == {"ESCALATED"}
    assert {e["risk"]["category"] for e in events} == {"PERFORMANCE_UX", "VENDOR_RELIABILITY"}
    assert {e["actor"]["clientId"] for e in events} == {"service:kpi"}


async def test_a_subscriber_that_reconnects_with_its_cursor_misses_nothing(
    stack: tuple[str, dict[str, str]],
) -> None:
    base, headers = stack
    shop_id = shop(base, headers, "Live resume")
    async with connected(base, headers) as socket:
        await subscribe(socket, RISK_EVENTS, {"shop": shop_id})
        await asyncio.sleep(1.0)
        await asyncio.to_thread(graphql, base, CREATE_RISK, {"s": shop_id}, headers)
        first = (await next_event(socket))["riskEvents"]
    missed: Any = await asyncio.to_thread(graphql, base, CREATE_RISK, {"s": shop_id}, headers)
    async with connected(base, headers) as socket:
        await subscribe(socket, RISK_EVENTS, {"shop": shop_id, "after": first["cursor"]})
        again = (await next_event(socket))["riskEvents"]
    assert again["kind"] == "CREATED"
    assert again["risk"]["id"] == missed["createRisk"]["id"] != first["risk"]["id"]


async def test_a_shop_subscription_hears_every_service(
    stack: tuple[str, dict[str, str]],
) -> None:
    base, headers = stack
    shop_id = shop(base, headers, "Live shop")
    async with connected(base, headers) as socket:
        await subscribe(socket, SHOP_CHANGED, {"shop": shop_id})
        await asyncio.sleep(1.0)
        rename = 'mutation($s: ID!) { updateShop(id: $s, input: {name: "Renamed"}) { id } }'
        await asyncio.to_thread(graphql, base, rename, {"s": shop_id}, headers)
        await asyncio.to_thread(graphql, base, CREATE_RISK, {"s": shop_id}, headers)
        events = [(await next_event(socket))["shopChanged"] for _ in range(2)]
    # Each feed is in order; two feeds are not in order with each other.
    assert sorted((e["service"], e["entity"], e["kind"], e["version"]) for e in events) == [
        ("risk", "risk", "CREATED", 1),
        ("scoring", "shop", "CHANGED", 2),
    ]
    assert {part.split(":")[0] for part in events[-1]["cursor"].split(",")} == {
        "scoring", "risk", "kpi"
    }  # fmt: skip


async def rejected(socket: ClientConnection) -> int:
    """The close code of a connection the gateway refuses after ``connection_init``."""
    with pytest.raises(websockets.ConnectionClosed) as closed:
        await asyncio.wait_for(socket.recv(), 5)
    assert closed.value.rcvd is not None
    return closed.value.rcvd.code


async def acked(socket: ClientConnection) -> bool:
    try:
        message = json.loads(await asyncio.wait_for(socket.recv(), 5))
    except websockets.ConnectionClosed:
        return False
    return bool(message["type"] == "connection_ack")


async def test_only_a_credential_opens_a_connection_and_a_client_holds_three(
    stack: tuple[str, dict[str, str]],
) -> None:
    base, headers = stack
    for init in ({}, {"Authorization": "Bearer ik_nope_nope"}):
        async with connected(base, init) as socket:
            assert await rejected(socket) == 4403
    create = 'mutation { createApiKey(name: "live", role: VIEWER) { secret } }'
    key: Any = await asyncio.to_thread(graphql, base, create, None, headers)
    viewer = {"Authorization": f"Bearer {key['createApiKey']['secret']}"}  # a client of its own
    async with (
        connected(base, viewer) as one,
        connected(base, viewer) as two,
        connected(base, viewer) as three,
    ):
        for socket in (one, two, three):
            assert await acked(socket)
        async with connected(base, viewer) as fourth:
            assert await rejected(fourth) == 4403
    for _ in range(50):  # the three closed: room again, once the gateway saw them close
        async with connected(base, viewer) as again:
            if await acked(again):
                return
        await asyncio.sleep(0.05)
    raise AssertionError("a closed connection still counts against its client")


def test_a_subscription_as_a_plain_request_is_refused_with_a_clear_error(
    stack: tuple[str, dict[str, str]],
) -> None:
    base, headers = stack
    answer = httpx.post(
        f"{base}/graphql",
        json={"query": SHOP_CHANGED, "variables": {"shop": "a" * 24}},
        headers=headers,
        timeout=30,
    ).json()
    assert answer["data"] is None
    [error] = answer["errors"]
    assert error["extensions"] == {"code": "VALIDATION_ERROR", "field": "operation"}
    assert "text/event-stream" in error["message"]


async def test_a_subscription_over_server_sent_events(stack: tuple[str, dict[str, str]]) -> None:
    base, headers = stack
    shop_id = shop(base, headers, "Live SSE")
    body = {"query": SHOP_CHANGED, "variables": {"shop": shop_id}}
    sse = {**headers, "Accept": "text/event-stream"}
    rename = 'mutation($s: ID!) { updateShop(id: $s, input: {name: "Streamed"}) { id } }'
    async with (
        httpx.AsyncClient(timeout=10) as client,
        client.stream("POST", f"{base}/graphql", json=body, headers=sse) as stream,
    ):
        assert stream.status_code == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        await asyncio.sleep(1.0)
        await asyncio.to_thread(graphql, base, rename, {"s": shop_id}, headers)
        data = await asyncio.wait_for(_first_data(stream.aiter_lines()), 5)
        anonymous = await client.post(
            f"{base}/graphql", json=body, headers={"Accept": "text/event-stream"}
        )
    assert data["data"]["shopChanged"]["kind"] == "CHANGED"
    assert data["data"]["shopChanged"]["version"] == 2
    assert anonymous.status_code == 401


async def _first_data(lines: AsyncIterator[str]) -> Any:
    async for line in lines:
        if line.startswith("data:"):
            return json.loads(line.removeprefix("data:").strip())
    raise AssertionError("the stream ended without an event")


async def test_measurements_arrive_with_their_status_and_the_platform_alerts(
    stack: tuple[str, dict[str, str]],
) -> None:
    base, headers = stack
    shop_id = shop(base, headers, "Live KPIs")
    measurements = """subscription($s: ID!) { kpiMeasurements(shopId: $s, codes: ["sla_compliance"])
      { kind measurement { kpiCode value } latest { status value } } }"""
    platform = "subscription { platformAlerts { kind risk { shopId category } kpi { kpiCode } } }"
    async with connected(base, headers) as kpis, connected(base, headers) as alerts:
        await subscribe(kpis, measurements, {"s": shop_id})
        await subscribe(alerts, platform, {})
        await asyncio.sleep(1.0)
        await asyncio.to_thread(graphql, base, RECORD, {"s": shop_id}, headers)
        await asyncio.to_thread(graphql, base, CREATE_RISK, {"s": "platform"}, headers)
        measured = (await next_event(kpis))["kpiMeasurements"]
        alert = (await next_event(alerts))["platformAlerts"]
        while alert["risk"] is None:  # the platform recorder measured its own KPIs meanwhile
            assert alert["kpi"]["kpiCode"] in {
                "system_response_time",
                "sla_compliance",
                "process_errors",
            }
            alert = (await next_event(alerts))["platformAlerts"]
    assert measured == {
        "kind": "RECORDED",
        "measurement": {"kpiCode": "sla_compliance", "value": 90.0},
        "latest": {"status": "MISSED", "value": 90.0},
    }
    assert alert == {
        "kind": "CREATED", "risk": {"shopId": "platform", "category": "DATA_QUALITY"}, "kpi": None
    }  # fmt: skip


async def test_a_connection_closes_when_its_credential_expires_or_is_revoked(
    stack: tuple[str, dict[str, str]],
) -> None:
    base, headers = stack
    # Expired 28 s ago: accepted for 2 s more (JWTs are checked with 30 s of leeway).
    short = bearer(signed_jwt("VIEWER", sub="short-lived", lifetime=-28))
    async with connected(base, short) as socket:
        assert await acked(socket)
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(socket.recv(), 6)  # checked again every 0.5 s
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 4403
    create = 'mutation { createApiKey(name: "revoked", role: VIEWER) { secret key { id } } }'
    key: Any = await asyncio.to_thread(graphql, base, create, None, headers)
    created = key["createApiKey"]
    async with connected(base, {"Authorization": f"Bearer {created['secret']}"}) as socket:
        assert await acked(socket)
        revoke = "mutation($id: ID!) { revokeApiKey(id: $id) { revoked } }"
        await asyncio.to_thread(graphql, base, revoke, {"id": created["key"]["id"]}, headers)
        assert await rejected(socket) == 4403


async def test_sse_streams_count_against_the_client_limit(
    stack: tuple[str, dict[str, str]],
) -> None:
    base, headers = stack
    create = 'mutation { createApiKey(name: "streams", role: VIEWER) { secret } }'
    key: Any = await asyncio.to_thread(graphql, base, create, None, headers)
    sse = {
        "Authorization": f"Bearer {key['createApiKey']['secret']}",
        "Accept": "text/event-stream",
    }
    body = {"query": SHOP_CHANGED, "variables": {"shop": "a" * 24}}
    async with httpx.AsyncClient(timeout=10) as client, contextlib.AsyncExitStack() as streams:
        for _ in range(3):
            stream = await streams.enter_async_context(
                client.stream("POST", f"{base}/graphql", json=body, headers=sse)
            )
            assert stream.status_code == 200
        fourth = await client.post(f"{base}/graphql", json=body, headers=sse)
        assert fourth.status_code == 429
        assert fourth.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
