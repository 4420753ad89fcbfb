"""Regressions of defects the fuzzers found, pinned with plain requests."""

from __future__ import annotations

from datetime import datetime

import httpx


def _aware(moment: str) -> bool:
    return datetime.fromisoformat(moment).utcoffset() is not None


async def test_updated_risks_and_rules_keep_time_zone_aware_timestamps(
    http: httpx.AsyncClient,
) -> None:
    """nx-27017 stored a date written by ``$set`` as a string, which read back naive: an
    updated risk or rule answered ``updatedAt`` without a time zone (not an RFC 3339 date)."""
    created = await http.post(
        "/risk/risks",
        json={
            "shopId": "platform",
            "category": "DATA_QUALITY",
            "title": "Feed quality",
            "owner": "ops",
            "inherent": {"likelihood": 2},
            "changedBy": "test",
        },
    )
    assert created.status_code == 201, created.text
    risk_id = created.json()["id"]
    updated = await http.patch(
        f"/risk/risks/{risk_id}", json={"title": "Feed quality, again", "changedBy": "test"}
    )
    assert updated.status_code == 200, updated.text
    read = (await http.get(f"/risk/risks/{risk_id}")).json()
    assert _aware(updated.json()["updatedAt"]), updated.json()
    assert _aware(read["updatedAt"]), read
    assert read["title"] == "Feed quality, again"

    rule_id = (await http.get("/risk/rules")).json()[0]["id"]
    changed = await http.patch(f"/risk/rules/{rule_id}", json={"threshold": 42.0})
    assert changed.status_code == 200, changed.text
    rule = (await http.get(f"/risk/rules/{rule_id}")).json()
    assert rule["threshold"] == 42.0
    assert _aware(changed.json()["updatedAt"]), changed.json()
    assert _aware(rule["updatedAt"]), rule


async def test_unroutable_paths_answer_the_json_error_model(http: httpx.AsyncClient) -> None:
    """A path no mount matches (a newline in it) got Starlette's plain-text 404."""
    response = await http.get("/scoring/shops/a%0Ab")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"


async def test_a_trailing_slash_is_not_found_rather_than_redirected(
    http: httpx.AsyncClient,
) -> None:
    """``/profiles/`` (an empty name) answered a 307 the gateway reported as a failure."""
    response = await http.get("/scoring/profiles/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"


async def test_every_service_publishes_its_openapi_document(http: httpx.AsyncClient) -> None:
    for service in ("scoring", "risk", "kpi"):
        document = (await http.get(f"/{service}/openapi.json")).json()
        assert document["openapi"] == "3.1.0"
        assert document["servers"] == [{"url": f"/{service}"}]
        assert "ErrorBody" in document["components"]["schemas"]
        operations = [op for path in document["paths"].values() for op in path.values()]
        assert len(operations) > 10
        for operation in operations:
            assert {"500", "503"} <= set(operation["responses"]), operation


async def test_numbers_are_not_dates(http: httpx.AsyncClient) -> None:
    """pydantic read a number as a Unix time: ``{"plannedEnd": 0}`` set a roadmap stage's end
    to 1 January 1970 (and the stage then escalated as slipping)."""
    shop = await http.post("/scoring/shops", json={"name": "Dated Shop"})
    shop_id = shop.json()["id"]
    before = (await http.get(f"/risk/shops/{shop_id}/roadmap")).json()
    for value in (0, 1.5, "0", " 1700000000 "):
        stage = await http.patch(
            f"/risk/shops/{shop_id}/roadmap/AUDIT", json={"plannedEnd": value, "changedBy": "t"}
        )
        assert stage.status_code == 422, stage.text
        assert stage.json()["error"]["field"] == "plannedEnd"
    assert (await http.get(f"/risk/shops/{shop_id}/roadmap")).json() == before
    measurement = await http.post(
        "/kpi/measurements",
        json={
            "shopId": shop_id,
            "kpiCode": "churn_rate",
            "periodStart": 0,
            "periodEnd": "2026-06-01T00:00:00Z",
            "inputs": {"lost_customers": 1, "customers_at_start": 10},
        },
    )
    assert measurement.status_code == 422, measurement.text
    assert measurement.json()["error"]["field"] == "periodStart"
    dated = await http.patch(
        f"/risk/shops/{shop_id}/roadmap/AUDIT",
        json={"plannedEnd": "2026-12-31", "changedBy": "t"},
    )
    assert dated.status_code == 200, dated.text
