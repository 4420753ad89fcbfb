"""What every stored record is made of: the document alias, new ids and BSON-precise times.

One definition for the three services: a BSON date keeps milliseconds, so every time a store
writes (and every time it compares against) is truncated to the millisecond first.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from bson import ObjectId

Document = dict[str, Any]
"""A MongoDB document as the driver reads and writes it."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)


def to_bson_time(moment: datetime) -> datetime:
    """``moment`` in aware UTC, truncated to the millisecond (naive is taken as UTC)."""
    utc = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return utc.replace(microsecond=utc.microsecond // 1000 * 1000)


def now() -> datetime:
    """The current UTC time at millisecond precision (what BSON dates keep)."""
    return to_bson_time(datetime.now(UTC))


def epoch_ms(moment: datetime) -> int:
    """Milliseconds since the Unix epoch (exact integer arithmetic)."""
    return (to_bson_time(moment) - _EPOCH) // _MS


def from_epoch_ms(ms: int) -> datetime:
    """The aware UTC datetime of ``ms`` milliseconds since the epoch."""
    return _EPOCH + ms * _MS


def now_ms() -> int:
    """The current time in integer milliseconds since the epoch."""
    return epoch_ms(datetime.now(UTC))


def new_id() -> str:
    """A new record id: an ObjectId's 24 hex digits (time-ordered, opaque to clients)."""
    return str(ObjectId())
