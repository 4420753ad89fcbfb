"""KpiStore: the kpi service's MongoDB store, with its catalogue part
(:mod:`services.kpi.custom_kpi_store`), its targets part (:mod:`services.kpi.target_store`), its
outbox part (:mod:`services.kpi.outbox_store`) and its reads of measurements
(:mod:`services.kpi.measurement_reads`).

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

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from services.kpi import measuring
from services.kpi.custom_kpi_store import CustomKpiStore
from services.kpi.measurement_reads import MeasurementReads
from services.kpi.outbox_store import OutboxState, OutboxStore, event_id, pending_outbox
from services.kpi.recording import CheckedMeasurement
from services.kpi.target_store import TargetStore, scope_key
from services.runtime.caller import Actor
from services.runtime.change_feed import ChangeFeed, ChangeKind, Location
from services.runtime.errors import Conflict, NotFound
from services.runtime.idempotency import Idempotency
from services.runtime.records import Document, epoch_ms, new_id, now, to_bson_time
from services.runtime.shop_purge import ShopPurge

MAX_REVISIONS = 100
"""The most revisions one measurement keeps (a further replacement is a CONFLICT)."""

_REPLACE_ATTEMPTS = 5
_MAX_SAFE_INT = 2**53


def _storable(value: measuring.InputValue) -> measuring.InputValue:
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


class KpiStore(CustomKpiStore, TargetStore, OutboxStore, MeasurementReads):
    """Custom KPIs, measurements with their outbox, the latest view, targets, events."""

    def __init__(self, db: AsyncDatabase[Document], feed: ChangeFeed) -> None:
        self.feed = feed
        """Where every write of this store is recorded (:mod:`services.runtime.change_feed`)."""
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
            feed,
        )
        """Deleted shops: their tombstones and the purge of their measurements and targets."""

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
        from it): a retry answers the measurement as stored and writes nothing more. Whether
        the shop was deleted is the caller's to check first (``purge.check_not_deleted``: the
        use case does, before the domain's rules, as the API always answered).
        """
        shop_id, code = measurement.shop_id, measurement.kpi_code
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
        scope = {"shop_id": shop_id, "kpi_code": code}
        # Its period, not its id: a replaced measurement keeps the id of the first.
        location = Location(self.measurements.name, {**scope, "period_start": start})
        async with self.feed.recording(
            "measurement", ident, ChangeKind.RECORDED, location, shop_id=shop_id, actor=actor
        ) as change:
            try:
                await self.measurements.insert_one(doc)
            except DuplicateKeyError:
                retried = await self._created_under(ident, key)
                if retried is not None:
                    change.skip()  # a retry: the first attempt's change is recorded
                    return retried
                if not measurement.replace:
                    raise await self._recorded_already(scope, start, end) from None
                doc = await self._replace(scope, start, end, revision, key)
            revision = doc["current"]["revision"]
            change.written(
                {**doc, "version": revision}, ChangeKind.CHANGED if revision > 1 else None
            )
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
        key = scope_key(doc["shop_id"], doc["kpi_code"])
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


def _revision_under(doc: Mapping[str, Any], key: Idempotency) -> Document | None:
    """The revision of a measurement that was recorded under ``key``, if any."""
    for revision in (doc["current"], *doc.get("history", [])):
        if revision.get("idempotency", {}).get("key") == key.key:
            return dict(revision)
    return None
