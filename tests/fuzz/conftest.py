"""Fixtures of the fuzz suite: the one-process stack reached by schemathesis over ASGI, with a
few records to aim at, and the knobs of a run (examples per operation, seed)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any, cast

import pytest
from schemathesis.python import asgi
from starlette.applications import Starlette

from services.runtime.settings import IntegraSettings
from services.stack import create_stack_app

BASE = f"http://{asgi.HOST}"
DEFAULT_EXAMPLES = 10
"""Examples per operation, generation mode and round in CI (``INTEGRA_FUZZ_EXAMPLES``)."""
DEFAULT_SEED = 20261123
"""The fixed seed of CI runs (``INTEGRA_FUZZ_SEED``)."""
CUSTOM_KPI: dict[str, Any] = {
    "code": "fuzz_orders_per_visit",
    "name": "Orders per visit",
    "level": "CUSTOMER",
    "unit": "ratio",
    "direction": "UP",
    "formula": "orders / visits",
    "inputs": {"orders": "COUNT", "visits": "COUNT"},
}
CRITERIA = dict.fromkeys("UIRCTLSME", 50)


@pytest.fixture
def fuzz_examples() -> int:
    """Examples per operation, generation mode and round."""
    return int(os.environ.get("INTEGRA_FUZZ_EXAMPLES", DEFAULT_EXAMPLES))


@pytest.fixture
def fuzz_seed() -> int:
    """The seed every operation is fuzzed with, so a run can be repeated."""
    return int(os.environ.get("INTEGRA_FUZZ_SEED", DEFAULT_SEED))


@pytest.fixture
def auth_headers(admin: dict[str, str]) -> dict[str, str]:
    """The ADMIN credential the ``http`` fixture sends; valid for any stack over the test's
    settings."""
    return admin


@pytest.fixture
def stack(settings: IntegraSettings) -> Iterator[Starlette]:
    """The one-process stack over the test's databases; schemathesis starts its lifespan on
    the first request and it is shut down with the test."""
    app = create_stack_app(settings)
    try:
        yield app
    finally:
        asgi.shutdown_lifespans()


def _created(response: Any) -> Any:
    assert response.status_code in (200, 201), response.text
    return response.json()


@pytest.fixture
def known_records(stack: Starlette, auth_headers: dict[str, str]) -> dict[str, str]:
    """Records of every kind, created through the services' APIs; path parameter → id."""
    with asgi.get_client(cast(Any, stack)) as client:
        client.headers.update(auth_headers)  # the services' APIs need a credential too
        shop = _created(client.post(f"{BASE}/scoring/shops", json={"name": "Fuzz shop"}))
        assessment = _created(
            client.post(
                f"{BASE}/scoring/shops/{shop['id']}/assessments",
                json={"assessor": "fuzz", "criteria": CRITERIA},
            )
        )
        weights = dict.fromkeys("UIRCTLSM", 0.125)
        profile = _created(
            client.post(f"{BASE}/scoring/profiles", json={"name": "fuzz", "weights": weights})
        )
        risk = _created(
            client.post(
                f"{BASE}/risk/risks",
                json={
                    "shopId": shop["id"],
                    "category": "DATA_QUALITY",
                    "title": "Fuzz risk",
                    "owner": "fuzz",
                    "inherent": {"likelihood": 3},
                    "changedBy": "fuzz",
                },
            )
        )
        with_action = _created(
            client.post(
                f"{BASE}/risk/risks/{risk['id']}/actions",
                json={"text": "Check the feed", "changedBy": "fuzz"},
            )
        )
        rule = _created(client.get(f"{BASE}/risk/rules"))[0]
        kpi = _created(client.post(f"{BASE}/kpi/catalogue", json=CUSTOM_KPI))
        measurement = _created(
            client.post(
                f"{BASE}/kpi/measurements",
                json={
                    "shopId": shop["id"],
                    "kpiCode": kpi["code"],
                    "periodStart": "2026-01-05T00:00:00Z",
                    "periodEnd": "2026-01-12T00:00:00Z",
                    "inputs": {"orders": 5, "visits": 100},
                },
            )
        )
        _created(
            client.put(
                f"{BASE}/kpi/targets/{shop['id']}/{kpi['code']}",
                json={"comparator": "GTE", "value": 0.02},
            )
        )
    return {
        "shop_id": shop["id"],
        "assessment_id": assessment["id"],
        "name": profile["name"],
        "risk_id": risk["id"],
        "action_id": with_action["actions"][0]["id"],
        "rule_id": rule["id"],
        "stage": "AUDIT",
        "code": kpi["code"],
        "kpi_code": kpi["code"],
        "measurement_id": measurement["id"],
    }
