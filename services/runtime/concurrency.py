"""Optimistic concurrency: records carry a ``version`` and writers may name the one they read.

Every change of a versioned record (a shop, a risk) is a compare-and-set on the version the
writer read, so two concurrent writers can never both succeed on the same version: the loser
re-reads and recomputes its change on fresh data. A client that wants to be told instead (it
showed the user version 3 and the user's edit must not overwrite somebody else's) sends
``expectedVersion``; a stale one is a CONFLICT naming ``expectedVersion`` and writes nothing.
"""

from __future__ import annotations

import asyncio
import random
from typing import Annotated

from pydantic import Field

from services.runtime.backoff import backoff_delay
from services.runtime.errors import Conflict
from services.runtime.json_types import INTEGRAL

FIELD = "expectedVersion"

#: The version a writer read; the change applies only if the record still has it. A JSON
#: integer (``2.0`` too, as JSON Schema says), never a boolean or text.
ExpectedVersion = Annotated[int, Field(ge=0, le=2**53), INTEGRAL]


def check_version(what: str, ident: str, stored: int, expected: int | None) -> None:
    """Raise CONFLICT on ``expectedVersion`` unless ``expected`` is unset or ``stored``."""
    if expected is not None and expected != stored:
        raise Conflict(
            FIELD,
            f"{what} {ident!r} is at version {stored}, not the expected {expected}; "
            "read it again and reapply the change",
        )


async def contention_pause(attempt: int) -> None:
    """Wait a short random time before retrying a compare-and-set that lost a race, so that
    writers which collided do not collide again in lockstep (grows with ``attempt``)."""
    await asyncio.sleep(backoff_delay(attempt + 1, 0.001, 0.05, 1.0, random.random()))
