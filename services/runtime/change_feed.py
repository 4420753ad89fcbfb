"""A service's change feed: the ordered, durable record of every write it acknowledged.

Collection ``changes`` of the service's database, one document per change, ``_id`` its
sequence number (unique), repeated as ``seq`` to sort by (nx-27017 sorts ``_id`` as text). A
change is inserted as the highest number + 1 (a writer that collides with another takes the
next), so a reader that sees n + 1 sees every change numbered below it that still exists.

A write is recorded in two steps around it (:meth:`ChangeFeed.recording`): a PENDING change
before, COMMITTED after, with what the write answered (shop, version). A write refused by a
rule (or by a unique index) did not happen: its change is deleted, so a refused request leaves
the database as it was. A process that dies in between leaves it PENDING: after
``resolve_after`` any replica's sweep looks for the entity where the change says it lives (its
:class:`Location`). Found (for a deletion: gone), the write happened, or may have: the change
is appended again, COMMITTED, so an event may come twice but never not at all. Otherwise the
change is deleted.

A reader (:meth:`ChangeFeed.read`) answers COMMITTED changes in order and stops at a PENDING
one until that is ``block_after`` old, then passes it: the order holds for writes in flight,
and a dead writer holds the feed up for ``block_after`` at most. A writer that commits later
than ``block_after / 2`` (a margin for clocks that differ between replicas) appends its change
again instead, so that a reader that passed it still sees it. A cursor is always the number of
a committed change (or 0): numbers above the newest committed one may be freed and taken
again, numbers up to it never.

Changes older than the retention are deleted (an index on ``at_ms``), except the newest, which
keeps the numbering going. A cursor older than what is retained is CURSOR_EXPIRED: the consumer
may have missed changes and must read the current state again.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from enum import StrEnum

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from services.runtime.caller import Actor, actor_or
from services.runtime.concurrency import contention_pause
from services.runtime.errors import ErrorCode, IntegraError
from services.runtime.metrics import FEED_CHANGES
from services.runtime.records import Document, now_ms

APPEND_ATTEMPTS = 50
_UNCERTAIN = {
    ErrorCode.DATABASE_UNAVAILABLE,
    ErrorCode.SERVICE_UNAVAILABLE,
    ErrorCode.INTERNAL_ERROR,
}
"""Errors after which a write may have happened: its change is left to the sweep."""


class ChangeKind(StrEnum):
    """What a write did to its entity."""

    CREATED = "CREATED"
    CHANGED = "CHANGED"
    DELETED = "DELETED"
    STATUS_CHANGED = "STATUS_CHANGED"
    ESCALATED = "ESCALATED"
    RECORDED = "RECORDED"
    PURGED = "PURGED"


class ChangeState(StrEnum):
    """Where a change is in its two steps (a change found void is deleted)."""

    PENDING = "PENDING"
    COMMITTED = "COMMITTED"


@dataclass(frozen=True)
class Location:
    """Where an entity's document lives: the sweep's evidence that a write happened."""

    collection: str
    filter: Document
    gone: bool = False
    """For a deletion: the write happened when no document matches."""

    @classmethod
    def of(
        cls, collection: AsyncCollection[Document], ident: str, *, gone: bool = False
    ) -> Location:
        """The document ``ident`` of ``collection``."""
        return cls(collection.name, {"_id": ident}, gone)


@dataclass(frozen=True)
class FeedOptions:
    """How long changes are kept and how the feed waits for writes in flight."""

    retention_ms: int = 7 * 86_400_000
    block_after_ms: int = 2_000
    resolve_after_ms: int = 20_000
    poll_seconds: float = 0.2
    sweep_seconds: float = 1.0


@dataclass
class Recording:
    """The change of one write, completed by the writer once the write answered."""

    entity: str
    entity_id: str
    kind: ChangeKind
    shop_id: str | None = None
    version: int | None = None
    skipped: bool = False

    def written(self, doc: Document, kind: ChangeKind | None = None) -> None:
        """What the write stored: the entity's document (its id, shop and version), and a more
        precise kind."""
        self.entity_id = str(doc.get("_id", self.entity_id))
        self.shop_id = doc.get("shop_id", self.shop_id)
        self.version = doc.get("version", self.version)
        self.kind = kind or self.kind

    def skip(self) -> None:
        """Nothing was written (a retried request, nothing differed): no change."""
        self.skipped = True


class CursorExpired(IntegraError):
    """A cursor before what the feed retains, or one it never gave."""

    def __init__(self, message: str) -> None:
        super().__init__(ErrorCode.CURSOR_EXPIRED, message, "after")


class ChangeFeed:
    """The change feed of one service over its database."""

    def __init__(self, db: AsyncDatabase[Document], service: str, options: FeedOptions) -> None:
        self.db, self.service, self.options = db, service, options
        self.changes = db["changes"]
        self._tick = asyncio.Event()
        self._own_actor = Actor(
            client_id=f"service:{service}", name=service, role=None, kind="service"
        )
        """Who writes when no request is served (background work of the service itself)."""

    async def prepare(self) -> None:
        """The indexes of expiry, of the sweep and of re-appended changes; idempotent."""
        await self.changes.create_index([("seq", ASCENDING)], name="seq")
        await self.changes.create_index([("at_ms", ASCENDING)], name="at_ms")
        await self.changes.create_index([("state", ASCENDING), ("at_ms", ASCENDING)], name="state")
        await self.changes.create_index([("origin", ASCENDING)], name="origin")

    # --- writing -----------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def recording(
        self,
        entity: str,
        entity_id: str,
        kind: ChangeKind,
        location: Location,
        *,
        shop_id: str | None = None,
        actor: Actor | None = None,
    ) -> AsyncIterator[Recording]:
        """Record the write done inside the block as a change of ``entity`` ``entity_id``,
        written by ``actor`` (the caller; this service itself outside a request)."""
        recording = Recording(entity, entity_id, kind, shop_id)
        intent = {
            **_fields(recording),
            "actor": (actor or actor_or(self._own_actor)).document(),
            "location": {**location.__dict__},
        }
        started = time.monotonic()  # before the append: never younger than its at_ms says
        seq = await self._append({**intent, "state": ChangeState.PENDING.value})
        try:
            yield recording
        except DuplicateKeyError:  # refused by a unique index: nothing was written
            await self._void(seq)
            raise
        except IntegraError as error:
            if error.code in _UNCERTAIN:
                self._count("left_pending")
            else:
                await self._void(seq)
            raise
        except BaseException:
            self._count("left_pending")
            raise
        if recording.skipped:
            await self._void(seq)
        elif (time.monotonic() - started) * 1000 < self.options.block_after_ms / 2:
            await self._commit(seq, _fields(recording))
        else:
            await self._append_again(seq, {**intent, **_fields(recording)})

    async def _append(self, fields: Document) -> int:
        for attempt in range(APPEND_ATTEMPTS):
            seq = await self.latest() + 1
            try:
                await self.changes.insert_one({"_id": seq, "seq": seq, **fields, "at_ms": now_ms()})
            except DuplicateKeyError:
                await contention_pause(attempt)
                continue
            self._notify()
            return seq
        raise IntegraError(ErrorCode.SERVICE_UNAVAILABLE, "the change feed is too busy; retry")

    async def _commit(self, seq: int, fields: Document) -> None:
        await self.changes.update_one(
            {"_id": seq, "state": ChangeState.PENDING.value},
            {"$set": {**fields, "state": ChangeState.COMMITTED.value}},
        )
        self._count("committed")
        self._notify()

    async def _void(self, seq: int) -> None:
        """Delete a change whose write did not happen."""
        await self.changes.delete_one({"_id": seq, "state": ChangeState.PENDING.value})
        self._count("void")
        self._notify()

    async def _append_again(self, seq: int, fields: Document) -> None:
        """Append a PENDING change anew, COMMITTED (unless done already), then delete it."""
        if await self.changes.find_one({"origin": seq}, {"_id": 1}) is None:
            await self._append({**fields, "state": ChangeState.COMMITTED.value, "origin": seq})
            self._count("appended_again")
        await self.changes.delete_one({"_id": seq, "state": ChangeState.PENDING.value})

    def _notify(self) -> None:
        self._tick.set()
        self._tick = asyncio.Event()

    def _count(self, outcome: str) -> None:
        FEED_CHANGES.labels(self.service, outcome).inc()

    # --- the sweep ---------------------------------------------------------------------------

    async def sweep(self) -> None:
        """Resolve the changes that dead writers left PENDING; delete what is past retention."""
        cutoff = now_ms() - self.options.resolve_after_ms
        stale = {"state": ChangeState.PENDING.value, "at_ms": {"$lt": cutoff}}
        # Unsorted: nx-27017 answers this from the (state, at_ms) index only then (23 ms
        # against 0.8 ms over 60 000 changes); the order of resolving does not matter.
        for doc in await self.changes.find(stale).limit(100).to_list():
            await self._resolve(doc)
        expired = now_ms() - self.options.retention_ms
        await self.changes.delete_many(
            {"seq": {"$lt": await self.latest()}, "at_ms": {"$lt": expired}}
        )

    async def _resolve(self, doc: Document) -> None:
        location = doc["location"]
        found = await self.db[location["collection"]].find_one(location["filter"])
        if (found is None) != bool(location.get("gone")):
            await self._void(doc["_id"])
            return
        found = found or {}
        fields = {k: v for k, v in doc.items() if k not in ("_id", "seq", "at_ms", "state")}
        fields["shop_id"] = doc.get("shop_id") or found.get("shop_id")
        fields["version"] = doc.get("version") or found.get("version")
        await self._append_again(doc["_id"], fields)
        self._count("recovered")

    # --- reading -----------------------------------------------------------------------------

    async def read(self, after: int | None, limit: int) -> tuple[list[Document], int]:
        """The committed changes after ``after`` (the oldest retained without it), at most
        ``limit`` of them, and the cursor to continue from: the last of them, else ``after``."""
        if after is not None:
            await self._check_cursor(after)
        query: Document = {} if after is None else {"seq": {"$gt": after}}
        docs = await self.changes.find(query).sort("seq", ASCENDING).limit(limit).to_list()
        cursor = after if after is not None else (docs[0]["seq"] - 1 if docs else 0)
        items: list[Document] = []
        young = now_ms() - self.options.block_after_ms
        for doc in docs:
            if doc["state"] == ChangeState.PENDING.value and doc["at_ms"] > young:
                break  # a write in flight: what follows waits for it
            if doc["state"] == ChangeState.COMMITTED.value:
                items.append(doc)
                cursor = doc["seq"]
        if after is not None and not docs and after > await self.latest():
            raise CursorExpired(f"cursor {after} was never given by this feed; read again")
        return items, cursor

    async def _check_cursor(self, after: int) -> None:
        oldest = await self.changes.find_one({}, {"seq": 1}, sort=[("seq", ASCENDING)])
        if oldest is not None and after + 1 < oldest["seq"]:
            raise CursorExpired(
                f"changes after cursor {after} are no longer retained; read the current state "
                "again and follow the feed from the cursor it answers"
            )

    async def latest(self) -> int:
        """The number of the newest change (0 for an empty feed)."""
        last = await self.changes.find_one({}, {"seq": 1}, sort=[("seq", DESCENDING)])
        return int(last["seq"]) if last else 0

    async def start(self) -> int:
        """A cursor from which only changes from now on are read: before the first write
        still in flight, else the newest change."""
        # The (state, at_ms) index, unsorted (see sweep); writes in flight are few.
        pending = {"state": ChangeState.PENDING.value, "at_ms": {"$gte": 0}}
        found = await self.changes.find(pending, {"seq": 1}).to_list()
        return min(d["seq"] for d in found) - 1 if found else await self.latest()

    async def wait(
        self, after: int | None, limit: int, seconds: float
    ) -> tuple[list[Document], int]:
        """:meth:`read`, waiting up to ``seconds`` for a change (long poll): woken at once by
        this process's writes, every ``poll_seconds`` for other replicas'."""
        deadline = time.monotonic() + seconds
        while True:
            items, cursor = await self.read(after, limit)
            left = deadline - time.monotonic()
            if items or left <= 0:
                return items, cursor
            after = cursor
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._tick.wait(), min(left, self.options.poll_seconds))


def _fields(recording: Recording) -> Document:
    return {
        "entity": recording.entity,
        "entity_id": recording.entity_id,
        "kind": recording.kind.value,
        "shop_id": recording.shop_id,
        "version": recording.version,
    }
