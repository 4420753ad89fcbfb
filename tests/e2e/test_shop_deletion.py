"""``deleteShop`` reaches risk and kpi: a deleted shop leaves no risk, roadmap, measurement or
target behind, exactly once, also when a service is down at the time (issue 14, item 5).

The first test runs the one-process stack; the second runs ``integra serve`` processes, kills
the risk service, deletes a shop and starts risk again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import GraphQLClient
from tests.faults.cluster import cluster, eventually, metric, ready

DELETE_SHOP = "mutation($id: ID!) { deleteShop(id: $id) { id deleted } }"
CREATE_SHOP = "mutation($name: String!) { createShop(input: {name: $name}) { id } }"


async def _fill(client: httpx.AsyncClient, base: dict[str, str], shop: str) -> dict[str, Any]:
    """A risk, a breaching measurement (which escalates risks), a target and a roadmap stage
    of ``shop``, through the services' REST APIs; answers the measurement."""
    risk = await client.post(
        f"{base['risk']}/risks",
        json={
            "shopId": shop,
            "category": "DATA_SECURITY",
            "title": "Backups untested",
            "owner": "ops",
            "inherent": {"likelihood": 3, "impact": 4},
        },
    )
    assert risk.status_code == 201, risk.text
    stage = await client.patch(
        f"{base['risk']}/shops/{shop}/roadmap/AUDIT", json={"plannedStart": "2026-11-01"}
    )
    assert stage.status_code == 200, stage.text
    target = await client.put(
        f"{base['kpi']}/targets/{shop}/sla_compliance", json={"comparator": "GTE", "value": 99}
    )
    assert target.status_code == 200, target.text
    measurement = await client.post(
        f"{base['kpi']}/measurements",
        json={
            "shopId": shop,
            "kpiCode": "sla_compliance",
            "periodStart": "2026-11-01T00:00:00Z",
            "periodEnd": "2026-11-02T00:00:00Z",
            "inputs": {"within_sla": 90, "total": 100},
        },
    )
    assert measurement.status_code == 201, measurement.text
    body: dict[str, Any] = measurement.json()
    return body


async def _kept(client: httpx.AsyncClient, base: dict[str, str], shop: str) -> dict[str, int]:
    """How many records of ``shop`` each service still keeps."""
    risks = await client.get(f"{base['risk']}/risks", params={"shopId": shop, "limit": 100})
    measurements = await client.get(f"{base['kpi']}/measurements", params={"shopId": shop})
    targets = await client.get(f"{base['kpi']}/targets", params={"shopId": shop})
    latest = await client.get(f"{base['kpi']}/latest", params={"shopIds": [shop]})
    roadmap = await client.get(f"{base['risk']}/roadmaps", params={"shopIds": [shop]})
    planned = [s for s in roadmap.json()["items"][0]["stages"] if s.get("plannedStart") is not None]
    return {
        "risks": risks.json()["totalCount"],
        "measurements": measurements.json()["totalCount"],
        "targets": targets.json()["totalCount"],
        "latest": len(latest.json()["items"][0]["kpis"]),
        "roadmap": len(planned),
    }


def _escalated(
    client: httpx.AsyncClient, base: dict[str, str], shop: str
) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        risks = await client.get(f"{base['risk']}/risks", params={"shopId": shop, "limit": 100})
        return bool(risks.json()["totalCount"] >= 3)

    return check


async def _refused_afterwards(client: httpx.AsyncClient, base: dict[str, str], shop: str) -> None:
    """Writes for the deleted shop sent straight to a service are NOT_FOUND, and an event
    still in flight escalates nothing."""
    write = await client.put(
        f"{base['kpi']}/targets/{shop}/sla_compliance", json={"comparator": "GTE", "value": 90}
    )
    assert (write.status_code, write.json()["error"]["code"]) == (404, "NOT_FOUND"), write.text
    late = await client.post(
        f"{base['risk']}/escalations",
        json={
            "eventId": "late-event",
            "shopId": shop,
            "kpiCode": "sla_compliance",
            "value": 10,
            "measuredAt": "2026-11-03T00:00:00Z",
        },
    )
    assert late.status_code == 200, late.text
    assert (await _kept(client, base, shop))["risks"] == 0


async def test_deleting_a_shop_deletes_its_risks_roadmap_measurements_and_targets(
    gql: GraphQLClient, http: httpx.AsyncClient
) -> None:
    base = {"risk": "/risk", "kpi": "/kpi"}
    shop = (await gql.data(CREATE_SHOP, {"name": "Doomed"}))["createShop"]["id"]
    other = (await gql.data(CREATE_SHOP, {"name": "Spared"}))["createShop"]["id"]
    for scope in (shop, other):
        await _fill(http, base, scope)
        await eventually(_escalated(http, base, scope), 30, "the breach escalated")
    before = await _kept(http, base, other)
    assert before == {"risks": 3, "measurements": 1, "targets": 1, "latest": 1, "roadmap": 1}

    deleted = await gql.data(DELETE_SHOP, {"id": shop})
    assert deleted == {"deleteShop": {"id": shop, "deleted": True}}

    async def purged() -> bool:
        return set((await _kept(http, base, shop)).values()) == {0}

    await eventually(purged, 30, "the shop's records deleted in risk and kpi")
    assert await _kept(http, base, other) == before  # the other shop keeps everything
    await _refused_afterwards(http, base, shop)
    gone = await gql.data("query($id: ID!) { shop(id: $id) { id } }", {"id": shop})
    assert gone == {"shop": None}


@pytest.mark.slow
async def test_a_deletion_made_while_risk_is_down_reaches_it_when_it_returns(
    mongo_uri: str, tmp_path: Path
) -> None:
    fast = {
        "INTEGRA_SCORING_DELETION_POLL_SECONDS": "0.2",
        "INTEGRA_SCORING_DELETION_BACKOFF_CAP_SECONDS": "1",
        "INTEGRA_KPI_OUTBOX_POLL_SECONDS": "0.2",
        "INTEGRA_KPI_PLATFORM_RECORDER": "false",
    }
    with cluster(tmp_path, mongo_uri, ("scoring", "risk", "kpi"), **fast) as running:
        base = {name: running.url(name) for name in ("scoring", "risk", "kpi")}
        async with httpx.AsyncClient(timeout=10, headers=running.service_headers()) as client:
            await eventually(lambda: ready(client, base["kpi"]), 30, "kpi ready")
            created = await client.post(f"{base['scoring']}/shops", json={"name": "Doomed"})
            shop = created.json()["id"]
            await _fill(client, base, shop)
            await eventually(_escalated(client, base, shop), 30, "the breach escalated")

            running.kill("risk")
            answer = await client.delete(f"{base['scoring']}/shops/{shop}")
            assert answer.status_code == 200, answer.text

            async def kpi_purged_risk_failed() -> bool:
                text = (await client.get(f"{base['scoring']}/metrics")).text
                delivered = metric(
                    text,
                    "scoring_shop_deletion_deliveries_total",
                    'outcome="delivered",receiver="kpi"',
                )
                failed = metric(
                    text,
                    "scoring_shop_deletion_deliveries_total",
                    'outcome="unreachable",receiver="risk"',
                )
                return delivered == 1 and failed > 0

            await eventually(kpi_purged_risk_failed, 30, "kpi purged, risk unreachable")
            running.start("risk")

            async def purged() -> bool:
                return set((await _kept(client, base, shop)).values()) == {0}

            await eventually(purged, 30, "the risks deleted once risk is back")
            await asyncio.sleep(1)  # a redelivery would show in the counter
            text = (await client.get(f"{base['scoring']}/metrics")).text
            assert (
                metric(
                    text,
                    "scoring_shop_deletion_deliveries_total",
                    'outcome="delivered",receiver="risk"',
                )
                == 1
            )
            await _refused_afterwards(client, base, shop)
