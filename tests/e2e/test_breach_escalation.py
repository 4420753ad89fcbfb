"""A KPI breach travels kpi → outbox → risk in the one-process stack and escalates once."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

SHOP = "a" * 24


async def _open_risks(http: httpx.AsyncClient) -> list[dict[str, Any]]:
    answer = await http.get("/risk/risks", params={"shopId": SHOP, "limit": 100})
    assert answer.status_code == 200, answer.text
    items: list[dict[str, Any]] = answer.json()["items"]
    return items


async def _wait_for_delivery(http: httpx.AsyncClient, measurement_id: str) -> dict[str, Any]:
    for _ in range(150):
        measurement: dict[str, Any] = (await http.get(f"/kpi/measurements/{measurement_id}")).json()
        if measurement["escalation"]["state"] == "DELIVERED":
            return measurement
        await asyncio.sleep(0.1)
    raise AssertionError(f"not delivered: {measurement}")


async def test_sla_breach_escalates_the_default_rules_categories_exactly_once(
    http: httpx.AsyncClient,
) -> None:
    recorded = await http.post(
        "/kpi/measurements",
        json={
            "shopId": SHOP,
            "kpiCode": "sla_compliance",
            "periodStart": "2026-11-01T00:00:00Z",
            "periodEnd": "2026-11-02T00:00:00Z",
            "inputs": {"within_sla": 90, "total": 100},
        },
    )
    assert recorded.status_code == 201, recorded.text
    measurement = await _wait_for_delivery(http, recorded.json()["id"])
    assert measurement["value"] == 90

    risks = await _open_risks(http)
    assert sorted(r["category"] for r in risks) == ["PERFORMANCE_UX", "VENDOR_RELIABILITY"]
    likelihoods = {r["id"]: r["inherent"]["likelihood"] for r in risks}

    # The same event delivered again (an at-least-once redelivery) changes nothing.
    again = await http.post(
        "/risk/escalations",
        json={
            "eventId": measurement["escalation"]["eventId"],
            "shopId": SHOP,
            "kpiCode": "sla_compliance",
            "value": 90,
            "measuredAt": "2026-11-02T00:00:00Z",
        },
    )
    assert again.status_code in (200, 201), again.text
    after = await _open_risks(http)
    assert {r["id"]: r["inherent"]["likelihood"] for r in after} == likelihoods
    assert len(after) == 2
