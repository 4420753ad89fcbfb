"""Short-lived tokens one component signs for each call to another (zero trust inside).

The gateway calls a service with a JWT it signs per request (cached per caller and audience
for half its lifetime): HS256 with the shared service key, ``aud`` = the service called,
``exp`` a few seconds ahead, and the caller's principal (``sub`` = client id, ``name``,
``role``, ``kind``). Background callers sign as a service principal of their own
(``service:kpi``). Rotation: a service accepts the current key and any previous key listed in
settings, so keys can be rolled one process at a time. The header's ``kid`` (a digest of the
key, never the key) says which key signed.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import jwt
from pydantic import SecretStr

from services.runtime.auth import CredentialKind, InvalidCredentials, Principal, Role
from services.runtime.settings import IntegraSettings

ISSUER = "integra"
KID_PREFIX = "integra:"
KEY_FILE = "service-token-key"
_KINDS: tuple[CredentialKind, ...] = ("api-key", "jwt", "service", "anonymous")
_CACHE_CAPACITY = 4096


def service_principal(component: str, role: Role = Role.ANALYST) -> Principal:
    """The principal a component acts as in background work (``service:kpi``)."""
    return Principal(f"service:{component}", component, role, "service")


def key_id(key: str) -> str:
    """The ``kid`` of tokens signed with ``key``: a short digest that reveals nothing."""
    return KID_PREFIX + hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]


def is_service_token(token: str) -> bool:
    """Whether ``token`` is a JWT whose header names a service key (cheap, unverified)."""
    try:
        kid = jwt.get_unverified_header(token).get("kid")
    except jwt.PyJWTError:
        return False
    return isinstance(kid, str) and kid.startswith(KID_PREFIX)


class ServiceTokens:
    """Signs and verifies per-request service tokens with the current and previous keys."""

    def __init__(self, key: str, previous: Sequence[str] = (), ttl_seconds: float = 60.0) -> None:
        self._key = key
        self._kid = key_id(key)
        self._keys = {key_id(k): k for k in (*previous, key)}
        self.ttl = ttl_seconds
        self._cache: dict[tuple[Principal, str], tuple[str, float]] = {}

    def sign(self, principal: Principal, audience: str) -> str:
        """A token for ``principal`` calling ``audience``, reused while it has half its life."""
        now = time.time()
        cached = self._cache.get((principal, audience))
        if cached is not None and cached[1] > now:
            return cached[0]
        claims = {
            "iss": ISSUER,
            "aud": audience,
            "sub": principal.client_id,
            "name": principal.name,
            "role": principal.role.value,
            "kind": principal.kind,
            "iat": int(now),
            "exp": int(now + self.ttl),
        }
        token = jwt.encode(claims, self._key, algorithm="HS256", headers={"kid": self._kid})
        if len(self._cache) >= _CACHE_CAPACITY:
            self._cache.clear()
        self._cache[(principal, audience)] = (token, now + self.ttl / 2)
        return token

    def verify(self, token: str, audience: str) -> Principal:
        """The principal a valid token for ``audience`` carries; InvalidCredentials else."""
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.PyJWTError as exc:
            raise InvalidCredentials("the service token is not a valid JWT") from exc
        key = self._keys.get(kid) if isinstance(kid, str) else None
        if key is None:
            raise InvalidCredentials("the service token is signed with an unknown key")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=["HS256"],
                audience=audience,
                issuer=ISSUER,
                leeway=5,
                options={"require": ["exp", "sub", "aud", "iss"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise InvalidCredentials("the service token has expired") from exc
        except jwt.PyJWTError as exc:
            raise InvalidCredentials(f"the service token is invalid: {exc}") from exc
        return _principal(claims)


def _principal(claims: dict[str, Any]) -> Principal:
    sub, name, role, kind = (claims.get(k) for k in ("sub", "name", "role", "kind"))
    if not isinstance(sub, str) or not isinstance(name, str) or kind not in _KINDS:
        raise InvalidCredentials("the service token does not name a principal")
    if not isinstance(role, str) or role not in Role.__members__:
        raise InvalidCredentials("the service token has no Integra role")
    valid_kind: CredentialKind = kind
    return Principal(sub, name, Role(role), valid_kind)


def generate_key() -> str:
    """A new random service key (256 bits, URL-safe)."""
    return secrets.token_urlsafe(32)


def stored_key(data_dir: Path, *, create: bool) -> str | None:
    """The key of ``<data_dir>/service-token-key``; created (0600, O_EXCL) when asked."""
    path = data_dir / KEY_FILE
    if path.is_file():
        return path.read_text(encoding="utf-8").strip() or None
    if not create:
        return None
    data_dir.mkdir(parents=True, exist_ok=True)
    key = generate_key()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except FileExistsError:  # another process wrote it first: use theirs
        return path.read_text(encoding="utf-8").strip() or None
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        file.write(key + "\n")
    return key


def tokens_from(settings: IntegraSettings) -> ServiceTokens | None:
    """The signer/verifier of ``settings``' service key (``None`` when none is configured)."""
    if settings.service_token_key is None:
        return None
    return ServiceTokens(
        settings.service_token_key.get_secret_value(),
        [k.get_secret_value() for k in settings.service_token_previous_keys],
        settings.service_token_ttl_seconds,
    )


def with_service_key(settings: IntegraSettings, *, create: bool) -> IntegraSettings:
    """``settings`` with a service key: its own, else the data directory's (made if asked)."""
    if settings.service_token_key is not None:
        return settings
    key = stored_key(settings.data_dir, create=create)
    if key is None:
        return settings
    return settings.model_copy(update={"service_token_key": SecretStr(key)})
