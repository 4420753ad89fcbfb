"""The kpi store's outbox: the pending events of measurements and of the no-data rule.

An event is an ``outbox`` entry in the document it belongs to: a measurement's breach event in
``measurements`` (written with the revision itself), a no-data event in ``outbox_events``. The
dispatcher (:mod:`services.kpi.outbox`) finds due entries, leases them (a compare-and-set on the
entry's claim token) and settles them, delivered or failed.
"""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta
from enum import StrEnum

from pymongo import ASCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from services.runtime.records import Document, epoch_ms, new_id, now, to_bson_time
from services.runtime.tracing import trace_carrier


class OutboxState(StrEnum):
    """States of an outbox entry (``SUPERSEDED`` only in a replaced revision's history)."""

    PENDING = "PENDING"
    DELIVERED = "DELIVERED"
    SUPERSEDED = "SUPERSEDED"


class EventSource(StrEnum):
    """The collections that hold outbox entries, named by the kind of event they carry."""

    BREACH = "breach"
    NO_DATA = "no_data"


def event_id(measurement_id: str, revision: int) -> str:
    """The breach event id of a revision: the measurement id, then ``:<revision>`` from 2 on."""
    return measurement_id if revision == 1 else f"{measurement_id}:{revision}"


def pending_outbox(ident: str, at: datetime) -> Document:
    """A new outbox entry for event ``ident``, due at once, with the current trace."""
    return {
        "event_id": ident,
        "state": OutboxState.PENDING.value,
        "attempts": 0,
        "next_attempt_at": at,
        "claim": None,
        "last_error": None,
        "created_at": at,
        "delivered_at": None,
        # The trace of the write, continued by the delivery (nothing while tracing is off).
        **({"trace": carrier} if (carrier := trace_carrier()) else {}),
    }


class OutboxStore:
    """The outbox part of :class:`services.kpi.store.KpiStore` (which sets the collections)."""

    measurements: AsyncCollection[Document]
    activity: AsyncCollection[Document]
    outbox_events: AsyncCollection[Document]

    def _outbox_collection(self, source: EventSource) -> AsyncCollection[Document]:
        return self.measurements if source is EventSource.BREACH else self.outbox_events

    # --- the no-data rule --------------------------------------------------------------------

    async def stale_scopes(self, cutoff: datetime) -> list[Document]:
        """Scopes whose latest measured period ended before ``cutoff`` (one indexed query)."""
        cursor = self.activity.find({"last_end_ms": {"$lt": epoch_ms(cutoff)}})
        return await cursor.to_list()

    async def enqueue_event(self, ident: str, path: str, payload: Document) -> bool:
        """Store an event for the dispatcher unless one with this id exists (False then)."""
        outbox = pending_outbox(ident, now())
        doc = {"_id": ident, "path": path, "payload": payload, "outbox": outbox}
        try:
            await self.outbox_events.insert_one(doc)
        except DuplicateKeyError:
            return False
        return True

    # --- the outbox --------------------------------------------------------------------------

    async def due_events(self, source: EventSource, at: datetime, limit: int) -> list[Document]:
        """Pending events due at ``at``, the longest waiting first (one command)."""
        query = {"outbox.state": OutboxState.PENDING.value, "outbox.next_attempt_at": {"$lte": at}}
        collection = self._outbox_collection(source)
        # Inclusion of whole top-level fields: dotted projections are unreliable on nx-27017.
        projection = (
            dict.fromkeys(
                ("shop_id", "kpi_code", "period_start", "period_end", "current", "outbox"), 1
            )
            if source is EventSource.BREACH
            else {"path": 1, "payload": 1, "outbox": 1}
        )
        cursor = collection.find(query, projection)
        cursor = cursor.sort("outbox.next_attempt_at", ASCENDING).limit(limit)
        return await cursor.to_list()

    async def claim(
        self, source: EventSource, doc: Document, at: datetime, lease: timedelta
    ) -> Document | None:
        """Lease a due event to this dispatcher until ``at + lease``; None if another has it.

        The claim is a compare-and-set on the entry's previous claim token: of concurrent
        dispatchers exactly one wins; a dispatcher that dies leaves the event due again when
        the lease ends.
        """
        outbox = doc["outbox"]
        claimed = {**outbox, "claim": new_id(), "next_attempt_at": to_bson_time(at + lease)}
        result = await self._outbox_collection(source).update_one(
            {
                "_id": doc["_id"],
                "outbox.event_id": outbox["event_id"],
                "outbox.state": OutboxState.PENDING.value,
                "outbox.claim": outbox["claim"],
            },
            {"$set": {"outbox": claimed}},
        )
        return claimed if result.modified_count == 1 else None

    async def _settle(
        self, source: EventSource, doc_id: str, claimed: Document, outbox: Document
    ) -> bool:
        result = await self._outbox_collection(source).update_one(
            {
                "_id": doc_id,
                "outbox.event_id": claimed["event_id"],
                "outbox.claim": claimed["claim"],
            },
            {"$set": {"outbox": outbox}},
        )
        return result.modified_count == 1

    async def mark_delivered(
        self, source: EventSource, doc_id: str, claimed: Document, at: datetime
    ) -> bool:
        """Record a delivered event (False if the lease was lost meanwhile)."""
        outbox = {
            **claimed,
            "state": OutboxState.DELIVERED.value,
            "attempts": claimed["attempts"] + 1,
            "claim": None,
            "last_error": None,
            "delivered_at": to_bson_time(at),
        }
        return await self._settle(source, doc_id, claimed, outbox)

    async def mark_failed(
        self, source: EventSource, doc_id: str, claimed: Document, retry_at: datetime, error: str
    ) -> bool:
        """Record a failed attempt and when to retry (False if the lease was lost meanwhile)."""
        outbox = {
            **claimed,
            "attempts": claimed["attempts"] + 1,
            "next_attempt_at": to_bson_time(retry_at),
            "claim": None,
            "last_error": error[:500],
        }
        return await self._settle(source, doc_id, claimed, outbox)

    async def pending_stats(self, source: EventSource) -> tuple[int, datetime | None]:
        """How many events are pending and when the oldest was created (two commands)."""
        query = {"outbox.state": OutboxState.PENDING.value}
        collection = self._outbox_collection(source)
        count = await collection.count_documents(query)
        if count == 0:
            return 0, None
        oldest = None
        with contextlib.suppress(StopAsyncIteration):
            cursor = collection.find(query, {"outbox": 1}).sort("outbox.created_at", 1).limit(1)
            oldest = (await anext(cursor))["outbox"]["created_at"]
        return count, oldest
