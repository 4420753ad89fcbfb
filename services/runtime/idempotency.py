"""Idempotency keys of creating requests (the ``Idempotency-Key`` header).

A client that retries a creating request (its answer was lost, the gateway timed out) sends the
same key again and must get the record the first attempt created, never a second one. Each
service makes that race-safe with MongoDB's own uniqueness: the id of the record a keyed request
creates is derived from the operation and the key (:meth:`Idempotency.record_id`), so a retry, or
a concurrent duplicate, collides with the first insert on the ``_id`` index and reads the
winner's record instead. The record keeps the key and a hash of the request
(:meth:`Idempotency.stamp`); the same key sent with a different request is a CONFLICT naming
``idempotencyKey`` and changes nothing.

Records embedded in another document (a risk's mitigation action, a measurement's revision) use
the same derived id and stamp inside the parent's compare-and-set write.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from starlette.requests import Request

from services.runtime.errors import Conflict, ValidationFailed

HEADER = "Idempotency-Key"
FIELD = "idempotencyKey"
MAX_KEY_LENGTH = 128
_KEY = re.compile(r"[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?")


def check_key(value: str, field: str = FIELD) -> str:
    """``value`` if it is a usable key: 1–128 printable ASCII characters, no outer spaces."""
    if len(value) > MAX_KEY_LENGTH or not _KEY.fullmatch(value):
        raise ValidationFailed(
            field,
            f"{field} must be 1 to {MAX_KEY_LENGTH} printable ASCII characters "
            "without leading or trailing spaces",
        )
    return value


def request_hash(body: BaseModel, scope: Mapping[str, str]) -> str:
    """A hash of what a request asks for: its parsed body (key order and defaults do not
    matter) and the path parameters that name where it creates."""
    canonical = json.dumps(
        {"body": body.model_dump(mode="json", by_alias=True), "scope": dict(scope)},
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class Idempotency:
    """The key of one creating request, scoped by its operation, with its request's hash."""

    operation: str
    key: str
    request: str

    def record_id(self, *scope: str) -> str:
        """The id of the record this request creates: the same for every retry of it."""
        material = "\x00".join((self.operation, *scope, self.key))
        return hashlib.sha256(material.encode()).hexdigest()[:24]

    def stamp(self) -> dict[str, str]:
        """What the created record keeps to recognise a retry."""
        return {"operation": self.operation, "key": self.key, "request": self.request}

    def check_same_request(self, stored: Mapping[str, Any]) -> None:
        """Raise CONFLICT if the record created under this key was asked by another request."""
        if stored.get("idempotency", {}).get("request") != self.request:
            raise Conflict(
                FIELD,
                f"idempotency key {self.key!r} was already used for a different request",
            )


def idempotency_of(
    operation: str, key: str | None, body: BaseModel, scope: Mapping[str, str] | None = None
) -> Idempotency | None:
    """The idempotency of a creating call given ``key`` (``None`` without one); a bad key is
    a VALIDATION_ERROR naming ``idempotencyKey``. ``scope`` names where the call creates."""
    if key is None:
        return None
    return Idempotency(operation, check_key(key), request_hash(body, scope or {}))


def from_request(
    request: Request, operation: str, body: BaseModel, scope: Mapping[str, str] | None = None
) -> Idempotency | None:
    """The request's idempotency (``None`` without the header); a bad key is a
    VALIDATION_ERROR naming ``idempotencyKey``."""
    return idempotency_of(operation, request.headers.get(HEADER), body, scope)
