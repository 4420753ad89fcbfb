"""Issue 4's outage test: breaches recorded while the risk service is down are all applied,
exactly once, when it comes back.

``integra serve risk`` and ``integra serve kpi`` run as real processes over nx-27017. The risk
process is killed (SIGKILL); breaching measurements of several shops and periods — and a
replacement of one period — are recorded through the kpi REST API meanwhile; the dispatcher
fails to deliver and backs off; the risk process is started again and the outbox drains. Then
each shop has exactly one risk per escalated category, every delivered event appears once in
their histories and the replaced revision's superseded event never arrives.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.faults.cluster import cluster, eventually, metric, ready

pytestmark = pytest.mark.slow

SHOPS = ["c1" * 12, "c2" * 12, "c3" * 12]
ESCALATED = ["PERFORMANCE_UX", "VENDOR_RELIABILITY"]  # the default rules on sla_compliance
FAST_OUTBOX = {
    "INTEGRA_KPI_OUTBOX_POLL_SECONDS": "0.2",
    "INTEGRA_KPI_OUTBOX_TIMEOUT_SECONDS": "2",
    "INTEGRA_KPI_OUTBOX_BACKOFF_CAP_SECONDS": "1",
    "INTEGRA_KPI_PLATFORM_RECORDER": "false",
}


def _day(offset: int) -> tuple[str, str]:
    start = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    start -= timedelta(days=offset)
    return start.isoformat(), (start + timedelta(days=1)).isoformat()


async def _record(
    client: httpx.AsyncClient, kpi: str, shop: str, offset: int, within: int, **extra: Any
) -> dict[str, Any]:
    start, end = _day(offset)
    body = {
        "shopId": shop,
        "kpiCode": "sla_compliance",
        "periodStart": start,
        "periodEnd": end,
        "inputs": {"within_sla": within, "total": 100},
        **extra,
    }
    answer = await client.post(f"{kpi}/measurements", json=body)
    assert answer.status_code in (200, 201), answer.text
    measurement: dict[str, Any] = answer.json()
    return measurement


async def test_escalations_queued_while_risk_is_down_apply_exactly_once(
    mongo_uri: str, tmp_path: Path
) -> None:
    with cluster(tmp_path, mongo_uri, ("risk", "kpi"), **FAST_OUTBOX) as running:
        kpi, risk = running.url("kpi"), running.url("risk")
        async with httpx.AsyncClient(timeout=10, headers=running.service_headers()) as client:
            await eventually(lambda: ready(client, kpi), 30, "kpi ready")
            running.kill("risk")

            recorded = [
                await _record(client, kpi, shop, offset, within=90)
                for shop in SHOPS
                for offset in (3, 2)
            ]
            replaced = await _record(
                client, kpi, SHOPS[0], 3, within=80, replace=True, reason="recount"
            )
            calm = await _record(client, kpi, SHOPS[2], 1, within=99)  # no rule breached
            assert replaced["id"] == recorded[0]["id"]
            superseded = recorded[0]["escalation"]["eventId"]

            async def tried_and_failed() -> bool:
                text = (await client.get(f"{kpi}/metrics")).text
                labels = 'kind="breach",outcome="unreachable"'
                return metric(text, "kpi_outbox_delivery_attempts_total", labels) > 0

            await eventually(tried_and_failed, 30, "a failed delivery attempt")
            ids = [m["id"] for m in recorded[1:]] + [replaced["id"], calm["id"]]
            pending = await _measurements(client, kpi, ids)
            assert {m["escalation"]["state"] for m in pending} == {"PENDING"}

            running.start("risk")

            async def drained() -> bool:
                states = {m["escalation"]["state"] for m in await _measurements(client, kpi, ids)}
                return states == {"DELIVERED"}

            await eventually(drained, 60, "every event delivered")
            delivered = await _measurements(client, kpi, ids)
            assert delivered[-2]["history"][0]["escalation"]["state"] == "SUPERSEDED"

            async def gauge_drained() -> bool:
                text = (await client.get(f"{kpi}/metrics")).text
                return metric(text, "kpi_outbox_pending_events", 'kind="breach"') == 0

            await eventually(gauge_drained, 30, "the pending-events gauge at 0")

            events_by_shop: dict[str, set[str]] = {shop: set() for shop in SHOPS}
            for measurement in delivered:
                if measurement["value"] < 95:
                    events_by_shop[measurement["shopId"]].add(measurement["escalation"]["eventId"])
            assert sum(len(e) for e in events_by_shop.values()) == 6

            for shop in SHOPS:
                answer = await client.get(f"{risk}/risks", params={"shopId": shop, "limit": 100})
                risks = answer.json()["items"]
                assert sorted(r["category"] for r in risks) == ESCALATED, risks
                for item in risks:
                    applied = Counter(h["eventId"] for h in item["history"] if h["eventId"])
                    assert applied == Counter(dict.fromkeys(events_by_shop[shop], 1)), item
                    assert superseded not in applied
                    actions = [h["action"] for h in item["history"]]
                    assert actions == ["CREATED", "ESCALATED"]


async def _measurements(
    client: httpx.AsyncClient, kpi: str, ids: list[str]
) -> list[dict[str, Any]]:
    answer = await client.get(f"{kpi}/measurements", params={"ids": ids})
    assert answer.status_code == 200, answer.text
    items: list[dict[str, Any]] = answer.json()["items"]
    return items
