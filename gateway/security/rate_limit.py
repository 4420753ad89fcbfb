"""Per-client rate limit, shared by every gateway replica through the gateway's database.

:class:`RateLimit` counts each client's requests in a *sliding window counter* kept in the
collection ``rate_limits`` of the gateway's database (the one holding API keys and persisted
queries): one document per client and minute, incremented atomically (``find_one_and_update``
with ``$inc`` and upsert), and the estimate ``previous minute × the part of it still inside
the last 60 s + this minute`` must stay within the limit. A TTL index on ``expireAt`` removes
a minute's document once the next minute is over. So N replicas allow the configured rate in
total, not N times it. A refused request is taken back (``$inc: -1``): it does not count.

Why not the ``limits`` library (PyPI): its asynchronous MongoDB storage (``async+mongodb://``)
depends on Motor, which is end of life (PyMongo's own async API replaces it), and opens a
client of its own; its counter update is an aggregation-pipeline update, which nx-27017 (the
embedded default database) does not implement. nx-27017 also drops ``$setOnInsert`` (and
stores a ``$set`` datetime as text) in ``find_one_and_update``, so a window's expiry is part of
the filter: an upsert copies it into the new document, and every replica computes the same.

Far below the limit a replica need not ask the database about every request: with each count
in the database it reserves there an eighth (:data:`LOCAL_SHARE`) of the headroom left beyond a
margin (:data:`LOCAL_MARGIN`), and admits that many on its own for at most
:data:`SYNC_SECONDS`; its next count gives back what it did not use. A reservation is counted
before it is used, so every replica sees it and the replicas together never pass the limit;
within the margin every request is counted in the database, exactly as before. A busy client
costs the database a few commands a second per replica instead of two a request. A replica
that dies holding a reservation leaves it counted until the window slides out: the client is
limited a little early, never late.

Without a database (no ``MONGODB_URI``) the limit is :class:`RateLimiter`, a token bucket per
process. While the database does not answer, each replica falls back to that bucket and tries
the database again every :data:`RETRY_SECONDS`: the limit then holds per replica, and a
request never waits for a dead database longer than once per interval.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from prometheus_client import Counter
from pymongo import ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError, PyMongoError
from pymongo.write_concern import WriteConcern

from services.runtime.metrics import REGISTRY
from services.runtime.records import Document

log = logging.getLogger("integra.gateway.security")

MAX_TRACKED_CLIENTS = 10_000
"""Buckets kept at most; the least recently seen client's bucket is dropped first."""
WINDOW_SECONDS: Final = 60.0
COLLECTION: Final = "rate_limits"
RETRY_SECONDS: Final = 5.0
"""How long a replica limits on its own after the database failed to answer."""
LOCAL_MARGIN: Final = 50
"""Headroom (requests) below the limit within which every request is counted in the database."""
LOCAL_SHARE: Final = 8
"""A replica admits on its own at most 1/8 of the headroom beyond the margin (see above)."""
SYNC_SECONDS: Final = 1.0
"""The longest a replica admits on its own before it counts in the database again."""

CHECKS: Final = Counter(
    "gateway_rate_limit_checks",
    "Rate-limit decisions of this replica, by where they were made: database (a count in the "
    "shared window) or local (within the replica's share of the headroom).",
    ["where"],
    registry=REGISTRY,
)


@dataclass
class _Seen:
    """What a replica knows of one client's window since its last count in the database."""

    window: int
    budget: int
    """Requests it reserved in the shared count, to admit on its own."""
    at: float
    pending: int = 0
    """Admitted on its own, out of the budget it reserved."""


class RateLimiter:
    """``per_minute`` requests per client and minute, with bursts up to ``per_minute``, in
    this process only (the limit without a database, and while it is down)."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.capacity = float(per_minute)
        self.refill_per_second = per_minute / 60.0
        self.clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    @property
    def enabled(self) -> bool:
        """A rate of 0 switches the limit off."""
        return self.capacity > 0

    def acquire(self, client_id: str) -> int | None:
        """Take one token for ``client_id``: ``None`` if allowed, else seconds to wait."""
        if not self.enabled:
            return None
        now = self.clock()
        tokens, last = self._buckets.pop(client_id, (self.capacity, now))
        tokens = min(self.capacity, tokens + (now - last) * self.refill_per_second)
        allowed = tokens >= 1.0
        if allowed:
            tokens -= 1.0
        self._buckets[client_id] = (tokens, now)
        while len(self._buckets) > MAX_TRACKED_CLIENTS:
            self._buckets.popitem(last=False)
        if allowed:
            return None
        return max(1, math.ceil((1.0 - tokens) / self.refill_per_second))


def retry_after(previous: int, accepted: int, limit: int, now: float) -> int:
    """Seconds until one more request fits the sliding window, for a client with
    ``previous`` requests in the last minute and ``accepted`` in this one."""
    window = math.floor(now / WINDOW_SECONDS)
    start = window * WINDOW_SECONDS
    if accepted + 1 <= limit and previous > 0:  # waiting for the last minute to slide out
        fraction = 1.0 - (limit - accepted - 1) / previous
        ready_at = start + fraction * WINDOW_SECONDS
    elif accepted > 0:  # this minute is full: the next, with this one as its previous
        fraction = max(0.0, 1.0 - (limit - 1) / accepted)
        ready_at = start + (1.0 + fraction) * WINDOW_SECONDS
    else:
        ready_at = start + WINDOW_SECONDS
    return max(1, math.ceil(ready_at - now))


def _count_of(doc: Document | None) -> int:
    return 0 if doc is None else int(doc.get("count", 0))


class SlidingWindow:
    """The shared counters: one document per client and minute in one collection."""

    def __init__(
        self, db: AsyncDatabase[Document], limit: int, clock: Callable[[], float] = time.time
    ) -> None:
        # A counter is worth no journaled majority write: losing one to a crash is harmless.
        self.counters: AsyncCollection[Document] = db.get_collection(
            COLLECTION, write_concern=WriteConcern(w=1)
        )
        self.limit = limit
        self.clock = clock
        self._indexing = False
        self._indexed = False
        self._seen: OrderedDict[str, _Seen] = OrderedDict()

    async def _ensure_index(self) -> None:
        """The TTL index, created once by the first request that gets here."""
        if self._indexed or self._indexing:
            return
        self._indexing = True
        try:
            await self.counters.create_index("expireAt", expireAfterSeconds=0)
            self._indexed = True
        finally:
            self._indexing = False

    async def _increment(self, client_id: str, window: int, by: int = 1) -> int:
        expire_at = datetime.fromtimestamp((window + 2) * WINDOW_SECONDS, UTC)
        key = {"_id": f"{client_id}@{window}", "expireAt": expire_at}
        for attempt in range(2):
            try:
                doc = await self.counters.find_one_and_update(
                    key,
                    {"$inc": {"count": by}},
                    upsert=True,
                    return_document=ReturnDocument.AFTER,
                )
            except DuplicateKeyError:  # another replica inserted it first: now it exists
                if attempt:
                    raise
                continue
            return _count_of(doc)
        raise AssertionError("unreachable")

    async def _count(self, client_id: str, window: int) -> int:
        return _count_of(await self.counters.find_one({"_id": f"{client_id}@{window}"}))

    async def acquire(self, client_id: str) -> int | None:
        """One request of ``client_id``: ``None`` if allowed, else seconds to wait."""
        now = self.clock()
        window = math.floor(now / WINDOW_SECONDS)
        seen = self._seen.get(client_id)
        if (
            seen is not None
            and seen.window == window
            and now - seen.at < SYNC_SECONDS
            and seen.pending < seen.budget
        ):
            seen.pending += 1
            CHECKS.labels("local").inc()
            return None
        CHECKS.labels("database").inc()
        return await self._count_in_database(client_id, now, window, seen)

    async def _count_in_database(
        self, client_id: str, now: float, window: int, seen: _Seen | None
    ) -> int | None:
        """Count this request in the shared window (giving back what the replica reserved and
        did not use), decide, and reserve the replica's next share of the headroom."""
        await self._ensure_index()
        unused = 0 if seen is None else seen.budget - seen.pending
        if seen is not None and seen.window != window and unused:
            await self._increment(client_id, seen.window, -unused)  # that window's reservation
            unused = 0
        current, previous = await asyncio.gather(
            self._increment(client_id, window, 1 - unused), self._count(client_id, window - 1)
        )
        weight = previous * (1.0 - (now - window * WINDOW_SECONDS) / WINDOW_SECONDS)
        budget = 0
        if weight + current > self.limit + 1e-9:  # a refused request does not count
            await self._increment(client_id, window, -1)
            wait: int | None = retry_after(previous, current - 1, self.limit, now)
        else:
            wait = None
            headroom = self.limit - weight - current - LOCAL_MARGIN
            budget = max(0, math.floor(headroom / LOCAL_SHARE))
            if budget:  # counted before it is used: every replica sees it
                await self._increment(client_id, window, budget)
        self._remember(client_id, _Seen(window, budget, now))
        return wait

    def _remember(self, client_id: str, seen: _Seen) -> None:
        self._seen.pop(client_id, None)
        self._seen[client_id] = seen
        while len(self._seen) > MAX_TRACKED_CLIENTS:
            self._seen.popitem(last=False)


class RateLimit:
    """The gateway's per-client limit: shared through ``db`` when there is one, else (and
    while the database does not answer) a token bucket in this process."""

    def __init__(
        self,
        per_minute: int,
        db: AsyncDatabase[Document] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.local = RateLimiter(per_minute)
        self.shared = None if db is None or per_minute <= 0 else SlidingWindow(db, per_minute)
        self.clock = clock
        self._local_until = 0.0

    async def acquire(self, client_id: str) -> int | None:
        """One request of ``client_id``: ``None`` if allowed, else seconds to wait."""
        now = self.clock()
        if self.shared is None or now < self._local_until:
            return self.local.acquire(client_id)
        probing = self._local_until > 0.0  # after a failure: this request tries again
        if probing:
            self._local_until = now + RETRY_SECONDS  # the others stay local meanwhile
        try:
            wait = await self.shared.acquire(client_id)
        except PyMongoError as error:
            if not probing:
                log.warning("rate limit database unavailable, limiting per replica: %s", error)
            self._local_until = self.clock() + RETRY_SECONDS
            return self.local.acquire(client_id)
        if probing:
            log.info("rate limit database answers again: the limit is shared")
        self._local_until = 0.0
        return wait
