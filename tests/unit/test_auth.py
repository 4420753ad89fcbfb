"""Credentials, roles and request checks that need no server."""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from graphql import parse

from gateway.schema import build_schema
from gateway.security import csrf
from gateway.security.limits import limit_code, without_suggestions
from gateway.security.persisted_queries import check_hash, requested_hash
from gateway.security.rate_limit import RateLimiter
from gateway.security.roles import MUTATION_ROLES, QUERY_ROLES, root_fields
from services.runtime.auth import (
    InvalidCredentials,
    JwtVerifier,
    Role,
    bearer_token,
    generate_api_key,
    hash_secret,
    secret_matches,
    split_api_key,
)
from services.runtime.errors import ValidationFailed
from services.runtime.settings import IntegraSettings

SECRET = "a-unit-test-secret-that-is-long-enough"


def test_every_mutation_has_a_role_and_no_role_is_stale() -> None:
    schema = build_schema(IntegraSettings())._schema
    assert schema.mutation_type is not None
    assert schema.query_type is not None
    mutations = set(schema.mutation_type.fields)
    missing = mutations - MUTATION_ROLES.keys()
    assert not missing, f"add these mutations to MUTATION_ROLES: {sorted(missing)}"
    assert not MUTATION_ROLES.keys() - mutations, "MUTATION_ROLES names unknown mutations"
    assert QUERY_ROLES.keys() <= set(schema.query_type.fields)


def test_roles_are_ordered() -> None:
    assert Role.ADMIN.includes(Role.ANALYST)
    assert Role.ANALYST.includes(Role.VIEWER)
    assert not Role.VIEWER.includes(Role.ANALYST)
    assert not Role.ANALYST.includes(Role.ADMIN)


def hs256(**claims: object) -> str:
    return jwt.encode({"sub": "u", "exp": int(time.time()) + 60, **claims}, SECRET)


def test_hs256_token_names_its_caller() -> None:
    caller = JwtVerifier(SECRET).verify(hs256(sub="ana", role="ANALYST"))
    assert (caller.client_id, caller.role, caller.kind) == ("jwt:ana", Role.ANALYST, "jwt")
    assert JwtVerifier(SECRET).verify(hs256(roles=["VIEWER", "ADMIN"])).role is Role.ADMIN


@pytest.mark.parametrize(
    "token",
    [
        hs256(role="ADMIN", exp=int(time.time()) - 120),
        jwt.encode({"sub": "u", "role": "ADMIN"}, SECRET),
        jwt.encode({"role": "ADMIN", "exp": int(time.time()) + 60}, SECRET),
        hs256(role="ROOT"),
        hs256(roles="ADMIN"),
        jwt.encode(
            {"sub": "u", "role": "ADMIN", "exp": 2**40}, "another-secret-that-is-long-enough-too"
        ),
        jwt.encode({"sub": "u", "role": "ADMIN", "exp": 2**40}, "", algorithm="none"),
        "not.a.jwt",
    ],
)
def test_bad_tokens_are_refused(token: str) -> None:
    with pytest.raises(InvalidCredentials):
        JwtVerifier(SECRET).verify(token)


def test_audience_and_issuer_are_checked_when_set() -> None:
    verifier = JwtVerifier(SECRET, audience="integra", issuer="https://idp")
    good = hs256(role="VIEWER", aud="integra", iss="https://idp")
    assert verifier.verify(good).role is Role.VIEWER
    for bad in (hs256(role="VIEWER", aud="x", iss="https://idp"), hs256(role="VIEWER")):
        with pytest.raises(InvalidCredentials):
            verifier.verify(bad)


def test_rs256_with_a_jwks_file_and_no_algorithm_confusion(tmp_path: Path) -> None:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(private.public_key()))
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps({"keys": [{**jwk, "kid": "main"}]}))
    verifier = JwtVerifier(jwks_file=jwks)
    claims = {"sub": "sso", "role": "ADMIN", "exp": int(time.time()) + 60}
    assert verifier.verify(jwt.encode(claims, private, "RS256", {"kid": "main"})).role is Role.ADMIN
    assert verifier.verify(jwt.encode(claims, private, "RS256")).role is Role.ADMIN
    with pytest.raises(InvalidCredentials, match="key id"):
        verifier.verify(jwt.encode(claims, private, "RS256", {"kid": "other"}))
    # with only RS256 keys configured, an HS256 token is refused (no algorithm confusion)
    with pytest.raises(InvalidCredentials, match="HS256"):
        verifier.verify(hs256(role="ADMIN"))


def test_bearer_header_parsing() -> None:
    assert bearer_token(None) is None
    assert bearer_token("  ") is None
    assert bearer_token("Bearer abc") == "abc"
    assert bearer_token("bearer  abc ") == "abc"
    for bad in ("Basic abc", "Bearer", "abc"):
        with pytest.raises(InvalidCredentials):
            bearer_token(bad)


def test_api_keys_are_random_and_checked_by_salted_hash() -> None:
    one, two = generate_api_key(), generate_api_key()
    assert one.plaintext.startswith("ik_")
    assert one.plaintext != two.plaintext
    key_id, secret = split_api_key(one.plaintext)
    assert key_id == one.key_id
    assert secret not in one.secret_hash
    assert one.secret_hash == hash_secret(secret, one.salt)
    assert secret_matches(secret, one.salt, one.secret_hash)
    assert not secret_matches(secret + "x", one.salt, one.secret_hash)
    assert hash_secret(secret, "other-salt") != one.secret_hash
    for malformed in ("ik_", "ik_abc_def", "ik_0123456789abcdef", "ik_0123456789ABCDEF_x", "x"):
        with pytest.raises(InvalidCredentials):
            split_api_key(malformed)


def test_token_bucket_refills_over_time() -> None:
    now = [0.0]
    limiter = RateLimiter(3, clock=lambda: now[0])
    assert [limiter.acquire("a") for _ in range(3)] == [None, None, None]
    assert limiter.acquire("a") == 20  # one token every 20 s
    assert limiter.acquire("b") is None
    now[0] = 20.0
    assert limiter.acquire("a") is None
    assert limiter.acquire("a") == 20
    assert RateLimiter(0).acquire("a") is None


@pytest.mark.parametrize(
    ("method", "headers", "forgeable"),
    [
        ("GET", {}, True),
        ("GET", {"x-integra-csrf": "1"}, False),
        ("GET", {"apollo-require-preflight": "true"}, False),
        ("GET", {"x-apollo-operation-name": ""}, True),
        ("POST", {}, True),
        ("POST", {"content-type": "text/plain;charset=utf-8"}, True),
        ("POST", {"content-type": "application/x-www-form-urlencoded"}, True),
        ("POST", {"content-type": "multipart/form-data; boundary=x"}, True),
        ("POST", {"content-type": "multipart/form-data", "x-integra-csrf": "y"}, False),
        ("POST", {"content-type": "application/json"}, False),
    ],
)
def test_csrf_rule(method: str, headers: dict[str, str], forgeable: bool) -> None:
    assert csrf.is_forgeable(method, headers) is forgeable


def test_persisted_query_hashes_are_checked() -> None:
    assert requested_hash(None) is None
    assert requested_hash({"other": 1}) is None
    digest = "a" * 64
    assert requested_hash({"persistedQuery": {"version": 1, "sha256Hash": digest}}) == digest
    for bad in ({"version": 2, "sha256Hash": digest}, {"sha256Hash": "abc"}, "x"):
        with pytest.raises(ValidationFailed):
            requested_hash({"persistedQuery": bad})
    check_hash("{ __typename }", hashlib.sha256(b"{ __typename }").hexdigest())
    with pytest.raises(ValidationFailed):
        check_hash("{ __typename }", digest)


def test_limit_messages_get_codes_and_suggestions_can_go() -> None:
    assert limit_code("'anonymous' exceeds maximum operation depth of 12") == "QUERY_TOO_DEEP"
    assert limit_code("31 aliases found. Allowed: 30") == "QUERY_TOO_MANY_ALIASES"
    assert (
        limit_code("Syntax Error: Document contains more than 2000 tokens. Parsing aborted.")
        == "QUERY_TOO_MANY_TOKENS"
    )
    assert limit_code("Cannot query field 'x' on type 'Query'.") is None
    assert (
        without_suggestions(
            "Cannot query field 'shopz' on type 'Query'. Did you mean 'shop' or 'shops'?"
        )
        == "Cannot query field 'shopz' on type 'Query'."
    )


def test_root_fields_follow_fragments() -> None:
    document = parse(
        "mutation M { a: createShop(input: {}) { id } ... on Mutation { deleteShop(id: 1) "
        '{ id } } ...F __typename } fragment F on Mutation { createApiKey(name: "n", '
        "role: ADMIN) { secret } }"
    )
    names = [f.name.value for f in root_fields(document, "M")]
    assert names == ["createShop", "deleteShop", "createApiKey"]
