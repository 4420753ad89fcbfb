"""JWTs checked against an identity provider's JWKS URL: a real HTTP server on loopback
rotates its keys, and tokens signed with the new key verify without a restart."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from services.runtime.auth import InvalidCredentials, JwtVerifier, Principal, Role
from services.runtime.authentication import Authenticator
from services.runtime.settings import IntegraSettings


class Provider:
    """A JWKS endpoint whose key set the test changes, counting the fetches."""

    def __init__(self) -> None:
        self.keys: dict[str, rsa.RSAPrivateKey] = {}
        self.fetches = 0

    def add(self, kid: str) -> None:
        self.keys[kid] = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def jwks(self) -> dict[str, Any]:
        keys = []
        for kid, key in self.keys.items():
            jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
            keys.append({**jwk, "kid": kid, "use": "sig", "alg": "RS256"})
        return {"keys": keys}

    def token(self, kid: str, **claims: Any) -> str:
        payload = {"sub": "partner", "role": "ANALYST", "exp": int(time.time()) + 60, **claims}
        return jwt.encode(payload, self.keys[kid], algorithm="RS256", headers={"kid": kid})


@pytest.fixture
def provider() -> Iterator[tuple[Provider, str]]:
    state = Provider()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.fetches += 1
            body = json.dumps(state.jwks()).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            """Quiet."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{server.server_address[1]}/jwks.json"
    finally:
        server.shutdown()
        server.server_close()


def test_keys_are_cached_and_a_rotated_key_is_fetched_without_a_restart(
    provider: tuple[Provider, str],
) -> None:
    state, url = provider
    state.add("a")
    verifier = JwtVerifier(jwks_url=url, jwks_refetch_seconds=0)
    assert verifier.verify(state.token("a")).role is Role.ANALYST
    assert verifier.verify(state.token("a")).client_id == "jwt:partner"
    assert state.fetches == 1  # cached
    state.add("b")  # the provider rotates
    assert verifier.verify(state.token("b")).name == "partner"
    assert state.fetches == 2
    unknown = jwt.encode(
        {"sub": "x", "role": "ADMIN", "exp": int(time.time()) + 60},
        rsa.generate_private_key(public_exponent=65537, key_size=2048),
        algorithm="RS256",
        headers={"kid": "never-published"},
    )
    with pytest.raises(InvalidCredentials, match="key id"):
        verifier.verify(unknown)


def test_audience_and_issuer_are_checked_when_set(provider: tuple[Provider, str]) -> None:
    state, url = provider
    state.add("a")
    verifier = JwtVerifier(jwks_url=url, audience="integra", issuer="https://idp.example")
    good = state.token("a", aud="integra", iss="https://idp.example")
    assert verifier.verify(good).role is Role.ANALYST
    for claims in ({"aud": "other", "iss": "https://idp.example"}, {"aud": "integra"}):
        with pytest.raises(InvalidCredentials):
            verifier.verify(state.token("a", **claims))


def test_an_unreachable_provider_is_a_clear_refusal() -> None:
    verifier = JwtVerifier(jwks_url="http://127.0.0.1:1/jwks.json")
    token = jwt.encode(
        {"sub": "x", "role": "ADMIN", "exp": int(time.time()) + 60},
        rsa.generate_private_key(public_exponent=65537, key_size=2048),
        algorithm="RS256",
        headers={"kid": "k"},
    )
    with pytest.raises(InvalidCredentials, match="cannot be fetched"):
        verifier.verify(token)


def test_made_up_key_ids_do_not_hammer_the_provider(provider: tuple[Provider, str]) -> None:
    """Within the refetch cool-down an unknown ``kid`` is refused without a new fetch."""
    state, url = provider
    state.add("a")
    verifier = JwtVerifier(jwks_url=url, jwks_refetch_seconds=60)
    assert verifier.verify(state.token("a")).role is Role.ANALYST
    state.add("b")
    for _ in range(5):
        with pytest.raises(InvalidCredentials, match="key id is not in the JWKS"):
            verifier.verify(state.token("b"))
    assert state.fetches == 1


async def test_the_setting_reaches_the_authenticator_and_keys_are_fetched_off_the_loop(
    provider: tuple[Provider, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``INTEGRA_JWT_JWKS_URL`` configures every component's authenticator; the possibly
    fetching check runs in a worker thread, never on the event loop's."""
    state, url = provider
    state.add("a")
    monkeypatch.setenv("INTEGRA_JWT_JWKS_URL", url)
    authenticator = Authenticator(IntegraSettings(), keys=None)
    threads: list[threading.Thread] = []
    verify = authenticator.jwt.verify

    def recording(token: str) -> Principal:
        threads.append(threading.current_thread())
        return verify(token)

    monkeypatch.setattr(authenticator.jwt, "verify", recording)
    caller = await authenticator.authenticate(f"Bearer {state.token('a')}")
    assert caller is not None
    assert (caller.name, caller.kind) == ("partner", "jwt")
    assert len(threads) == 1
    assert threads[0] is not threading.current_thread()  # not the event loop's thread
