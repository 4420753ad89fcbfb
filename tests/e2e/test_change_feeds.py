"""Every service's ``GET /changes`` in the one-process stack: what each write publishes, who
may read it, the long poll, an expired cursor."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from services.runtime.settings import IntegraSettings
from tests.conftest import stack_client


async def changes(http: httpx.AsyncClient, service: str, **params: Any) -> dict[str, Any]:
    answer = await http.get(f"/{service}/changes", params=params)
    assert answer.status_code == 200, answer.text
    page: dict[str, Any] = answer.json()
    return page


async def wait_for(http: httpx.AsyncClient, service: str, kind: str) -> list[dict[str, Any]]:
    """The changes of ``service`` once one of ``kind`` is among them (within 10 s)."""
    for _ in range(100):
        items: list[dict[str, Any]] = (await changes(http, service))["items"]
        if any(item["kind"] == kind for item in items):
            return items
        await asyncio.sleep(0.1)
    raise AssertionError(f"no {kind} change in {service}")


async def test_writes_of_a_shop_are_published_in_order_with_their_actor(
    http: httpx.AsyncClient,
) -> None:
    created = (await http.post("/scoring/shops", json={"name": "Feed shop"})).json()
    shop_id = created["id"]
    renamed = await http.patch(f"/scoring/shops/{shop_id}", json={"name": "Feed shop 2"})
    assert renamed.status_code == 200, renamed.text
    refused = await http.patch(f"/scoring/shops/{shop_id}", json={"name": ""})
    assert refused.status_code == 422  # refused: no change
    assert (await http.delete(f"/scoring/shops/{shop_id}")).status_code == 200

    page = await changes(http, "scoring")
    shop_changes = [(c["entity"], c["entityId"], c["kind"], c["version"]) for c in page["items"]]
    assert shop_changes == [
        ("shop", shop_id, "CREATED", 1),
        ("shop", shop_id, "CHANGED", 2),
        ("shop", shop_id, "DELETED", None),
    ]
    first = page["items"][0]
    assert (first["shopId"], first["service"]) == (shop_id, "scoring")
    assert first["actor"] == {
        "clientId": "jwt:test-admin", "name": "test-admin", "role": "ADMIN", "kind": "jwt"
    }  # fmt: skip
    assert page["cursor"] == page["items"][-1]["cursor"]
    # The deletion reaches risk and kpi, which publish that they forgot the shop.
    for service in ("risk", "kpi"):
        purged = await wait_for(http, service, "PURGED")
        assert [c["entityId"] for c in purged if c["kind"] == "PURGED"] == [shop_id]
        assert purged[-1]["actor"]["kind"] == "service"


async def test_a_breach_publishes_the_measurement_and_the_risks_it_escalated(
    http: httpx.AsyncClient,
) -> None:
    shop_id = "b" * 24
    recorded = await http.post(
        "/kpi/measurements",
        json={
            "shopId": shop_id,
            "kpiCode": "sla_compliance",
            "periodStart": "2026-11-01T00:00:00Z",
            "periodEnd": "2026-11-02T00:00:00Z",
            "inputs": {"within_sla": 90, "total": 100},
        },
    )
    assert recorded.status_code == 201, recorded.text
    [measurement] = (await changes(http, "kpi"))["items"]
    assert (measurement["entity"], measurement["kind"]) == ("measurement", "RECORDED")
    assert (measurement["entityId"], measurement["shopId"]) == (recorded.json()["id"], shop_id)

    escalated = await wait_for(http, "risk", "ESCALATED")
    assert {c["entity"] for c in escalated} == {"risk"}
    assert {c["shopId"] for c in escalated} == {shop_id}
    assert len(escalated) == 2  # PERFORMANCE_UX and VENDOR_RELIABILITY risks, created
    assert {c["actor"]["clientId"] for c in escalated} == {"service:kpi"}


async def test_a_long_poll_answers_when_the_next_change_is_written(
    http: httpx.AsyncClient,
) -> None:
    start = await changes(http, "risk", after="latest")
    assert start["items"] == []
    poll = asyncio.create_task(
        http.get("/risk/changes", params={"after": start["cursor"], "wait": 10})
    )
    await asyncio.sleep(0.3)
    assert not poll.done()
    body = {
        "shopId": "c" * 24, "title": "Feed risk", "category": "DATA_QUALITY", "owner": "Olga",
        "inherent": {"likelihood": 2, "impact": 3},
    }  # fmt: skip
    created = await http.post("/risk/risks", json=body)
    assert created.status_code == 201, created.text
    answer = await asyncio.wait_for(poll, 5)
    [change] = answer.json()["items"]
    assert (change["entityId"], change["kind"]) == (created.json()["id"], "CREATED")


async def test_reading_a_feed_needs_a_credential_and_a_valid_cursor(
    http: httpx.AsyncClient, viewer: dict[str, str]
) -> None:
    for service in ("scoring", "risk", "kpi"):
        anonymous = await http.get(f"/{service}/changes", headers={"Authorization": ""})
        assert anonymous.status_code == 401
        assert (await http.get(f"/{service}/changes", headers=viewer)).status_code == 200
    bad = await http.get("/risk/changes", params={"after": "1;drop"})
    assert bad.status_code == 422
    assert bad.json()["error"]["field"] == "after"
    future = await http.get("/risk/changes", params={"after": "999999"})
    assert future.status_code == 410
    assert future.json()["error"]["code"] == "CURSOR_EXPIRED"


async def test_a_cursor_older_than_the_retention_is_expired(
    settings: IntegraSettings, admin: dict[str, str]
) -> None:
    short = settings.model_copy(update={"change_retention_hours": 1e-7})  # 0.36 ms
    async with stack_client(short, admin) as http:
        for name in ("one", "two", "three"):
            assert (await http.post("/scoring/shops", json={"name": name})).status_code == 201
        await asyncio.sleep(1.5)  # a sweep (every second) deletes all but the newest
        expired = await http.get("/scoring/changes", params={"after": "1"})
        assert expired.status_code == 410, expired.text
        assert "read the current state again" in expired.json()["error"]["message"]
        assert (await changes(http, "scoring", after="2"))["cursor"] == "3"
