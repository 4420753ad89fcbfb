"""GraphQL over HTTP for the benchmark: the one place that builds request headers, the
queries of targets 3–6, and seeding a stack with their data through the public API."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

Json = dict[str, Any]

LIST_SIZE = 50

DASHBOARD_QUERY = """query($id: ID!) { shop(id: $id) {
  name score { sh band criteria { criterion value band } }
  advice { gains { criterion gain } critical externalFlagged }
  risks { totalCount items { id title status inherent { score level } } }
  riskMatrix { cells total unassessed }
  KPIS } }"""

LIST_QUERY = """query($limit: Int!) { shops(limit: $limit) { totalCount items {
  id name score { sh band } KPIS } } }"""

KPIS_SELECTION = "kpis { kpiCode value status }"

RECORD_MEASUREMENT = """mutation($input: RecordMeasurementInput!) {
  recordMeasurement(input: $input) { id value } }"""

RANKING_QUERY = "{ ranking(limit: 20) { totalCount items { rank shopName shRounded band } } }"

_CREATE_SHOP = "mutation($input: CreateShopInput!) { createShop(input: $input) { id } }"
_ASSESS = "mutation($input: RecordAssessmentInput!) { recordAssessment(input: $input) { id } }"
_CREATE_RISK = "mutation($input: CreateRiskInput!) { createRisk(input: $input) { id } }"
_SHOP_FIELDS = '{ __type(name: "Shop") { fields { name } } }'

MEASURED_KPIS = (
    ("average_check", {"revenue": 12500.0, "transactions": 250.0}),
    ("sla_compliance", {"within_sla": 970.0, "total": 1000.0}),
    ("process_errors", {"errors": 3.0, "operations": 1000.0}),
)
RISK_CATEGORIES = (
    "DATA_QUALITY",
    "API_INCOMPATIBILITY",
    "DATA_SECURITY",
    "PERSONNEL",
    "COMPLIANCE",
)


def graphql_headers(data_dir: Path | None, jwt_secret: str | None = None) -> dict[str, str]:
    """Headers of every GraphQL request (the one place that sets them): JSON, and the local
    admin API key when the stack wrote one to ``<data_dir>/admin-api-key``; failing that an
    ADMIN JWT signed with ``jwt_secret`` (the stack's ``INTEGRA_JWT_SECRET``); else none
    (authentication off or not built yet)."""
    headers = {"Content-Type": "application/json"}
    key_file = data_dir / "admin-api-key" if data_dir is not None else None
    if key_file is not None and key_file.is_file():
        key = key_file.read_text(encoding="utf-8").strip()
        if key:
            headers["Authorization"] = f"Bearer {key}"
            return headers
    if jwt_secret is not None:
        import jwt

        claims = {"sub": "bench", "role": "ADMIN", "exp": int(time.time()) + 24 * 3600}
        headers["Authorization"] = f"Bearer {jwt.encode(claims, jwt_secret, algorithm='HS256')}"
    return headers


def credential_kind(headers: dict[str, str]) -> str:
    """What authenticates the benchmark's requests: an API key, a JWT or nothing."""
    token = headers.get("Authorization", "").removeprefix("Bearer ")
    if not token:
        return "none"
    return "API key" if token.startswith("ik_") else "JWT"


def request_body(query: str, variables: Json | None = None) -> bytes:
    """The JSON body of a GraphQL POST."""
    return json.dumps({"query": query, "variables": variables or {}}).encode()


def with_kpis(query: str, has_kpis: bool) -> str:
    """The query with the KPI statuses selected, or without them when the schema lacks them."""
    return query.replace("KPIS", KPIS_SELECTION if has_kpis else "")


def list_body(has_kpis: bool) -> bytes:
    """The POST body of the list target: the first ``LIST_SIZE`` shops."""
    return request_body(with_kpis(LIST_QUERY, has_kpis), {"limit": LIST_SIZE})


class GraphQLClient:
    """Posts operations to one endpoint; an answer with ``errors`` raises."""

    def __init__(self, url: str, headers: dict[str, str]) -> None:
        self.url = url
        self.client = httpx.AsyncClient(
            headers=headers, timeout=60, limits=httpx.Limits(max_connections=16)
        )

    async def __call__(self, query: str, variables: Json | None = None) -> Json:
        """The ``data`` of the answer."""
        response = await self.client.post(self.url, content=request_body(query, variables))
        answer: Json = response.json()
        if response.status_code != 200 or answer.get("errors"):
            raise RuntimeError(f"GraphQL {response.status_code}: {answer.get('errors', answer)}")
        data: Json = answer["data"]
        return data

    async def raw(self, query: str, variables: Json | None = None) -> Json:
        """The whole answer, errors included."""
        response = await self.client.post(self.url, content=request_body(query, variables))
        answer: Json = response.json()
        return answer

    async def close(self) -> None:
        """Close the connections."""
        await self.client.aclose()


async def has_kpis_field(call: GraphQLClient) -> bool:
    """Whether ``Shop.kpis`` exists: by introspection, else by probing the field."""
    answer = await call.raw(_SHOP_FIELDS)
    if not answer.get("errors") and answer.get("data", {}).get("__type"):
        return any(f["name"] == "kpis" for f in answer["data"]["__type"]["fields"])
    probe = await call.raw("{ shops(limit: 1) { items { kpis { kpiCode } } } }")
    return not probe.get("errors")


def _criteria(index: int) -> Json:
    base = 40 + index % 50
    return {
        "U": base, "I": min(100, base + 5), "R": min(100, base + 10), "C": base,
        "T": min(100, base + 15), "L": base, "S": min(100, base + 3), "M": base,
        "E": index % 7,
    }  # fmt: skip


def measurement_input(shop_id: str, index: int, code: str, inputs: dict[str, float]) -> Json:
    """A measurement of ``code`` for the hour ``index`` hours after 2025-01-01."""
    start = datetime(2025, 1, 1, tzinfo=UTC) + timedelta(hours=index)
    return {
        "shopId": shop_id,
        "kpiCode": code,
        "periodStart": start.isoformat(),
        "periodEnd": (start + timedelta(hours=1)).isoformat(),
        "inputs": [{"name": k, "value": v} for k, v in inputs.items()],
    }


async def seed_stack(call: GraphQLClient, shops: int = LIST_SIZE, risks: int = 5) -> list[str]:
    """Create ``shops`` assessed shops, each with measurements of three KPIs, and ``risks``
    risks on the first one; answer the shop ids (the first is the dashboard's shop)."""
    gate = asyncio.Semaphore(8)

    async def one_shop(index: int) -> str:
        async with gate:
            name = f"Bench Shop {index:03d}"
            created = await call(_CREATE_SHOP, {"input": {"name": name, "segment": "bench"}})
            shop_id: str = created["createShop"]["id"]
            assessment = {"shopId": shop_id, "assessor": "bench", "criteria": _criteria(index)}
            await call(_ASSESS, {"input": assessment})
            for code, inputs in MEASURED_KPIS:
                await call(RECORD_MEASUREMENT,
                           {"input": measurement_input(shop_id, 0, code, inputs)})  # fmt: skip
            return shop_id

    ids = list(await asyncio.gather(*(one_shop(i) for i in range(shops))))
    for index in range(risks):
        risk = {
            "shopId": ids[0],
            "category": RISK_CATEGORIES[index % len(RISK_CATEGORIES)],
            "title": f"Bench risk {index}",
            "owner": "bench",
            "changedBy": "bench",
            "inherent": {"likelihood": 1 + index % 5, "impact": 1 + (index * 2) % 5},
        }
        await call(_CREATE_RISK, {"input": risk})
    return ids
