"""Hostile or careless clients on /graphql: document limits, body size, rate limit, CSRF,
CORS, persisted queries, and what production mode reveals."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx

from gateway.security.limits import MAX_CACHED_QUERY_CHARS, cacheable
from services.runtime.auth import Role
from services.runtime.settings import IntegraSettings
from tests.conftest import bearer, signed_jwt, stack_client

SHOPS = "{ shops { totalCount } }"
CREATE_SHOP = 'mutation { createShop(input: {name: "Forged"}) { id } }'


def codes(response: httpx.Response) -> list[str]:
    return [e["extensions"]["code"] for e in response.json().get("errors") or []]


async def shop_count(http: httpx.AsyncClient) -> int:
    answer = (await http.post("/graphql", json={"query": SHOPS})).json()
    count: int = answer["data"]["shops"]["totalCount"]
    return count


def nested(levels: int) -> str:
    """shops → assessments → shop → assessments → ... ``levels`` times."""
    inner = "id"
    for _ in range(levels):
        inner = f"assessments {{ items {{ shop {{ {inner} }} }} }}"
    return f"{{ shops {{ items {{ {inner} }} }} }}"


async def test_depth_bomb_is_refused(http: httpx.AsyncClient) -> None:
    fine = await http.post("/graphql", json={"query": nested(2)})
    assert fine.json()["data"] == {"shops": {"items": []}}
    bomb = await http.post("/graphql", json={"query": nested(6)})
    assert bomb.status_code == 200
    assert codes(bomb) == ["QUERY_TOO_DEEP"]
    assert bomb.json()["data"] is None


async def test_alias_bomb_is_refused(http: httpx.AsyncClient) -> None:
    aliases = " ".join(f"a{i}: shops {{ totalCount }}" for i in range(31))
    bomb = await http.post("/graphql", json={"query": f"{{ {aliases} }}"})
    assert codes(bomb) == ["QUERY_TOO_MANY_ALIASES"]
    thirty = " ".join(f"a{i}: __typename" for i in range(30))
    assert not codes(await http.post("/graphql", json={"query": f"{{ {thirty} }}"}))


async def test_token_bomb_is_refused(http: httpx.AsyncClient) -> None:
    bomb = await http.post("/graphql", json={"query": "{ " + "__typename " * 2100 + "}"})
    assert codes(bomb) == ["QUERY_TOO_MANY_TOKENS"]


async def test_page_size_is_capped(http: httpx.AsyncClient) -> None:
    big = await http.post("/graphql", json={"query": "{ shops(limit: 101) { totalCount } }"})
    error = big.json()["errors"][0]
    assert error["extensions"] == {"code": "VALIDATION_ERROR", "field": "limit"}


async def test_oversized_body_is_413(settings: IntegraSettings) -> None:
    small = settings.model_copy(update={"max_body_bytes": 2048})
    async with stack_client(small, bearer(signed_jwt(Role.ADMIN))) as http:
        padding = " " * 4096
        response = await http.post("/graphql", json={"query": "{ __typename }" + padding})
        assert response.status_code == 413
        assert response.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"

        async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as read
            for chunk in (b'{"query": "{ __typename }', b" " * 4096, b'"}'):
                yield chunk

        streamed = await http.post(
            "/graphql", content=chunks(), headers={"Content-Type": "application/json"}
        )
        assert streamed.status_code == 413
        assert streamed.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"


async def test_rate_limit_is_per_client_with_retry_after(settings: IntegraSettings) -> None:
    limited = settings.model_copy(update={"rate_limit_per_minute": 3})
    first = bearer(signed_jwt(Role.VIEWER, sub="first"))
    async with stack_client(limited, first) as http:
        for _ in range(3):
            assert (await http.post("/graphql", json={"query": SHOPS})).status_code == 200
        refused = await http.post("/graphql", json={"query": SHOPS})
        assert refused.status_code == 429
        assert int(refused.headers["retry-after"]) >= 1
        assert codes(refused) == ["RATE_LIMITED"]
        other = bearer(signed_jwt(Role.VIEWER, sub="second"))
        answer = await http.post("/graphql", json={"query": SHOPS}, headers=other)
        assert answer.status_code == 200, "another client has its own limit"
    async with stack_client(limited, first) as replica:  # another replica, same database
        shared = await replica.post("/graphql", json={"query": SHOPS})
        assert shared.status_code == 429, "the replicas share one limit"


async def test_guessing_credentials_is_rate_limited_by_address(settings: IntegraSettings) -> None:
    limited = settings.model_copy(update={"rate_limit_per_minute": 2})
    async with stack_client(limited, bearer("ik_0123456789abcdef_guess")) as http:
        statuses = [(await http.post("/graphql", json={"query": SHOPS})).status_code for _ in "abc"]
        assert statuses == [401, 401, 429]


async def test_form_posts_and_plain_gets_are_refused_as_csrf(http: httpx.AsyncClient) -> None:
    for content_type in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data"):
        forged = await http.post(
            "/graphql",
            content=json.dumps({"query": CREATE_SHOP}),
            headers={"Content-Type": content_type},
        )
        assert forged.status_code == 400
        assert codes(forged) == ["CSRF_PREVENTED"]
    plain_get = await http.get("/graphql", params={"query": SHOPS})
    assert codes(plain_get) == ["CSRF_PREVENTED"]
    assert await shop_count(http) == 0

    preflighted = await http.get(
        "/graphql", params={"query": SHOPS}, headers={"X-Integra-CSRF": "1"}
    )
    assert preflighted.json() == {"data": {"shops": {"totalCount": 0}}}
    apollo = await http.get(
        "/graphql", params={"query": SHOPS}, headers={"Apollo-Require-Preflight": "true"}
    )
    assert apollo.status_code == 200
    get_mutation = await http.get(
        "/graphql", params={"query": CREATE_SHOP}, headers={"X-Integra-CSRF": "1"}
    )
    assert get_mutation.status_code >= 400
    assert await shop_count(http) == 0


async def test_cors_allows_only_listed_origins(settings: IntegraSettings) -> None:
    allowed = "https://app.example"
    with_cors = settings.model_copy(update={"cors_origins": [allowed]})
    async with stack_client(with_cors, bearer(signed_jwt(Role.VIEWER))) as http:
        preflight_headers = {
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        }
        ok = await http.options("/graphql", headers={"Origin": allowed, **preflight_headers})
        assert ok.status_code == 200
        assert ok.headers["access-control-allow-origin"] == allowed
        assert "authorization" in ok.headers["access-control-allow-headers"].lower()
        evil = await http.options(
            "/graphql", headers={"Origin": "https://evil.example", **preflight_headers}
        )
        assert "access-control-allow-origin" not in evil.headers

        answer = await http.post("/graphql", json={"query": SHOPS}, headers={"Origin": allowed})
        assert answer.headers["access-control-allow-origin"] == allowed
        other = await http.post(
            "/graphql", json={"query": SHOPS}, headers={"Origin": "https://evil.example"}
        )
        assert "access-control-allow-origin" not in other.headers


def apq(digest: str) -> dict[str, Any]:
    return {"persistedQuery": {"version": 1, "sha256Hash": digest}}


async def test_automatic_persisted_queries(
    http: httpx.AsyncClient, settings: IntegraSettings
) -> None:
    query = "query Count { shops { totalCount } }"
    digest = hashlib.sha256(query.encode()).hexdigest()

    unknown = await http.post("/graphql", json={"extensions": apq(digest)})
    assert unknown.status_code == 200
    assert codes(unknown) == ["PERSISTED_QUERY_NOT_FOUND"]
    assert unknown.json()["errors"][0]["message"] == "PersistedQueryNotFound"

    mismatch = await http.post(
        "/graphql", json={"query": query, "extensions": apq(hashlib.sha256(b"x").hexdigest())}
    )
    assert mismatch.status_code == 400
    assert mismatch.json()["errors"][0]["extensions"]["field"] == (
        "extensions.persistedQuery.sha256Hash"
    )

    registered = await http.post("/graphql", json={"query": query, "extensions": apq(digest)})
    assert registered.json() == {"data": {"shops": {"totalCount": 0}}}
    by_hash = await http.post("/graphql", json={"extensions": apq(digest)})
    assert by_hash.json() == {"data": {"shops": {"totalCount": 0}}}
    over_get = await http.get(
        "/graphql",
        params={"extensions": json.dumps(apq(digest)), "operationName": "Count"},
        headers={"Apollo-Require-Preflight": "true"},
    )
    assert over_get.json() == {"data": {"shops": {"totalCount": 0}}}

    # another gateway replica over the same database knows the hash too
    async with stack_client(settings, bearer(signed_jwt(Role.VIEWER))) as replica:
        shared = await replica.post("/graphql", json={"extensions": apq(digest)})
        assert shared.json() == {"data": {"shops": {"totalCount": 0}}}


async def test_a_padded_query_runs_but_is_neither_persisted_nor_cached(
    http: httpx.AsyncClient,
) -> None:
    """Comments are not tokens: without a size bound, 1 000 padded 1 MB queries registered
    through APQ would pin a gigabyte per replica (and grow the shared collection)."""
    query = "query Padded { shops { totalCount } } # " + "x" * (MAX_CACHED_QUERY_CHARS + 1)
    digest = hashlib.sha256(query.encode()).hexdigest()
    sent = await http.post("/graphql", json={"query": query, "extensions": apq(digest)})
    assert sent.json() == {"data": {"shops": {"totalCount": 0}}}
    by_hash = await http.post("/graphql", json={"extensions": apq(digest)})
    assert codes(by_hash) == ["PERSISTED_QUERY_NOT_FOUND"]
    assert not cacheable(query)


async def test_introspection_on_in_development(http: httpx.AsyncClient) -> None:
    answer = await http.post("/graphql", json={"query": "{ __schema { queryType { name } } }"})
    assert answer.json() == {"data": {"__schema": {"queryType": {"name": "Query"}}}}
    sdl = await http.post("/graphql", json={"query": "{ _service { sdl } }"})
    assert "type Shop" in sdl.json()["data"]["_service"]["sdl"]
    typo = await http.post("/graphql", json={"query": "{ shop { nme } }"})
    assert "Did you mean" in typo.json()["errors"][0]["message"]


async def test_production_hides_the_schema_and_masks_errors(settings: IntegraSettings) -> None:
    production = settings.model_copy(update={"environment": "production"})
    async with stack_client(production, bearer(signed_jwt(Role.ADMIN))) as http:
        for query in (
            "{ __schema { types { name } } }",
            '{ __type(name: "Shop") { name } }',
            "{ _service { sdl } }",
        ):
            refused = await http.post("/graphql", json={"query": query})
            assert codes(refused) == ["INTROSPECTION_DISABLED"], query
        typo = await http.post("/graphql", json={"query": "{ shopz { totalCount } }"})
        [error] = typo.json()["errors"]
        assert error["extensions"] == {"code": "GRAPHQL_VALIDATION_FAILED"}
        assert "Did you mean" not in error["message"]
        assert "shops" not in error["message"]
        assert set(error) <= {"message", "locations", "extensions"}
        bad = await http.post("/graphql", json={"query": '{ shop(id: "nope") { name } }'})
        [error] = bad.json()["errors"]
        assert error["extensions"]["code"] in {"INVALID_ID", "VALIDATION_ERROR"}
        assert "Traceback" not in bad.text
        typename = await http.post("/graphql", json={"query": "{ __typename }"})
        assert typename.json() == {"data": {"__typename": "Query"}}
        ide = await http.get("/graphql", headers={"Accept": "text/html"})
        assert "graphiql" not in ide.text.lower()


async def test_introspection_can_be_enabled_in_production(settings: IntegraSettings) -> None:
    production = settings.model_copy(update={"environment": "production", "introspection": True})
    async with stack_client(production, bearer(signed_jwt(Role.VIEWER))) as http:
        answer = await http.post("/graphql", json={"query": "{ _service { sdl } }"})
        assert "type Shop" in answer.json()["data"]["_service"]["sdl"]
