"""API keys for partners and scripts, stored hashed in the gateway's own database.

Collection ``api_keys`` of ``<db_prefix>_gateway``; one document per key:
``{_id: key id, name, role, salt, secretHash, createdAt, usage: {lastUsedAt},
revocation: {revokedAt} | null}``. The plaintext exists only in the answer that created the
key. Dates are written inside whole subdocuments (see the nx-27017 notes in the README).
"""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from pymongo.asynchronous.database import AsyncDatabase

from services.runtime.auth import (
    InvalidCredentials,
    Principal,
    Role,
    generate_api_key,
    secret_matches,
    split_api_key,
)
from services.runtime.errors import NotFound, ValidationFailed
from services.runtime.records import Document

TOUCH_INTERVAL_SECONDS = 60.0
"""``lastUsedAt`` is written at most once a minute per key and process."""
MAX_NAME_LENGTH = 100
VERIFIED_KEY_SECONDS = 5.0
"""How long a process trusts a key it has verified without reading it again. A revocation is
effective at once in the process that revokes; another gateway replica sees it within this
time."""
VERIFIED_KEY_CAPACITY = 1000
"""Verified keys remembered per process (the oldest is forgotten first)."""


@dataclass(frozen=True)
class _Verified:
    secret_digest: bytes
    principal: Principal
    record: ApiKeyRecord
    expires: float


@dataclass(frozen=True)
class ApiKeyRecord:
    """What is known about a key (never its secret)."""

    id: str
    name: str
    role: Role
    created_at: datetime
    last_used_at: datetime | None
    revoked: bool


def _as_datetime(value: object) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str):
        return datetime.fromisoformat(value)
    return None


def _record(doc: Document) -> ApiKeyRecord:
    usage = doc.get("usage") or {}
    created = _as_datetime(doc["createdAt"])
    if created is None:
        raise ValueError(f"API key {doc['_id']} has no creation time")
    return ApiKeyRecord(
        id=str(doc["_id"]),
        name=str(doc["name"]),
        role=Role(str(doc["role"])),
        created_at=created,
        last_used_at=_as_datetime(usage.get("lastUsedAt")) if isinstance(usage, dict) else None,
        revoked=bool(doc.get("revocation")),
    )


def check_key_name(name: str) -> str:
    """A key's name: 1–100 printable characters, trimmed."""
    trimmed = name.strip()
    if not trimmed or len(trimmed) > MAX_NAME_LENGTH or not trimmed.isprintable():
        raise ValidationFailed(
            "name", f"a key name has 1 to {MAX_NAME_LENGTH} printable characters"
        )
    return trimmed


class ApiKeyStore:
    """Creates, lists, revokes and checks API keys."""

    def __init__(
        self, db: AsyncDatabase[Document], verified_seconds: float = VERIFIED_KEY_SECONDS
    ) -> None:
        self.keys = db["api_keys"]
        self._touched: dict[str, float] = {}
        self._verified_seconds = verified_seconds
        self._verified: dict[str, _Verified] = {}

    async def create(self, name: str, role: Role) -> tuple[ApiKeyRecord, str]:
        """A new key; the plaintext is returned here and never again."""
        new = generate_api_key()
        doc: Document = {
            "_id": new.key_id,
            "name": check_key_name(name),
            "role": role.value,
            "salt": new.salt,
            "secretHash": new.secret_hash,
            "createdAt": datetime.now(UTC),
            "usage": None,
            "revocation": None,
        }
        await self.keys.insert_one(doc)
        return _record(doc), new.plaintext

    async def all(self) -> list[ApiKeyRecord]:
        """Every key, oldest first (revoked ones too, marked)."""
        docs = await self.keys.find({}).to_list()
        return sorted((_record(d) for d in docs), key=lambda r: (r.created_at, r.id))

    async def revoke(self, key_id: str) -> ApiKeyRecord:
        """Revoke a key at once; revoking twice keeps the first revocation."""
        doc = await self.keys.find_one({"_id": key_id})
        if doc is None:
            raise NotFound("API key", key_id)
        if not doc.get("revocation"):
            revocation = {"revokedAt": datetime.now(UTC)}
            await self.keys.update_one({"_id": key_id}, {"$set": {"revocation": revocation}})
            doc["revocation"] = revocation
        self._verified.pop(key_id, None)
        return _record(doc)

    async def has_active_admin(self) -> bool:
        """Whether any unrevoked ADMIN key exists."""
        return any(r.role is Role.ADMIN and not r.revoked for r in await self.all())

    async def authenticate(self, plaintext: str) -> Principal:
        """The caller an API key names; :class:`InvalidCredentials` if unknown or revoked."""
        key_id, secret = split_api_key(plaintext)
        digest = hashlib.sha256(secret.encode("utf-8")).digest()
        now = time.monotonic()
        verified = self._verified.get(key_id)
        if (
            verified is not None
            and verified.expires > now
            and hmac.compare_digest(verified.secret_digest, digest)
        ):
            await self._touch(verified.record)
            return verified.principal
        doc = await self.keys.find_one({"_id": key_id})
        if doc is None or not secret_matches(secret, str(doc["salt"]), str(doc["secretHash"])):
            raise InvalidCredentials("the API key is not valid")
        record = _record(doc)
        if record.revoked:
            self._verified.pop(key_id, None)
            raise InvalidCredentials("the API key has been revoked")
        principal = Principal(f"key:{record.id}", record.name, record.role, "api-key")
        self._remember(key_id, _Verified(digest, principal, record, now + self._verified_seconds))
        await self._touch(record)
        return principal

    def _remember(self, key_id: str, verified: _Verified) -> None:
        if self._verified_seconds <= 0:
            return
        self._verified.pop(key_id, None)
        while len(self._verified) >= VERIFIED_KEY_CAPACITY:
            del self._verified[next(iter(self._verified))]
        self._verified[key_id] = verified

    async def _touch(self, record: ApiKeyRecord) -> None:
        now = time.monotonic()
        last = self._touched.get(record.id)
        if last is not None and now - last < TOUCH_INTERVAL_SECONDS:
            return
        self._touched[record.id] = now
        wall = datetime.now(UTC)
        if record.last_used_at and (wall - record.last_used_at).total_seconds() < 60:
            return
        await self.keys.update_one({"_id": record.id}, {"$set": {"usage": {"lastUsedAt": wall}}})
