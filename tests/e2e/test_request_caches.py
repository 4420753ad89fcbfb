"""The gateway's per-process caches (parsed and validated documents, verified API keys) never
change an answer: a repeated document is checked against each caller's role and against the
limits every time, and a remembered key is still checked against the secret sent."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import bearer
from tests.e2e.test_limits import codes, nested

KEYS = "{ apiKeys { id } }"
SHOPS = "{ shops { totalCount } }"
CREATE_KEY = "mutation($n: String!) { createApiKey(name: $n, role: VIEWER) { secret key { id } } }"


async def post(http: httpx.AsyncClient, query: str, headers: dict[str, str]) -> httpx.Response:
    return await http.post("/graphql", json={"query": query}, headers=headers)


async def test_a_document_validated_for_an_admin_is_refused_to_a_viewer(
    http: httpx.AsyncClient, viewer: dict[str, str]
) -> None:
    for _ in range(2):
        assert "errors" not in (await post(http, KEYS, {})).json()
    refused = await post(http, KEYS, viewer)
    assert codes(refused) == ["FORBIDDEN"]
    assert refused.json()["data"] is None


async def test_a_repeated_document_meets_the_limits_every_time(http: httpx.AsyncClient) -> None:
    for _ in range(3):
        assert codes(await post(http, nested(6), {})) == ["QUERY_TOO_DEEP"]
        assert codes(await post(http, "{ " + "__typename " * 2100 + "}", {})) == [
            "QUERY_TOO_MANY_TOKENS"
        ]
        assert codes(await post(http, "{ shops { ", {})) == ["GRAPHQL_PARSE_FAILED"]


async def test_a_remembered_key_still_needs_its_secret(http: httpx.AsyncClient) -> None:
    created: dict[str, Any] = (
        await http.post("/graphql", json={"query": CREATE_KEY, "variables": {"n": "cached"}})
    ).json()
    secret: str = created["data"]["createApiKey"]["secret"]
    assert (await post(http, SHOPS, bearer(secret))).status_code == 200  # now remembered
    forged = secret[:-4] + ("aaaa" if not secret.endswith("aaaa") else "bbbb")
    refused = await post(http, SHOPS, bearer(forged))
    assert refused.status_code == 401
    assert codes(refused) == ["UNAUTHENTICATED"]
    assert (await post(http, SHOPS, bearer(secret))).status_code == 200
