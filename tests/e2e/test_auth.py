"""Authentication and roles on /graphql, through the one-process stack over a real database."""

from __future__ import annotations

import asyncio
import json
import logging
import stat
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from pymongo import AsyncMongoClient

from gateway.security.bootstrap import ensure_local_admin_key
from services.runtime.auth import Role
from services.runtime.settings import IntegraSettings
from tests.conftest import bearer, signed_jwt, stack_client
from tests.e2e.processes import INTEGRA, clean_env

SHOPS = "{ shops { totalCount } }"
CREATE_SHOP = 'mutation { createShop(input: {name: "Keyed"}) { id } }'
CRITERIA = dict.fromkeys("UIRCTLSME", 50)
RECORD = "mutation($i: RecordAssessmentInput!) { recordAssessment(input: $i) { id band } }"
PROFILE = (
    'mutation($w: WeightsInput!) { createWeightProfile(input: {name: "ops", weights: $w}) '
    "{ name } }"
)
WEIGHTS = dict.fromkeys("UIRCTLSM", 0.125)
CREATE_KEY = (
    "mutation($n: String!, $r: Role!) { createApiKey(name: $n, role: $r) "
    "{ secret key { id name role revoked createdAt lastUsedAt } } }"
)


async def post(
    http: httpx.AsyncClient, query: str, headers: dict[str, str], variables: Any = None
) -> httpx.Response:
    return await http.post(
        "/graphql", json={"query": query, "variables": variables}, headers=headers
    )


async def shop_count(http: httpx.AsyncClient) -> int:
    answer = (await http.post("/graphql", json={"query": SHOPS})).json()
    count: int = answer["data"]["shops"]["totalCount"]
    return count


def only_error(response: httpx.Response) -> dict[str, Any]:
    errors = response.json()["errors"]
    assert len(errors) == 1, errors
    error: dict[str, Any] = errors[0]
    return error


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Basic dXNlcjpwYXNz", "Bearer ", "Bearer not-a-token", "Bearer ik_short"],
)
async def test_missing_or_malformed_credentials_are_401(
    http: httpx.AsyncClient, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization is not None else {}
    if authorization is None:
        http.headers.pop("Authorization")
    response = await post(http, SHOPS, headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert only_error(response)["extensions"]["code"] == "UNAUTHENTICATED"


async def test_viewer_reads_but_cannot_write(
    http: httpx.AsyncClient, viewer: dict[str, str]
) -> None:
    read = await post(http, SHOPS, viewer)
    assert read.status_code == 200
    assert read.json() == {"data": {"shops": {"totalCount": 0}}}

    refused = await post(http, CREATE_SHOP, viewer)
    error = only_error(refused)
    assert error["extensions"] == {
        "code": "FORBIDDEN",
        "field": "createShop",
        "requiredRole": "ANALYST",
    }
    assert "ANALYST" in error["message"]
    assert refused.json()["data"] is None
    assert await shop_count(http) == 0


async def test_analyst_records_but_cannot_configure(
    http: httpx.AsyncClient, analyst: dict[str, str]
) -> None:
    created = (await post(http, CREATE_SHOP, analyst)).json()
    shop_id = created["data"]["createShop"]["id"]
    recorded = await post(
        http, RECORD, analyst, {"i": {"shopId": shop_id, "assessor": "ana", "criteria": CRITERIA}}
    )
    assert recorded.json()["data"]["recordAssessment"]["band"]

    refused = only_error(await post(http, PROFILE, analyst, {"w": WEIGHTS}))
    assert refused["extensions"]["code"] == "FORBIDDEN"
    assert refused["extensions"]["requiredRole"] == "ADMIN"
    assert (await post(http, PROFILE, {}, {"w": WEIGHTS})).json()["data"] == {
        "createWeightProfile": {"name": "ops"}
    }, "the ADMIN default of the client may"


async def test_a_document_with_one_forbidden_mutation_runs_none(
    http: httpx.AsyncClient, analyst: dict[str, str]
) -> None:
    both = (
        'mutation($w: WeightsInput!) { first: createShop(input: {name: "A"}) { id } '
        '...Admin } fragment Admin on Mutation { createWeightProfile(input: {name: "x", '
        "weights: $w}) { name } }"
    )
    error = only_error(await post(http, both, analyst, {"w": WEIGHTS}))
    assert error["extensions"]["field"] == "createWeightProfile"
    assert await shop_count(http) == 0


async def test_admin_manages_api_keys_and_a_revoked_key_is_refused(
    http: httpx.AsyncClient, settings: IntegraSettings, viewer: dict[str, str]
) -> None:
    created = (await post(http, CREATE_KEY, {}, {"n": "partner feed", "r": "ANALYST"})).json()
    key = created["data"]["createApiKey"]
    secret = key["secret"]
    assert secret.startswith("ik_")
    assert key["key"]["role"] == "ANALYST"
    assert key["key"]["lastUsedAt"] is None

    partner = bearer(secret)
    made = (await post(http, CREATE_SHOP, partner)).json()
    assert made["data"]["createShop"]["id"]

    listed = (await post(http, "{ apiKeys { id name role revoked lastUsedAt } }", {})).json()
    [entry] = [k for k in listed["data"]["apiKeys"] if k["id"] == key["key"]["id"]]
    assert entry["name"] == "partner feed"
    assert entry["lastUsedAt"] is not None
    assert "secret" not in json.dumps(listed)

    refused = only_error(await post(http, "{ apiKeys { id } }", viewer))
    assert refused["extensions"]["requiredRole"] == "ADMIN"

    revoke = "mutation($id: ID!) { revokeApiKey(id: $id) { revoked } }"
    revoked = (await post(http, revoke, {}, {"id": key["key"]["id"]})).json()
    assert revoked["data"] == {"revokeApiKey": {"revoked": True}}
    after = await post(http, SHOPS, partner)
    assert after.status_code == 401
    assert "revoked" in only_error(after)["message"]


async def test_keys_are_stored_hashed(http: httpx.AsyncClient, settings: IntegraSettings) -> None:
    created = (await post(http, CREATE_KEY, {}, {"n": "audit", "r": "VIEWER"})).json()
    secret = created["data"]["createApiKey"]["secret"]
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(settings.mongodb_uri)
    try:
        docs = await client[settings.database_name("gateway")]["api_keys"].find({}).to_list()
    finally:
        await client.close()
    assert len(docs) == 1
    stored = json.dumps(docs, default=str)
    assert secret not in stored
    assert secret.split("_", 2)[2] not in stored
    assert docs[0]["secretHash"]


async def test_bad_input_to_key_mutations_names_the_field(http: httpx.AsyncClient) -> None:
    blank = only_error(await post(http, CREATE_KEY, {}, {"n": "  ", "r": "VIEWER"}))
    assert blank["extensions"] == {"code": "VALIDATION_ERROR", "field": "name"}
    unknown = only_error(
        await post(http, 'mutation { revokeApiKey(id: "0123456789abcdef") { id } }', {})
    )
    assert unknown["extensions"] == {"code": "NOT_FOUND", "field": "id"}


@pytest.mark.parametrize(
    ("token", "message"),
    [
        (signed_jwt(Role.ADMIN, lifetime=-3600), "expired"),
        (jwt.encode({"sub": "x", "role": "ADMIN", "exp": 2**40}, "wrong-secret-" * 4), "invalid"),
        (
            jwt.encode({"sub": "x", "role": "ADMIN"}, "integra-test-secret-of-at-least-32-bytes"),
            "exp",
        ),
        (signed_jwt("SUPERUSER"), "role"),
        (jwt.encode({"sub": "x", "role": "ADMIN", "exp": 2**40}, "", algorithm="none"), "none"),
    ],
)
async def test_bad_jwts_are_401(http: httpx.AsyncClient, token: str, message: str) -> None:
    response = await post(http, SHOPS, bearer(token))
    assert response.status_code == 401
    assert message in only_error(response)["message"]


async def test_roles_claim_takes_the_highest(http: httpx.AsyncClient) -> None:
    token = signed_jwt(Role.VIEWER, roles=["VIEWER", "ANALYST", "unknown"])
    made = (await post(http, CREATE_SHOP, bearer(token))).json()
    assert made["data"]["createShop"]["id"]


async def test_rs256_tokens_from_a_jwks_file(settings: IntegraSettings, tmp_path: Path) -> None:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(private.public_key()))
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps({"keys": [{**public_jwk, "kid": "k1", "use": "sig"}]}))
    rs = settings.model_copy(
        update={"jwt_jwks_file": jwks, "jwt_audience": "integra", "jwt_issuer": "https://idp"}
    )
    claims = {"sub": "sso-user", "role": "ANALYST", "aud": "integra", "iss": "https://idp"}
    good = jwt.encode({**claims, "exp": int(time.time()) + 60}, private, "RS256", {"kid": "k1"})
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode({**claims, "exp": int(time.time()) + 60}, other, "RS256", {"kid": "k1"})
    wrong_aud = jwt.encode(
        {**claims, "aud": "elsewhere", "exp": int(time.time()) + 60},
        private,
        "RS256",
        {"kid": "k1"},
    )
    async with stack_client(rs) as http:
        made = (await post(http, CREATE_SHOP, bearer(good))).json()
        assert made["data"]["createShop"]["id"]
        for token in (forged, wrong_aud):
            assert (await post(http, SHOPS, bearer(token))).status_code == 401


async def test_auth_switched_off_needs_no_token_and_warns(
    settings: IntegraSettings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="integra.gateway")
    async with stack_client(settings.model_copy(update={"auth_enabled": False})) as http:
        made = (await post(http, CREATE_SHOP, {})).json()
        assert made["data"]["createShop"]["id"]
    assert any("authentication is OFF" in r.getMessage() for r in caplog.records)


async def test_local_admin_key_is_created_once_and_kept_private(
    settings: IntegraSettings, tmp_path: Path
) -> None:
    local = settings.model_copy(update={"data_dir": tmp_path / "data"})
    first = await ensure_local_admin_key(local)
    assert first.created
    assert first.path == tmp_path / "data" / "admin-api-key"
    assert stat.S_IMODE(first.path.stat().st_mode) == 0o600
    key = first.path.read_text().strip()

    again = await ensure_local_admin_key(local)
    assert not again.created
    assert first.path.read_text().strip() == key

    async with stack_client(local, bearer(key)) as http:
        listed = (await http.post("/graphql", json={"query": "{ apiKeys { id role } }"})).json()
        [only] = listed["data"]["apiKeys"]
        assert only["role"] == "ADMIN"
        revoke = "mutation($id: ID!) { revokeApiKey(id: $id) { revoked } }"
        await http.post("/graphql", json={"query": revoke, "variables": {"id": only["id"]}})

    replaced = await ensure_local_admin_key(local)
    assert replaced.created, "no unrevoked ADMIN key was left, so a new one is made"
    assert first.path.read_text().strip() != key


async def test_create_api_key_command(settings: IntegraSettings) -> None:
    env = clean_env(MONGODB_URI=str(settings.mongodb_uri), INTEGRA_DB_PREFIX=settings.db_prefix)
    command = [INTEGRA, "create-api-key", "--name", "nightly export", "--role", "ANALYST"]
    done = await asyncio.to_thread(
        subprocess.run, command, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    key = done.stdout.strip()
    assert key.startswith("ik_")
    async with stack_client(settings, bearer(key)) as http:
        made = (await post(http, CREATE_SHOP, {})).json()
        assert made["data"]["createShop"]["id"]
        refused = only_error(await post(http, PROFILE, {}, {"w": WEIGHTS}))
        assert refused["extensions"]["requiredRole"] == "ADMIN"
