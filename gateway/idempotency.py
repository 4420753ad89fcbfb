"""The ``idempotencyKey`` argument of creating mutations, passed to a service client scoped to
the caller.

A client retrying a creating mutation (its answer was lost) sends the same key again and gets
the record the first attempt created; the service makes that race-safe (see
:mod:`services.runtime.idempotency`). The gateway checks the key, so a bad one is a
VALIDATION_ERROR naming ``idempotencyKey`` before anything is sent. Keys are per caller.
"""

from __future__ import annotations

import hashlib
from typing import Annotated

import strawberry

from gateway.security.principal import current_caller
from services.runtime.idempotency import check_key

KEY_DESCRIPTION = (
    "Makes a retry of this mutation answer the record the first attempt created instead of "
    "creating another (1–128 printable ASCII characters); the same key with a different "
    "request is a CONFLICT."
)
EXPECTED_VERSION_DESCRIPTION = (
    "The version the change was based on; a record at another version is a CONFLICT on "
    "expectedVersion and nothing is written."
)

#: The ``idempotencyKey`` argument of a creating mutation.
IdempotencyKey = Annotated[str | None, strawberry.argument(description=KEY_DESCRIPTION)]


def scoped_key(key: str | None) -> str | None:
    """``key`` checked and scoped to the caller (``None`` when no key is given): a digest of
    the caller's client id and the key, so two clients that happen to choose the same key
    never collide, and one cannot probe or block another's creations by guessing its keys.
    """
    if key is None:
        return None
    check_key(key)
    caller = current_caller()
    client = "" if caller is None else caller.client_id
    return hashlib.sha256(f"{client}\x00{key}".encode()).hexdigest()
