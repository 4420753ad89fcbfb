"""Credentials: roles, bearer tokens, JWT verification and the API key format.

A request carries ``Authorization: Bearer <token>``. The token is either a JWT (HS256 with a
shared secret, or RS256 with a key from a JWKS file) or an Integra API key
``ik_<key id>_<secret>``. API keys are stored hashed: ``sha256(salt + secret)`` with a random
salt per key, compared in constant time. Nothing here does I/O except reading the JWKS file
once when a verifier is built.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

import jwt

API_KEY_PREFIX = "ik_"
_KEY_ID_BYTES = 8
_SECRET_BYTES = 32


class Role(StrEnum):
    """What a caller may do; each role includes the ones below it."""

    VIEWER = "VIEWER"
    ANALYST = "ANALYST"
    ADMIN = "ADMIN"

    @property
    def rank(self) -> int:
        """Position in VIEWER < ANALYST < ADMIN."""
        return _RANKS[self]

    def includes(self, required: Role) -> bool:
        """Whether a caller with this role may do what ``required`` allows."""
        return self.rank >= required.rank


_RANKS = {Role.VIEWER: 0, Role.ANALYST: 1, Role.ADMIN: 2}

CredentialKind = Literal["api-key", "jwt", "service", "anonymous"]


@dataclass(frozen=True)
class Principal:
    """Who is calling: a stable client id (rate limits, logs), a name and a role."""

    client_id: str
    name: str
    role: Role
    kind: CredentialKind


class InvalidCredentials(Exception):
    """A bearer token that is malformed, unknown, revoked, expired or badly signed."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def bearer_token(header: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header; ``None`` without a header.

    Raises :class:`InvalidCredentials` for another scheme or an empty token.
    """
    if header is None or not header.strip():
        return None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise InvalidCredentials("the Authorization header must be 'Bearer <token>'")
    return token.strip()


def highest_role(claims: dict[str, Any]) -> Role:
    """The role of a JWT: its ``role`` claim, or the highest known one of its ``roles`` list."""
    candidates: list[object] = []
    if "role" in claims:
        candidates.append(claims["role"])
    roles = claims.get("roles")
    if isinstance(roles, list):
        candidates.extend(roles)
    known = [Role(c) for c in candidates if isinstance(c, str) and c in Role.__members__]
    if not known:
        raise InvalidCredentials("the token has no Integra role (VIEWER, ANALYST or ADMIN)")
    return max(known, key=lambda role: role.rank)


class JwtVerifier:
    """Checks JWTs: HS256 with ``secret``, RS256 with the keys of a JWKS file or URL.

    A JWKS URL (an identity provider's) is read through PyJWT's ``PyJWKClient``: its keys are
    cached, and a token whose ``kid`` is unknown makes it fetch the set again, so a provider
    can rotate keys without a restart. That fetch is network I/O: call :meth:`verify` off the
    event loop when :attr:`fetches` is true.

    ``exp`` and ``sub`` are required; ``aud`` and ``iss`` are checked when configured. The
    algorithm decides the key, so an RS256 public key is never used as an HS256 secret.
    """

    def __init__(
        self,
        secret: str | None = None,
        jwks_file: Path | None = None,
        audience: str | None = None,
        issuer: str | None = None,
        jwks_url: str | None = None,
        jwks_refetch_seconds: float = 30.0,
    ) -> None:
        self.secret = secret
        self.audience = audience
        self.issuer = issuer
        self.keys: dict[str | None, Any] = {}
        if jwks_file is not None:
            jwks = jwt.PyJWKSet.from_dict(json.loads(jwks_file.read_text(encoding="utf-8")))
            self.keys = {key.key_id: key.key for key in jwks.keys}
        self.jwks_client = (
            # The set is cached 5 minutes; an unknown kid refetches it at most every
            # ``jwks_refetch_seconds`` (a flood of made-up kids cannot hammer the provider).
            jwt.PyJWKClient(
                jwks_url, lifespan=300, timeout=5, cooldown_duration=jwks_refetch_seconds
            )
            if jwks_url
            else None
        )

    @property
    def fetches(self) -> bool:
        """Whether :meth:`verify` may fetch keys over the network (a JWKS URL)."""
        return self.jwks_client is not None

    @property
    def configured(self) -> bool:
        """Whether any JWT can be accepted at all."""
        return self.secret is not None or bool(self.keys) or self.jwks_client is not None

    def _key(self, token: str) -> tuple[Any, str]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise InvalidCredentials("the token is not a valid JWT") from exc
        algorithm = header.get("alg")
        if algorithm == "HS256" and self.secret is not None:
            return self.secret, algorithm
        if algorithm == "RS256" and (self.keys or self.jwks_client is not None):
            kid = header.get("kid")
            if kid in self.keys:
                return self.keys[kid], algorithm
            if kid is None and len(self.keys) == 1:
                return next(iter(self.keys.values())), algorithm
            if self.jwks_client is not None and isinstance(kid, str):
                return _fetched_key(self.jwks_client, token), algorithm
            raise InvalidCredentials("the token's key id is not in the JWKS")
        raise InvalidCredentials(f"JWTs signed with {algorithm!s} are not accepted")

    def verify(self, token: str) -> Principal:
        """The caller a valid token names; :class:`InvalidCredentials` otherwise."""
        key, algorithm = self._key(token)
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[algorithm],
                audience=self.audience,
                issuer=self.issuer,
                leeway=30,
                options={
                    "require": ["exp", "sub"],
                    "verify_aud": self.audience is not None,
                },
            )
        except jwt.ExpiredSignatureError as exc:
            raise InvalidCredentials("the token has expired") from exc
        except jwt.PyJWTError as exc:
            raise InvalidCredentials(f"the token is invalid: {exc}") from exc
        subject = claims["sub"]
        if not isinstance(subject, str) or not subject:
            raise InvalidCredentials("the token's sub must be a non-empty string")
        return Principal(f"jwt:{subject}", subject, highest_role(claims), "jwt")


def _fetched_key(client: jwt.PyJWKClient, token: str) -> Any:
    """The key of ``token`` from a JWKS URL (fetched again once for an unknown ``kid``)."""
    try:
        return client.get_signing_key_from_jwt(token).key
    except jwt.PyJWKClientConnectionError as exc:
        raise InvalidCredentials("the identity provider's keys cannot be fetched") from exc
    except jwt.PyJWTError as exc:
        raise InvalidCredentials("the token's key id is not in the JWKS") from exc


@dataclass(frozen=True)
class NewApiKey:
    """A freshly generated key: its id, the plaintext shown once, and what is stored."""

    key_id: str
    plaintext: str
    salt: str
    secret_hash: str


def generate_api_key() -> NewApiKey:
    """A new random key ``ik_<id>_<secret>`` with its salted hash."""
    key_id = secrets.token_hex(_KEY_ID_BYTES)
    secret = secrets.token_urlsafe(_SECRET_BYTES)
    salt = secrets.token_hex(16)
    return NewApiKey(key_id, f"{API_KEY_PREFIX}{key_id}_{secret}", salt, hash_secret(secret, salt))


def looks_like_api_key(token: str) -> bool:
    """Whether ``token`` has the API key prefix (else it is treated as a JWT)."""
    return token.startswith(API_KEY_PREFIX)


def split_api_key(plaintext: str) -> tuple[str, str]:
    """The key id and secret of ``ik_<id>_<secret>``; :class:`InvalidCredentials` if malformed."""
    key_id, sep, secret = plaintext.removeprefix(API_KEY_PREFIX).partition("_")
    valid_id = len(key_id) == 2 * _KEY_ID_BYTES and all(c in "0123456789abcdef" for c in key_id)
    if not plaintext.startswith(API_KEY_PREFIX) or not sep or not valid_id or not secret:
        raise InvalidCredentials("the API key is malformed")
    return key_id, secret


def hash_secret(secret: str, salt: str) -> str:
    """The stored form of a key's secret: hex ``sha256(salt + secret)``."""
    return hashlib.sha256((salt + secret).encode("utf-8")).hexdigest()


def secret_matches(secret: str, salt: str, secret_hash: str) -> bool:
    """Whether ``secret`` hashes to ``secret_hash``, compared in constant time."""
    return hmac.compare_digest(hash_secret(secret, salt), secret_hash)
