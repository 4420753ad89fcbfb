"""Hostile input through the gateway: each is rejected with a stable error code, or stored
literally and read back equal; a rejected request writes nothing (document counts of every
service database are compared before and after).

The depth, alias and fragment cases expect the gateway's query limits (issue 5): a query past a
limit is rejected with a coded error before anything runs.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from pymongo import AsyncMongoClient

from reliability.figures import record
from services.runtime.settings import IntegraSettings
from tests.conftest import GraphQLClient

SERVICES = ("scoring", "risk", "kpi")
OPERATOR_STRINGS = [
    '{"$gt": ""}',
    '{"$ne": null}',
    '{"$where": "sleep(1000)"}',
    '{"$regex": ".*"}',
    "$where",
    "$gt",
    "'; db.dropDatabase(); '",
    "this.name == this.name || sleep(1000)",
]
OPERATOR_OBJECTS: list[Any] = [
    {"$gt": ""},
    {"$ne": None},
    {"$where": "sleep(1000)"},
    {"$in": ["a"]},
    ["$ne", None],
]
BAD_IDS = [*OPERATOR_STRINGS, "0" * 23, "0" * 25, "ABCDEF0123456789abcdef01", "", " " * 24]
SHOP_FIELDS = "id name url segment version"
CRITERIA = dict.fromkeys("UIRCTLSME", 50.0)
CLIENT_CODES = {
    "VALIDATION_ERROR",
    "INVALID_ID",
    "NOT_FOUND",
    "CONFLICT",
    "INVALID_TRANSITION",
    "PAYLOAD_TOO_LARGE",
    "GRAPHQL_PARSE_FAILED",
    "GRAPHQL_VALIDATION_FAILED",
    "QUERY_TOO_DEEP",
    "QUERY_TOO_MANY_TOKENS",
    "QUERY_TOO_MANY_ALIASES",
}
"""Codes that blame the request (the last three: the gateway's query limits)."""


# --- the harness ----------------------------------------------------------------------------


def error_code(body: dict[str, Any]) -> str:
    """The code of an error body: GraphQL's ``errors`` or a service's ``error``."""
    if "errors" in body:
        return str(body["errors"][0]["extensions"]["code"])
    return str(body["error"]["code"])


def empty(data: Any) -> bool:
    """Whether a GraphQL ``data`` holds nothing but nulls (a rejected field answers null)."""
    if isinstance(data, dict):
        return all(empty(v) for v in data.values())
    if isinstance(data, list):
        return all(empty(v) for v in data)
    return data is None


class Databases:
    """Document counts of every collection of every service database of the test."""

    def __init__(self, settings: IntegraSettings) -> None:
        assert settings.mongodb_uri is not None
        self.settings = settings
        self.client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(settings.mongodb_uri)

    async def counts(self) -> dict[str, int]:
        """``<service>.<collection>`` → number of documents."""
        collections = []
        for service in SERVICES:
            db = self.client[self.settings.database_name(service)]
            collections += [(f"{service}.{n}", db[n]) for n in await db.list_collection_names()]
        numbers = await asyncio.gather(*(c.count_documents({}) for _, c in collections))
        return dict(zip([name for name, _ in collections], numbers, strict=True))

    async def settled(self) -> dict[str, int]:
        """The counts once background work (the kpi outbox) has stopped changing them."""
        previous = await self.counts()
        for _ in range(50):
            await asyncio.sleep(0.2)
            current = await self.counts()
            if current == previous:
                return current
            previous = current
        return previous


class Hostile:
    """Sends hostile requests and checks each is rejected with a code and writes nothing."""

    def __init__(self, gql: GraphQLClient, http: httpx.AsyncClient, dbs: Databases) -> None:
        self.gql = gql
        self.http = http
        self.dbs = dbs
        self.tried = 0
        self.stored_literally = 0
        self._settled = False

    async def rejected(
        self, query: str, variables: dict[str, Any] | None = None, codes: set[str] | None = None
    ) -> dict[str, Any]:
        """The first error of a request that must be rejected without writing anything."""
        before = await self.before()
        answer = await self.gql(query, variables)
        after = await self.dbs.counts()
        self.tried += 1
        errors = answer.get("errors") or []
        assert errors, f"accepted: {query[:300]} {variables} -> {str(answer)[:300]}"
        allowed = codes or CLIENT_CODES
        for error in errors:
            code = (error.get("extensions") or {}).get("code")
            assert code in allowed, f"{code} for {query} {variables}: {error}"
        assert empty(answer.get("data")), f"data answered: {answer}"
        assert after == before, f"a rejected request wrote: {before} -> {after}"
        return dict(errors[0])

    async def before(self) -> dict[str, int]:
        """The counts before a request (the first time, once background work settled)."""
        if not self._settled:
            self._settled = True
            return await self.dbs.settled()
        return await self.dbs.counts()

    async def raw(self, body: bytes, content_type: str = "application/json") -> httpx.Response:
        """POST ``body`` as is; must be rejected (4xx or a GraphQL error) and write nothing."""
        before = await self.before()
        response = await self.http.post(
            "/graphql", content=body, headers={"content-type": content_type}
        )
        after = await self.dbs.counts()
        self.tried += 1
        assert response.status_code < 500, response.text
        if response.status_code == 200:
            assert response.json().get("errors"), f"accepted: {body[:200]!r}"
            assert empty(response.json().get("data")), response.text
        assert after == before, f"a rejected request wrote: {before} -> {after}"
        return response

    async def literal(self, mutation: str, variables: dict[str, Any], read: str) -> Any:
        """Run a mutation that must succeed; answer the ``read`` query's data."""
        await self.gql.data(mutation, variables)
        self.tried += 1
        self.stored_literally += 1
        return await self.gql.data(read)


@pytest.fixture
async def dbs(settings: IntegraSettings) -> AsyncIterator[Databases]:
    """Counts over the test's own databases."""
    databases = Databases(settings)
    try:
        yield databases
    finally:
        await databases.client.close()


@pytest.fixture
async def hostile(
    gql: GraphQLClient, http: httpx.AsyncClient, dbs: Databases, request: pytest.FixtureRequest
) -> AsyncIterator[Hostile]:
    """The harness; the number of hostile inputs tried goes to the reliability figures."""
    harness = Hostile(gql, http, dbs)
    yield harness
    record(
        "hostile",
        {
            "test": request.node.name,
            "tried": harness.tried,
            "stored_literally": harness.stored_literally,
        },
    )


async def create_shop(gql: GraphQLClient, name: str = "Hostile shop") -> str:
    data = await gql.data(
        "mutation($input: CreateShopInput!) { createShop(input: $input) { id } }",
        {"input": {"name": name}},
    )
    return str(data["createShop"]["id"])


async def create_risk(gql: GraphQLClient, shop_id: str) -> dict[str, Any]:
    data = await gql.data(
        "mutation($input: CreateRiskInput!) { createRisk(input: $input) "
        "{ id actions { id } version } }",
        {
            "input": {
                "shopId": shop_id,
                "category": "DATA_QUALITY",
                "title": "Feed quality",
                "owner": "ops",
                "inherent": {"likelihood": 2},
                "changedBy": "test",
            }
        },
    )
    return dict(data["createRisk"])


# --- operators in ids -------------------------------------------------------------------------

ID_QUERIES = [
    "query($id: ID!) { shop(id: $id) { id } }",
    "query($id: ID!) { assessment(id: $id) { id } }",
    "query($id: ID!) { risk(id: $id) { id } }",
    "query($id: ID!) { monitoringRule(id: $id) { id } }",
    "query($id: ID!) { measurement(id: $id) { id } }",
    "query($id: ID!) { roadmap(shopId: $id) { shopId } }",
    "query($id: ID!) { riskMatrix(shopId: $id) { total } }",
    "query($id: ID!) { riskOverdue(shopId: $id) { shopId } }",
    "query($id: ID!) { risks(shopId: $id) { totalCount } }",
    "mutation($id: ID!) { deleteShop(id: $id) { deleted } }",
    'mutation($id: ID!) { updateShop(id: $id, input: {name: "x"}) { id } }',
    "mutation($id: ID!) { deleteMonitoringRule(id: $id) { deleted } }",
    "mutation($id: ID!) { checkRoadmapSlippage(shopId: $id) { eventId } }",
    'mutation($id: ID!) { recordAssessment(input: {shopId: $id, assessor: "a", criteria: '
    "{U: 1, C: 1, T: 1, L: 1, S: 1, M: 1, E: 1, I: 1, R: 1}}) { id } }",
    'mutation($id: ID!) { createRisk(input: {shopId: $id, category: "DATA_QUALITY", '
    'title: "t", owner: "o", inherent: {likelihood: 2}, changedBy: "c"}) { id } }',
]


@pytest.mark.parametrize("query", ID_QUERIES)
async def test_operator_strings_as_ids_are_rejected(hostile: Hostile, query: str) -> None:
    await create_shop(hostile.gql)
    for bad in BAD_IDS:
        if "monitoringRule" in query and (bad.isalnum() or not bad):
            continue  # rule ids are not hex: these are well formed (or empty) and unknown: null
        error = await hostile.rejected(query, {"id": bad})
        assert error["extensions"]["code"] in {"INVALID_ID", "VALIDATION_ERROR", "NOT_FOUND"}


async def test_operator_objects_as_ids_are_rejected_by_the_schema(hostile: Hostile) -> None:
    await create_shop(hostile.gql)
    for query in ID_QUERIES:
        for bad in OPERATOR_OBJECTS:
            error = await hostile.rejected(query, {"id": bad})
            assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED", error


async def test_operator_ids_in_mitigation_action_paths_are_rejected(hostile: Hostile) -> None:
    risk = await create_risk(hostile.gql, await create_shop(hostile.gql))
    query = (
        "mutation($risk: ID!, $action: ID!) { updateMitigationAction(riskId: $risk, "
        'actionId: $action, input: {done: true, changedBy: "x"}) { id } }'
    )
    for bad in BAD_IDS:
        await hostile.rejected(query, {"risk": risk["id"], "action": bad})
        await hostile.rejected(query, {"risk": bad, "action": risk["id"]})


async def test_entity_representations_with_operators_are_rejected(hostile: Hostile) -> None:
    await create_shop(hostile.gql)
    query = "query($r: [_Any!]!) { _entities(representations: $r) { ... on Shop { id name } } }"
    for bad in [*OPERATOR_OBJECTS, *OPERATOR_STRINGS]:
        await hostile.rejected(query, {"r": [{"__typename": "Shop", "id": bad}]})


# --- operators in text: stored literally --------------------------------------------------------


async def test_operator_strings_in_text_are_stored_literally(hostile: Hostile) -> None:
    for text in OPERATOR_STRINGS:
        created = await hostile.gql.data(
            "mutation($input: CreateShopInput!) { createShop(input: $input) "
            f"{{ {SHOP_FIELDS} }} }}",
            {"input": {"name": f"shop {text}", "segment": text}},
        )
        shop = created["createShop"]
        read = await hostile.gql.data(f'{{ shop(id: "{shop["id"]}") {{ {SHOP_FIELDS} }} }}')
        hostile.tried += 1
        hostile.stored_literally += 1
        assert read["shop"] == shop
        assert (read["shop"]["name"], read["shop"]["segment"]) == (f"shop {text}", text)
    shops = await hostile.gql.data("{ shops(limit: 100) { totalCount } }")
    assert shops["shops"]["totalCount"] == len(OPERATOR_STRINGS)


async def test_operator_strings_in_risk_text_match_only_themselves(hostile: Hostile) -> None:
    shop_id = await create_shop(hostile.gql)
    await create_risk(hostile.gql, shop_id)  # owner "ops": no operator can match it
    for text in OPERATOR_STRINGS:
        created = await hostile.gql.data(
            "mutation($input: CreateRiskInput!) { createRisk(input: $input) "
            "{ id title owner description } }",
            {
                "input": {
                    "shopId": shop_id,
                    "category": "DATA_SECURITY",
                    "title": f"risk {text}",
                    "owner": text,
                    "description": text,
                    "inherent": {"likelihood": 1},
                    "changedBy": text,
                }
            },
        )
        risk = created["createRisk"]
        assert (risk["title"], risk["owner"], risk["description"]) == (f"risk {text}", text, text)
        found = await hostile.gql.data(
            "query($owner: String!) { risks(filter: {owner: $owner}, limit: 100) "
            "{ items { id owner } } }",
            {"owner": text},
        )
        hostile.tried += 1
        hostile.stored_literally += 1
        assert found["risks"]["items"] == [{"id": risk["id"], "owner": text}]


async def test_operator_strings_in_assessment_text_are_stored_literally(hostile: Hostile) -> None:
    shop_id = await create_shop(hostile.gql)
    for text in OPERATOR_STRINGS:
        created = await hostile.gql.data(
            "mutation($input: RecordAssessmentInput!) { recordAssessment(input: $input) "
            "{ id assessor note } }",
            {"input": {"shopId": shop_id, "assessor": text, "note": text, "criteria": CRITERIA}},
        )
        assessment = created["recordAssessment"]
        read = await hostile.gql.data(
            f'{{ assessment(id: "{assessment["id"]}") {{ id assessor note }} }}'
        )
        hostile.tried += 1
        hostile.stored_literally += 1
        assert read["assessment"] == assessment == {**assessment, "assessor": text, "note": text}


async def test_operator_strings_as_names_and_codes_are_rejected(hostile: Hostile) -> None:
    weights = dict.fromkeys("UIRCTLSM", 0.125)
    for text in OPERATOR_STRINGS:
        await hostile.rejected(
            "mutation($input: CreateWeightProfileInput!) "
            "{ createWeightProfile(input: $input) { name } }",
            {"input": {"name": text, "weights": weights}},
        )
        await hostile.rejected(
            "mutation($input: RecordAssessmentInput!) { recordAssessment(input: $input) { id } }",
            {
                "input": {
                    "shopId": await create_shop(hostile.gql, f"profile {len(text)} {text}"),
                    "assessor": "a",
                    "profile": text,
                    "criteria": CRITERIA,
                }
            },
        )


# --- keys with $ and . in free-form maps --------------------------------------------------------

DOLLAR_DOT_KEYS = ["$where", "$gt", "a.b", "$", ".", "inputs.$", "__proto__"]


async def test_dollar_and_dot_keys_in_measurement_inputs_are_rejected(hostile: Hostile) -> None:
    shop_id = await create_shop(hostile.gql)
    query = "mutation($input: RecordMeasurementInput!) { recordMeasurement(input: $input) { id } }"
    valid = [{"name": "successful_transactions", "value": 5}, {"name": "visits", "value": 100}]

    def measurement(inputs: list[dict[str, Any]], day: int) -> dict[str, Any]:
        return {
            "input": {
                "shopId": shop_id,
                "kpiCode": "sales_conversion",
                "periodStart": f"2026-01-{day:02d}T00:00:00Z",
                "periodEnd": f"2026-01-{day + 1:02d}T00:00:00Z",
                "inputs": inputs,
            }
        }

    await hostile.gql.data(query, measurement(valid, 1))  # the same request, well formed
    for key in DOLLAR_DOT_KEYS:
        for inputs in ([{"name": key, "value": 1}], [*valid, {"name": key, "value": 1}]):
            await hostile.rejected(query, measurement(inputs, 2), {"VALIDATION_ERROR"})


async def test_dollar_and_dot_names_in_custom_kpis_are_rejected(hostile: Hostile) -> None:
    query = "mutation($input: CreateCustomKpiInput!) { createCustomKpi(input: $input) { code } }"
    base = {
        "code": "per_visit",
        "name": "Per visit",
        "level": "CUSTOMER",
        "unit": "ratio",
        "direction": "UP",
        "formula": "orders / visits",
        "inputs": [{"name": "orders", "kind": "COUNT"}, {"name": "visits", "kind": "COUNT"}],
    }
    for key in DOLLAR_DOT_KEYS:
        await hostile.rejected(query, {"input": {**base, "code": key}}, {"VALIDATION_ERROR"})
        await hostile.rejected(
            query,
            {
                "input": {
                    **base,
                    "formula": f"orders / {key}",
                    "inputs": [*base["inputs"], {"name": key, "kind": "COUNT"}],
                }
            },
            {"VALIDATION_ERROR"},
        )
    created = await hostile.gql.data(query, {"input": base})  # well formed: accepted
    assert created["createCustomKpi"]["code"] == "per_visit"


# --- sizes, numbers and types ----------------------------------------------------------------


async def test_very_long_strings_are_rejected(hostile: Hostile) -> None:
    shop_id = await create_shop(hostile.gql)
    long = "x" * 100_000
    await hostile.rejected(
        "mutation($input: CreateShopInput!) { createShop(input: $input) { id } }",
        {"input": {"name": long}},
    )
    await hostile.rejected(
        "mutation($input: RecordAssessmentInput!) { recordAssessment(input: $input) { id } }",
        {"input": {"shopId": shop_id, "assessor": "a", "note": long, "criteria": CRITERIA}},
    )
    await hostile.rejected("query($id: ID!) { shop(id: $id) { id } }", {"id": long})
    await hostile.rejected("query($c: String!) { kpi(code: $c) { code } }", {"c": long})
    await hostile.rejected(
        "query($o: String!) { risks(filter: {owner: $o}) { totalCount } }", {"o": long}
    )


NON_FINITE = ["NaN", "Infinity", "-Infinity", "1e999", "-1e999"]


async def test_nan_and_infinities_are_rejected(hostile: Hostile) -> None:
    shop_id = await create_shop(hostile.gql)
    assessment = (
        "mutation($input: RecordAssessmentInput!) { recordAssessment(input: $input) { id } }"
    )
    for token in NON_FINITE:
        criteria = ", ".join(f'"{c}": {token if c == "U" else 50}' for c in "UIRCTLSME")
        body = (
            f'{{"query": {json.dumps(assessment)}, "variables": {{"input": '
            f'{{"shopId": "{shop_id}", "assessor": "a", "criteria": {{{criteria}}}}}}}}}'
        )
        await hostile.raw(body.encode())
        await hostile.raw(
            json.dumps({"query": f"{{ ranking(limit: {token}) {{ totalCount }} }}"}).encode()
        )
    measurement = (
        "mutation($input: RecordMeasurementInput!) { recordMeasurement(input: $input) { id } }"
    )
    for token in NON_FINITE:
        body = (
            f'{{"query": {json.dumps(measurement)}, "variables": {{"input": {{'
            f'"shopId": "{shop_id}", "kpiCode": "sales_conversion", '
            f'"periodStart": "2026-01-05T00:00:00Z", "periodEnd": "2026-01-12T00:00:00Z", '
            f'"inputs": [{{"name": "successful_transactions", "value": {token}}}, '
            f'{{"name": "visits", "value": 100}}]}}}}}}'
        )
        await hostile.raw(body.encode())


async def test_negative_counts_and_pages_are_rejected(hostile: Hostile) -> None:
    shop_id = await create_shop(hostile.gql)
    for query in (
        "{ shops(limit: -1) { totalCount } }",
        "{ shops(offset: -5) { totalCount } }",
        "{ shops(limit: 0) { totalCount } }",
        "{ shops(limit: 1000000) { totalCount } }",
        "{ ranking(limit: -20) { totalCount } }",
        "{ risks(offset: -1) { totalCount } }",
        "{ kpiCatalogue(limit: -1) { totalCount } }",
        f'{{ shop(id: "{shop_id}") {{ assessments(limit: -1) {{ totalCount }} }} }}',
    ):
        await hostile.rejected(query)
    await hostile.rejected(
        "mutation($input: RecordMeasurementInput!) { recordMeasurement(input: $input) { id } }",
        {
            "input": {
                "shopId": shop_id,
                "kpiCode": "sales_conversion",
                "periodStart": "2026-01-05T00:00:00Z",
                "periodEnd": "2026-01-12T00:00:00Z",
                "inputs": [
                    {"name": "successful_transactions", "value": -5},
                    {"name": "visits", "value": 100},
                ],
            }
        },
    )
    await hostile.rejected(
        "mutation($input: RecordAssessmentInput!) { recordAssessment(input: $input) { id } }",
        {"input": {"shopId": shop_id, "assessor": "a", "criteria": {**CRITERIA, "U": -1}}},
    )


async def test_wrong_types_are_rejected(hostile: Hostile) -> None:
    shop_id = await create_shop(hostile.gql)
    cases: list[tuple[str, dict[str, Any] | None]] = [
        ('{ shops(limit: "ten") { totalCount } }', None),
        ("{ shops(limit: 1.5) { totalCount } }", None),
        ("{ shops(sort: DROP_TABLE) { totalCount } }", None),
        (
            "mutation($input: CreateShopInput!) { createShop(input: $input) { id } }",
            {"input": {"name": 42}},
        ),
        (
            "mutation($input: CreateShopInput!) { createShop(input: $input) { id } }",
            {"input": {"name": ["a", "b"]}},
        ),
        (
            "mutation($input: CreateShopInput!) { createShop(input: $input) { id } }",
            {"input": {"name": "ok", "unknownField": 1}},
        ),
        (
            "mutation($input: RecordAssessmentInput!) { recordAssessment(input: $input) { id } }",
            {
                "input": {
                    "shopId": shop_id,
                    "assessor": "a",
                    "criteria": {**CRITERIA, "U": "fifty"},
                }
            },
        ),
        (
            "mutation($input: RecordAssessmentInput!) { recordAssessment(input: $input) { id } }",
            {"input": {"shopId": shop_id, "assessor": {"$gt": ""}, "criteria": CRITERIA}},
        ),
        ("query($id: ID!) { shop(id: $id) { id } }", {"id": True}),
        ("query($id: ID!) { shop(id: $id) { id } }", {"id": 1.5}),
        ("query($id: ID!) { shop(id: $id) { id } }", None),
    ]
    for query, variables in cases:
        await hostile.rejected(query, variables)


# --- query shape: depth, aliases, fragments, batches, size -------------------------------------


def nested_shop_query(depth: int) -> str:
    """``shops → risks → shop → risks → …`` ``depth`` levels deep (the schema has the cycle)."""
    inner = "id"
    for _ in range(depth):
        inner = f"shop {{ risks {{ items {{ {inner} }} }} }}"
    return f"{{ shops {{ items {{ risks {{ items {{ {inner} }} }} }} }} }}"


async def test_deeply_nested_queries_are_rejected(hostile: Hostile) -> None:
    """Needs the gateway's depth limit (issue 5)."""
    await create_risk(hostile.gql, await create_shop(hostile.gql))
    error = await hostile.rejected(nested_shop_query(40))
    assert error["extensions"]["code"] == "QUERY_TOO_DEEP", error


async def test_alias_bombs_are_rejected(hostile: Hostile) -> None:
    """Needs the gateway's alias limit (issue 5)."""
    await create_shop(hostile.gql)
    few_tokens = " ".join(f"a{i}: shops {{ totalCount }}" for i in range(200))
    error = await hostile.rejected(f"{{ {few_tokens} }}")
    assert error["extensions"]["code"] == "QUERY_TOO_MANY_ALIASES", error
    aliases = " ".join(f"a{i}: shops(limit: 100) {{ items {{ id name }} }}" for i in range(2000))
    error = await hostile.rejected(f"{{ {aliases} }}")
    assert error["extensions"]["code"] in {"QUERY_TOO_MANY_ALIASES", "QUERY_TOO_MANY_TOKENS"}
    mutations = " ".join(
        f'm{i}: createShop(input: {{name: "bomb {i}"}}) {{ id }}' for i in range(500)
    )
    await hostile.rejected(f"mutation {{ {mutations} }}")


async def test_fragment_bombs_are_rejected(hostile: Hostile) -> None:
    """Fragments that double at each level: 2^12 fields from a few lines. Needs the gateway's
    limits (issue 5); a cycle of fragments is rejected by GraphQL validation already."""
    await create_shop(hostile.gql)
    levels = 12
    fragments = [f"fragment F{levels} on Shop {{ id name }}"]
    for level in range(levels - 1, -1, -1):
        fragments.append(
            f"fragment F{level} on Shop {{ a: name ...F{level + 1} b: id ...F{level + 1} }}"
        )
    query = "{ shops(limit: 100) { items { ...F0 } } } " + " ".join(fragments)
    await hostile.rejected(query)
    cycle = (
        "{ shops { items { ...A } } } fragment A on Shop { id ...B } fragment B on Shop { ...A }"
    )
    error = await hostile.rejected(cycle)
    assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


async def test_batched_operations_are_rejected(hostile: Hostile) -> None:
    batch = [
        {"query": f'mutation {{ createShop(input: {{name: "batch {i}"}}) {{ id }} }}'}
        for i in range(50)
    ]
    response = await hostile.raw(json.dumps(batch).encode())
    assert response.status_code == 400, response.text
    shops = await hostile.gql.data("{ shops { totalCount } }")
    assert shops["shops"]["totalCount"] == 0


async def test_malformed_bodies_are_rejected(hostile: Hostile) -> None:
    for body in (b"{", b"null", b"42", b'"query"', b'{"query": 42}', b'{"variables": {}}', b""):
        await hostile.raw(body)
    await hostile.raw(b"query=%7B+shops+%7B+totalCount+%7D+%7D", "text/plain")


async def test_oversized_bodies_are_rejected_with_413(hostile: Hostile) -> None:
    limit = hostile.dbs.settings.max_body_bytes
    name = "x" * (limit + 1)
    body = json.dumps(
        {
            "query": "mutation($n: String!) { createShop(input: {name: $n}) { id } }",
            "variables": {"n": name},
        }
    ).encode()
    response = await hostile.raw(body)
    assert response.status_code == 413, response.text
    assert error_code(response.json()) == "PAYLOAD_TOO_LARGE"

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 65536):
            yield body[start : start + 65536]

    before = await hostile.before()
    streamed = await hostile.http.post(
        "/graphql", content=chunks(), headers={"content-type": "application/json"}
    )
    hostile.tried += 1
    assert streamed.status_code == 413, (streamed.status_code, streamed.text)
    assert error_code(streamed.json()) == "PAYLOAD_TOO_LARGE"
    assert await hostile.dbs.counts() == before


# --- regressions found by fuzzing ----------------------------------------------------------------


async def test_an_empty_profile_name_is_not_found_not_a_service_failure(
    gql: GraphQLClient,
) -> None:
    """The scoring service answered ``/profiles/`` with a redirect, which the gateway reported
    as SERVICE_UNAVAILABLE."""
    answer = await gql('{ weightProfile(name: "") { name } }')
    assert answer["data"] == {"weightProfile": None}
    for error in answer.get("errors") or []:
        assert error["extensions"]["code"] in CLIENT_CODES, error
