"""The per-operation service-call metric and the request id, on the one-process stack."""

from __future__ import annotations

import httpx

from services.runtime.metrics import REGISTRY
from tests.conftest import GraphQLClient

DASHBOARD = """
query Dashboard {
  shops(limit: 50) {
    totalCount
    items {
      name
      score { sh band }
      risks { totalCount }
      kpis { kpiCode value }
    }
  }
}
"""
METRIC = "gateway_service_calls_per_operation"


def _observed(service: str) -> tuple[float, float, float]:
    """(operations observed, calls summed, operations with at most 1 call) for ``service``."""
    labels = {"operation_type": "query", "service": service}
    count = REGISTRY.get_sample_value(f"{METRIC}_count", labels) or 0.0
    total = REGISTRY.get_sample_value(f"{METRIC}_sum", labels) or 0.0
    at_most_one = REGISTRY.get_sample_value(f"{METRIC}_bucket", {**labels, "le": "1.0"}) or 0.0
    return count, total, at_most_one


async def test_a_50_shop_dashboard_costs_one_call_per_service_per_level(
    gql: GraphQLClient, http: httpx.AsyncClient
) -> None:
    for n in range(50):
        await gql.data(f'mutation {{ createShop(input: {{name: "Shop {n:02d}"}}) {{ id }} }}')
    before = {s: _observed(s) for s in ("scoring", "risk", "kpi")}

    data = await gql.data(DASHBOARD)

    assert data["shops"]["totalCount"] == 50
    assert len(data["shops"]["items"]) == 50
    after = {s: _observed(s) for s in ("scoring", "risk", "kpi")}
    delta = {s: tuple(a - b for a, b in zip(after[s], before[s], strict=True)) for s in after}
    # scoring: the page of shops with their scores; risk and kpi: one batch each.
    assert delta["scoring"] == (1, 1, 1)
    assert delta["risk"] == (1, 1, 1)
    assert delta["kpi"] == (1, 1, 1)
    exposed = (await http.get("/metrics")).text
    assert f'{METRIC}_sum{{operation_type="query",service="risk"}}' in exposed


async def test_the_request_id_is_returned_and_a_bad_one_is_replaced(
    http: httpx.AsyncClient,
) -> None:
    query = {"query": "{ shops(limit: 1) { totalCount } }"}
    kept = await http.post("/graphql", json=query, headers={"X-Request-ID": "front-end-42"})
    assert kept.headers["x-request-id"] == "front-end-42"

    replaced = await http.post("/graphql", json=query, headers={"X-Request-ID": "bad\x7fid"})
    generated = replaced.headers["x-request-id"]
    assert generated != "bad\x7fid"
    assert len(generated) == 32

    fresh = await http.get("/scoring/shops", params={"limit": "1"})
    assert len(fresh.headers["x-request-id"]) == 32
