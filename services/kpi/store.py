"""KpiStore: the only module of the kpi service that touches MongoDB.

Collections of the ``<prefix>_kpi`` database:

- ``measurements``: one document per scope, KPI and period (unique index), holding the current
  revision (``current``), the replaced ones (``history``) and the outbox entry of the current
  revision's breach event (``outbox``) — written by the same single-document write as the
  revision itself, so an acknowledged measurement always has its event;
- ``latest``: the latest measurement per scope and KPI (``_id`` ``"<scope>:<kpi>"``), so that
  the latest view of many scopes is one indexed query;
- ``activity``: per scope, the end of its latest measured period (the no-data rule);
- ``targets``: a scope's target per KPI (``_id`` ``"<scope>:<kpi>"``);
- ``custom_kpis``: users' KPIs keyed by code;
- ``outbox_events``: events not tied to a measurement write (no-data escalations), keyed by
  their event id, with the same ``outbox`` entry as measurements.

``latest`` and ``activity`` are derived from ``measurements``: they are updated after each
write and again by the dispatcher when it first handles the write's event, so a crash between
the two writes heals itself.

nx-27017 gaps this module works around (``tests/store/test_kpi_store.py`` checks them):
``$set`` of a bare date stores a string, so dates are only written by inserts or inside whole
subdocuments/arrays; ``$push`` of a subdocument stores its JSON text, so ``history`` is set as
a whole array under an optimistic revision check; a top-level ``$or`` beside other keys ignores
them, so filters use ``$and``; ``replace_one`` upserts ignore the filter's ``_id``; ordering in
the ``latest`` guard uses integer milliseconds rather than dates.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from services.kpi import domain
from services.kpi.custom_kpis import define_custom_kpi
from services.kpi.recording import CheckedMeasurement
from services.runtime.caller import Actor, current_actor
from services.runtime.errors import Conflict, NotFound
from services.runtime.idempotency import Idempotency
from services.runtime.mongo import BATCH_READ_SIZE
from services.runtime.records import Document, epoch_ms, new_id, now, to_bson_time
from services.runtime.shop_purge import ShopPurge

MAX_REVISIONS = 100
"""The most revisions one measurement keeps (a further replacement is a CONFLICT)."""

_REPLACE_ATTEMPTS = 5
_MAX_SAFE_INT = 2**53


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
    """A new outbox entry for event ``ident``, due at once."""
    return {
        "event_id": ident,
        "state": OutboxState.PENDING.value,
        "attempts": 0,
        "next_attempt_at": at,
        "claim": None,
        "last_error": None,
        "created_at": at,
        "delivered_at": None,
    }


def _storable(value: domain.InputValue) -> domain.InputValue:
    """An input as BSON can hold it: ints beyond 2**53 become floats (validated values only)."""
    if isinstance(value, int) and abs(value) > _MAX_SAFE_INT:
        return float(value)
    return value


def _first_revision(
    measurement: CheckedMeasurement,
    actor: Actor,
    at: datetime,
    key: Idempotency | None,
    window: Mapping[str, Any] | None,
) -> Document:
    """The stored revision of a checked measurement (numbered 1 until it replaces one)."""
    revision: Document = {
        "revision": 1,
        "inputs": {name: _storable(v) for name, v in measurement.inputs.items()},
        "value": measurement.value,
        "source": measurement.source.value,
        "reason": measurement.reason,
        "recorded_at": at,
        "actor": actor.document(),
    }
    if window is not None:
        revision["window"] = {**window, "period_start": to_bson_time(window["period_start"])}
    if key is not None:
        revision["idempotency"] = key.stamp()
    return revision


def _latest_key(shop_id: str, kpi_code: str) -> str:
    return f"{shop_id}:{kpi_code}"


class KpiStore:
    """Custom KPIs, measurements with their outbox, the latest view, targets, events."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.measurements: AsyncCollection[Document] = db["measurements"]
        self.latest: AsyncCollection[Document] = db["latest"]
        self.activity: AsyncCollection[Document] = db["activity"]
        self.targets: AsyncCollection[Document] = db["targets"]
        self.custom_kpis: AsyncCollection[Document] = db["custom_kpis"]
        self.outbox_events: AsyncCollection[Document] = db["outbox_events"]
        self.purge = ShopPurge(
            db,
            {
                "measurements": "shop_id",
                "latest": "shop_id",
                "activity": "_id",
                "targets": "shop_id",
            },
        )
        """Deleted shops: their tombstones and the purge of their measurements and targets."""

    def _outbox_collection(self, source: EventSource) -> AsyncCollection[Document]:
        return self.measurements if source is EventSource.BREACH else self.outbox_events

    async def prepare(self) -> None:
        """Create the indexes; idempotent."""
        await self.measurements.create_index(
            [
                ("shop_id", ASCENDING),
                ("kpi_code", ASCENDING),
                ("period_start", ASCENDING),
                ("period_end", ASCENDING),
            ],
            unique=True,
            name="scope_kpi_period",
        )
        await self.measurements.create_index(
            [("shop_id", ASCENDING), ("period_start", DESCENDING)], name="scope_start"
        )
        await self.measurements.create_index([("kpi_code", ASCENDING)], name="kpi_code")
        for collection in (self.measurements, self.outbox_events):
            await collection.create_index(
                [("outbox.state", ASCENDING), ("outbox.next_attempt_at", ASCENDING)],
                name="outbox_due",
            )
        await self.latest.create_index([("shop_id", ASCENDING)], name="shop_id")
        await self.activity.create_index([("last_end_ms", ASCENDING)], name="last_end_ms")
        await self.targets.create_index(
            [("shop_id", ASCENDING), ("kpi_code", ASCENDING)], name="scope_kpi"
        )
        await self.targets.create_index([("kpi_code", ASCENDING)], name="kpi_code")
        await self.custom_kpis.create_index([("level", ASCENDING)], name="level")

    # --- the catalogue -----------------------------------------------------------------------

    async def definition(self, code: str, field: str = "kpiCode") -> domain.KpiDefinition:
        """The built-in or custom KPI with this code, or NOT_FOUND naming ``field``."""
        if code in domain.CATALOGUE:
            return domain.CATALOGUE[code]
        return custom_definition(await self.custom_doc(code, field))

    async def definitions(self, codes: Sequence[str]) -> dict[str, domain.KpiDefinition]:
        """The KPIs among ``codes`` that exist, by code (at most one command)."""
        found = {c: domain.CATALOGUE[c] for c in codes if c in domain.CATALOGUE}
        custom = sorted({c for c in codes if c not in domain.CATALOGUE})
        if custom:
            async for doc in self.custom_kpis.find({"_id": {"$in": custom}}):
                found[doc["_id"]] = custom_definition(doc)
        return found

    async def custom_doc(self, code: str, field: str = "kpiCode") -> Document:
        """The custom KPI document with this code, or NOT_FOUND naming ``field``."""
        doc = await self.custom_kpis.find_one({"_id": code})
        if doc is None:
            raise NotFound("KPI", code, field=field)
        return doc

    async def custom_docs(self, codes: Sequence[str]) -> list[Document]:
        """The custom KPI documents among ``codes``, in the order of ``codes`` (one command)."""
        found = {d["_id"]: d async for d in self.custom_kpis.find({"_id": {"$in": list(codes)}})}
        return [found[c] for c in codes if c in found]

    async def create_custom(self, definition: domain.KpiDefinition) -> Document:
        """Store a validated custom KPI; an existing code is a CONFLICT on ``code``."""
        target = definition.default_target
        doc: Document = {
            "_id": definition.code,
            "name": definition.name,
            "level": definition.level.value,
            "unit": definition.unit,
            "direction": definition.direction.value,
            "formula": definition.formula,
            "inputs": {spec.name: spec.kind.value for spec in definition.inputs},
            "default_target": (
                None
                if target is None
                else {"comparator": target.comparator.value, "value": target.value}
            ),
            "parts": [{"part": p.part, "whole": p.whole} for p in definition.parts],
            "created_by": current_actor().document(),
            "created_at": now(),
        }
        try:
            await self.custom_kpis.insert_one(doc)
        except DuplicateKeyError:
            raise Conflict("code", f"a custom KPI {definition.code!r} exists already") from None
        return doc

    async def list_custom(
        self, level: str | None, limit: int, offset: int
    ) -> tuple[list[Document], int]:
        """A page of custom KPIs by code, and how many match ``level``."""
        query: Document = {} if level is None else {"level": level}
        if limit <= 0:
            return [], await self.custom_kpis.count_documents(query)
        cursor = self.custom_kpis.find(query).sort("_id", ASCENDING).skip(offset).limit(limit)
        return [d async for d in cursor], await self.custom_kpis.count_documents(query)

    async def delete_custom(self, code: str) -> None:
        """Delete a custom KPI that has no measurement, and its targets.

        A built-in KPI, or a custom KPI with measurements, is a CONFLICT on ``code``.
        """
        if code in domain.CATALOGUE:
            raise Conflict("code", f"{code} is a built-in catalogue KPI and cannot be deleted")
        if await self.measurements.count_documents({"kpi_code": code}, limit=1):
            raise Conflict(
                "code", f"KPI {code} has measurements; a KPI with data cannot be deleted"
            )
        result = await self.custom_kpis.delete_one({"_id": code})
        if result.deleted_count == 0:
            raise NotFound("KPI", code, field="code")
        await self.targets.delete_many({"kpi_code": code})

    # --- measurements ------------------------------------------------------------------------

    async def record(
        self,
        measurement: CheckedMeasurement,
        *,
        key: Idempotency | None = None,
        actor: Actor,
        window: Mapping[str, Any] | None = None,
    ) -> Document:
        """Store a measurement the domain checked, with the pending event of its revision.

        ``actor`` is who records it (the authenticated caller, or ``service:kpi``). ``window``
        (the platform's own measurements) is the value over the last window that the status
        and the breach event judge: ``period_start``, summed ``inputs`` and ``value``.

        A measurement of the same scope, KPI and period is a CONFLICT unless
        ``measurement.replace``: the current revision then moves to ``history`` and the new
        one gets a new event ``"<id>:<revision>"`` (an undelivered event of the old revision
        is superseded). The measurement and its event are one document write.

        With an idempotency ``key`` the revision keeps it (and a new measurement's id derives
        from it): a retry answers the measurement as stored and writes nothing more. A
        deleted shop is NOT_FOUND.
        """
        shop_id, code = measurement.shop_id, measurement.kpi_code
        await self.purge.check_not_deleted(shop_id)
        start, end = to_bson_time(measurement.period_start), to_bson_time(measurement.period_end)
        at = now()
        revision = _first_revision(measurement, actor, at, key, window)
        ident = key.record_id() if key else new_id()
        doc: Document = {
            "_id": ident,
            "shop_id": shop_id,
            "kpi_code": code,
            "period_start": start,
            "period_end": end,
            "created_at": at,
            "current": revision,
            "history": [],
            "outbox": pending_outbox(event_id(ident, 1), at),
        }
        try:
            await self.measurements.insert_one(doc)
        except DuplicateKeyError:
            retried = await self._created_under(ident, key)
            if retried is not None:
                return retried
            scope = {"shop_id": shop_id, "kpi_code": code}
            if not measurement.replace:
                raise await self._recorded_already(scope, start, end) from None
            doc = await self._replace(scope, start, end, revision, key)
        await self.apply_views(doc)
        return doc

    async def _recorded_already(self, scope: Document, start: datetime, end: datetime) -> Conflict:
        """The CONFLICT of a second measurement of a period, naming the first."""
        existing = await self.measurements.find_one(
            {**scope, "period_start": start, "period_end": end}, {"_id": 1}
        )
        ident = existing["_id"] if existing else "?"
        return Conflict(
            "periodStart",
            f"{scope['kpi_code']} of {scope['shop_id']} for [{start.isoformat()}, "
            f"{end.isoformat()}) is recorded already (measurement {ident}); "
            "send replace: true with a reason to replace it",
        )

    async def _created_under(self, ident: str, key: Idempotency | None) -> Document | None:
        """The measurement a keyed request created already (a retry answers it), or ``None``;
        the key used for a different request is a CONFLICT."""
        if key is None:
            return None
        existing = await self.measurements.find_one({"_id": ident})
        if existing is None:
            return None
        revision = _revision_under(existing, key)
        if revision is None:
            return None
        key.check_same_request(revision)
        return existing

    async def _replace(
        self,
        scope: Document,
        start: datetime,
        end: datetime,
        revision: Document,
        key: Idempotency | None,
    ) -> Document:
        query = {**scope, "period_start": start, "period_end": end}
        for _ in range(_REPLACE_ATTEMPTS):
            existing = await self.measurements.find_one(query)
            if existing is None:  # pragma: no cover - measurements are never deleted
                raise NotFound("measurement", f"{scope} {start.isoformat()}")
            applied = _revision_under(existing, key) if key else None
            if key is not None and applied is not None:
                key.check_same_request(applied)
                return existing
            old = existing["current"]
            if old["revision"] >= MAX_REVISIONS:
                raise Conflict("replace", f"a measurement keeps at most {MAX_REVISIONS} revisions")
            at = revision["recorded_at"]
            old_outbox = existing["outbox"]
            superseded = old_outbox["state"] == OutboxState.PENDING.value
            entry = {
                **old,
                "replaced_at": at,
                "escalation": {
                    "event_id": old_outbox["event_id"],
                    "state": OutboxState.SUPERSEDED.value if superseded else old_outbox["state"],
                    "attempts": old_outbox["attempts"],
                    "delivered_at": old_outbox["delivered_at"],
                },
            }
            current = {**revision, "revision": old["revision"] + 1}
            changes: Document = {
                "current": current,
                "history": [*existing["history"], entry],
                "outbox": pending_outbox(event_id(existing["_id"], current["revision"]), at),
            }
            # One document, guarded by the revision read: history is set as a whole array
            # ($push of a subdocument stores its JSON text on nx-27017).
            result = await self.measurements.update_one(
                {"_id": existing["_id"], "current.revision": old["revision"]}, {"$set": changes}
            )
            if result.modified_count == 1:
                return {**existing, **changes}
        raise Conflict("replace", "the measurement is being replaced concurrently; retry")

    async def apply_views(self, doc: Document) -> None:
        """Bring ``latest`` and ``activity`` up to date with a measurement; idempotent."""
        current = doc["current"]
        end_ms, start_ms = epoch_ms(doc["period_end"]), epoch_ms(doc["period_start"])
        order = {"end_ms": end_ms, "start_ms": start_ms, "revision": current["revision"]}
        snapshot = {
            "measurement_id": doc["_id"],
            "value": current["value"],
            "period_start": doc["period_start"],
            "period_end": doc["period_end"],
            "source": current["source"],
            "recorded_at": current["recorded_at"],
            "revision": current["revision"],
            "window": current.get("window"),
        }
        key = _latest_key(doc["shop_id"], doc["kpi_code"])
        fields = {"shop_id": doc["shop_id"], "kpi_code": doc["kpi_code"], **order}
        try:
            await self.latest.insert_one({"_id": key, **fields, "current": snapshot})
        except DuplicateKeyError:
            newer = [
                {"end_ms": {"$lt": end_ms}},
                {"end_ms": end_ms, "start_ms": {"$lt": start_ms}},
                {"end_ms": end_ms, "start_ms": start_ms, "revision": {"$lt": order["revision"]}},
            ]
            await self.latest.update_one(
                {"$and": [{"_id": key}, {"$or": newer}]},
                {"$set": {**fields, "current": snapshot}},
            )
        await self.activity.update_one(
            {"_id": doc["shop_id"]}, {"$max": {"last_end_ms": end_ms}}, upsert=True
        )

    async def get_measurement(self, measurement_id: str) -> Document:
        """The measurement with this id, or NOT_FOUND."""
        doc = await self.measurements.find_one({"_id": measurement_id})
        if doc is None:
            raise NotFound("measurement", measurement_id)
        return doc

    async def measurements_by_ids(self, ids: Sequence[str]) -> list[Document]:
        """The measurements among ``ids`` that exist, in the order of ``ids`` (one command)."""
        found = {d["_id"]: d async for d in self.measurements.find({"_id": {"$in": list(ids)}})}
        return [found[i] for i in ids if i in found]

    @staticmethod
    def _period_query(
        shop_id: str | None,
        kpi_code: str | None,
        start_from: datetime | None,
        start_to: datetime | None,
    ) -> Document:
        query: Document = {}
        if shop_id is not None:
            query["shop_id"] = shop_id
        if kpi_code is not None:
            query["kpi_code"] = kpi_code
        bounds: Document = {}
        if start_from is not None:
            bounds["$gte"] = to_bson_time(start_from)
        if start_to is not None:
            bounds["$lt"] = to_bson_time(start_to)
        if bounds:
            query["period_start"] = bounds
        return query

    async def list_measurements(
        self,
        shop_id: str | None,
        kpi_code: str | None,
        start_from: datetime | None,
        start_to: datetime | None,
        limit: int,
        offset: int,
    ) -> tuple[list[Document], int]:
        """A page of measurements (newest period first) and how many match."""
        query = self._period_query(shop_id, kpi_code, start_from, start_to)
        cursor = (
            self.measurements.find(query)
            .sort([("period_start", DESCENDING), ("_id", DESCENDING)])
            .skip(offset)
            .limit(limit)
        )
        return [d async for d in cursor], await self.measurements.count_documents(query)

    async def series_measurements(
        self,
        shop_id: str,
        kpi_code: str,
        start_from: datetime | None,
        start_to: datetime | None,
        cap: int,
    ) -> list[Document]:
        """Up to ``cap + 1`` measurements of a scope's KPI by period start (one command)."""
        query = self._period_query(shop_id, kpi_code, start_from, start_to)
        projection = {"period_start": 1, "period_end": 1, "current": 1}
        cursor = (
            self.measurements.find(query, projection)
            .sort([("period_start", ASCENDING), ("period_end", ASCENDING)])
            .limit(cap + 1)
        )
        return [d async for d in cursor]

    async def series_measurements_for(
        self,
        shop_ids: Sequence[str],
        kpi_code: str,
        start_from: datetime | None,
        start_to: datetime | None,
        cap: int,
    ) -> list[Document]:
        """Up to ``cap + 1`` measurements of a KPI for several scopes, by scope and period
        start (one query, whatever the number of scopes)."""
        query = self._period_query(None, kpi_code, start_from, start_to)
        query["shop_id"] = {"$in": list(shop_ids)}
        projection = {"shop_id": 1, "period_start": 1, "period_end": 1, "current": 1}
        cursor = (
            self.measurements.find(query, projection)
            .sort([("shop_id", ASCENDING), ("period_start", ASCENDING), ("period_end", ASCENDING)])
            .limit(cap + 1)
        )
        return [d async for d in cursor]

    # --- the latest view and targets ---------------------------------------------------------

    async def latest_for(self, shop_ids: Sequence[str]) -> list[Document]:
        """The latest measurement of every KPI of the given scopes (one command: the batch
        holds a whole page of shops, so no ``getMore`` follows the first 101 documents)."""
        cursor = self.latest.find({"shop_id": {"$in": list(shop_ids)}}, batch_size=BATCH_READ_SIZE)
        return [d async for d in cursor]

    async def targets_for(self, shop_ids: Sequence[str]) -> list[Document]:
        """Every target of the given scopes (one command)."""
        cursor = self.targets.find({"shop_id": {"$in": list(shop_ids)}}, batch_size=BATCH_READ_SIZE)
        return [d async for d in cursor]

    async def put_target(
        self,
        shop_id: str,
        kpi_code: str,
        target: domain.Target,
        period: tuple[datetime, datetime] | None,
    ) -> Document:
        """Set a scope's target for a KPI (creating or replacing it); a deleted shop is
        NOT_FOUND."""
        await self.purge.check_not_deleted(shop_id)
        body: Document = {
            "comparator": target.comparator.value,
            "value": target.value,
            "period_start": None if period is None else to_bson_time(period[0]),
            "period_end": None if period is None else to_bson_time(period[1]),
            "set_by": current_actor().document(),
            "updated_at": now(),
        }
        fields = {"shop_id": shop_id, "kpi_code": kpi_code, "target": body}
        # update_one with upsert, not replace_one: nx-27017's replace upsert ignores the _id.
        await self.targets.update_one(
            {"_id": _latest_key(shop_id, kpi_code)}, {"$set": fields}, upsert=True
        )
        return {"_id": _latest_key(shop_id, kpi_code), **fields}

    async def get_target(self, shop_id: str, kpi_code: str) -> Document:
        """A scope's target for a KPI, or NOT_FOUND on ``kpiCode``."""
        doc = await self.targets.find_one({"_id": _latest_key(shop_id, kpi_code)})
        if doc is None:
            raise NotFound("target", f"{shop_id}/{kpi_code}", field="kpiCode")
        return doc

    async def delete_target(self, shop_id: str, kpi_code: str) -> None:
        """Delete a scope's target for a KPI, or NOT_FOUND on ``kpiCode``."""
        result = await self.targets.delete_one({"_id": _latest_key(shop_id, kpi_code)})
        if result.deleted_count == 0:
            raise NotFound("target", f"{shop_id}/{kpi_code}", field="kpiCode")

    async def list_targets(
        self, shop_id: str, limit: int, offset: int
    ) -> tuple[list[Document], int]:
        """A page of a scope's targets by KPI code, and how many it has."""
        query = {"shop_id": shop_id}
        cursor = self.targets.find(query).sort("kpi_code", ASCENDING).skip(offset).limit(limit)
        return [d async for d in cursor], await self.targets.count_documents(query)

    # --- the no-data rule --------------------------------------------------------------------

    async def stale_scopes(self, cutoff: datetime) -> list[Document]:
        """Scopes whose latest measured period ended before ``cutoff`` (one indexed query)."""
        cursor = self.activity.find({"last_end_ms": {"$lt": epoch_ms(cutoff)}})
        return [d async for d in cursor]

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
        return [d async for d in cursor]

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


def _revision_under(doc: Mapping[str, Any], key: Idempotency) -> Document | None:
    """The revision of a measurement that was recorded under ``key``, if any."""
    for revision in (doc["current"], *doc.get("history", [])):
        if revision.get("idempotency", {}).get("key") == key.key:
            return dict(revision)
    return None


def custom_definition(doc: Mapping[str, Any]) -> domain.KpiDefinition:
    """Rebuild a stored custom KPI through the domain's validation."""
    target = doc.get("default_target")
    return define_custom_kpi(
        code=doc["_id"],
        name=doc["name"],
        level=domain.KpiLevel(doc["level"]),
        unit=doc["unit"],
        direction=domain.Direction(doc["direction"]),
        formula=doc["formula"],
        input_kinds={name: domain.InputKind(kind) for name, kind in doc["inputs"].items()},
        default_target=(
            None
            if target is None
            else domain.Target(domain.Comparator(target["comparator"]), target["value"])
        ),
        parts=[(p["part"], p["whole"]) for p in doc.get("parts", [])],
    )
