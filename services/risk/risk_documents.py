"""RiskDocuments: the reads and compare-and-set writes of the risk service's documents.

Collections of the ``<prefix>_risk`` database:

- ``risks``: one document per risk, with its mitigation actions and its full history
  embedded, so that a change and the history entry describing it are one atomic write;
  denormalised ``inherent_score``/``inherent_level`` (and residual), ``title_key`` and
  ``next_action_due`` make filters, sorting and the overdue view plain indexed queries;
- ``rules``: monitoring rules, the built-in ones seeded idempotently at start;
- ``applied_events``: one document per escalating event (``_id`` = the event id, unique), the
  record that makes every event escalate exactly once;
- ``breach_claims``: one document per breach (``_id`` = its key, see
  :mod:`services.risk.escalation`) naming the event that owns it, so that several events of
  one breach (revisions of a measurement, daily checks of one silence) escalate it once;
- ``roadmaps``: one document per shop (``_id`` = the shop id) holding its stages.

Every write to a risk or a roadmap is a compare-and-set on its ``version``: read, apply the
domain, ``update_one`` guarded by the version read; a concurrent change makes the guard miss
and the change is recomputed on fresh data. nx-27017, the embedded database, shapes this
module: ``$push`` of a subdocument stores it as a JSON string, so embedded arrays are written
whole with ``$set``; ``$ne`` on an array field does not mean "does not contain", so the event
guard uses ``$nin``; a top-level ``$or`` beside other keys ignores them, so ``$or`` is always
wrapped in ``$and``; a top-level boolean written by ``$set`` reads back as 0/1, so flags are
read through ``bool()`` and queried by ``True``/``False`` only; ``find_one_and_update`` is not
used.

:class:`services.risk.store.RiskStore` builds on these primitives; the documents' layout is
:mod:`services.risk.documents`, how writes change a risk :mod:`services.risk.changes`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from services.risk import roadmap
from services.risk.breach_claims import BreachClaims
from services.risk.documents import (
    OPEN_STATUSES,
    RiskMutation,
    day,
    risk_filter,
    risk_sort,
    stages_of,
)
from services.runtime.change_feed import ChangeFeed, ChangeKind, Location
from services.runtime.concurrency import check_version, contention_pause
from services.runtime.errors import Conflict, NotFound
from services.runtime.idempotency import Idempotency
from services.runtime.records import Document
from services.runtime.shop_purge import ShopPurge

MAX_ATTEMPTS = 30


class RiskDocuments:
    """Risks, monitoring rules, applied events and roadmaps, as stored documents."""

    def __init__(self, db: AsyncDatabase[Document], feed: ChangeFeed) -> None:
        self.feed = feed
        """Where every write of this store is recorded (:mod:`services.runtime.change_feed`)."""
        self.risks: AsyncCollection[Document] = db["risks"]
        self.rules: AsyncCollection[Document] = db["rules"]
        self.events: AsyncCollection[Document] = db["applied_events"]
        self.claims = BreachClaims(db["breach_claims"])
        self.roadmaps: AsyncCollection[Document] = db["roadmaps"]
        self.purge = ShopPurge(
            db, {"risks": "shop_id", "roadmaps": "_id", "breach_claims": "shop_id"}, feed
        )
        """Deleted shops: their tombstones and the purge of their risks and roadmap."""

    # --- risks -------------------------------------------------------------------------------

    async def insert_risk(self, doc: Document, key: Idempotency | None = None) -> Document:
        """Store a new risk; with an idempotency ``key`` a retry answers the risk the first
        attempt created (its id derives from the key). A deleted shop is NOT_FOUND."""
        await self.purge.check_not_deleted(doc["shop_id"])
        kind = ChangeKind.ESCALATED if doc.get("created_by_event") else ChangeKind.CREATED
        return await self._insert_keyed(self.risks, "risk", kind, doc, key)

    async def _insert_keyed(
        self,
        collection: AsyncCollection[Document],
        entity: str,
        kind: ChangeKind,
        doc: Document,
        key: Idempotency | None,
    ) -> Document:
        if key is not None:
            doc = {**doc, "_id": key.record_id(), "idempotency": key.stamp()}
        location = Location.of(collection, doc["_id"])
        async with self.feed.recording(entity, doc["_id"], kind, location) as change:
            try:
                await collection.insert_one(doc)
            except DuplicateKeyError:
                existing = None if key is None else await collection.find_one({"_id": doc["_id"]})
                if key is None or existing is None:
                    raise
                key.check_same_request(existing)
                change.skip()  # a retry: the first attempt's change is recorded
                return existing
            change.written(doc)
        return doc

    async def get_risk(self, risk_id: str, field_name: str = "id") -> Document:
        """The risk with this id, or NOT_FOUND naming ``field_name``."""
        doc = await self.risks.find_one({"_id": risk_id})
        if doc is None:
            raise NotFound("risk", risk_id, field_name)
        return doc

    async def risks_by_ids(self, ids: Sequence[str]) -> list[Document]:
        """The risks among ``ids`` that exist, in the order of ``ids`` (one command)."""
        found = {d["_id"]: d async for d in self.risks.find({"_id": {"$in": list(ids)}})}
        return [found[i] for i in ids if i in found]

    async def list_risks(
        self, query: Document, sort: list[tuple[str, int]], limit: int, offset: int
    ) -> tuple[list[Document], int]:
        """One page of the risks matching ``query``, and how many match."""
        cursor = self.risks.find(query).sort(sort).skip(offset).limit(limit)
        return await cursor.to_list(), await self.risks.count_documents(query)

    async def find_risks(self, query: Document, sort: list[tuple[str, int]]) -> list[Document]:
        """Every risk matching ``query`` in one query (batches over shops, views)."""
        return await self.risks.find(query).sort(sort).to_list()

    async def open_risks(self, shop_ids: Sequence[str]) -> list[Document]:
        """The open risks of the given shops (one command): the matrix and summary views."""
        query = risk_filter(shop_ids=shop_ids, statuses=OPEN_STATUSES)
        return await self.find_risks(query, risk_sort("SCORE", descending=True))

    async def overdue_candidates(self, shop_id: str, as_of: date) -> list[Document]:
        """Open risks of a shop whose review or earliest unfinished action is before
        ``as_of`` (one command); the caller decides with the domain's overdue rules."""
        cutoff = day(as_of)
        query = {
            "$and": [
                risk_filter(shop_ids=[shop_id], statuses=OPEN_STATUSES),
                {
                    "$or": [
                        {"next_review_at": {"$lt": cutoff}},
                        {"next_action_due": {"$lt": cutoff}},
                    ]
                },
            ]
        }
        return await self.find_risks(query, risk_sort("NEXT_REVIEW", descending=False))

    async def modify_risk(
        self,
        risk_id: str,
        mutate: RiskMutation,
        *,
        event_id: str | None = None,
        field_name: str = "id",
        expected_version: int | None = None,
    ) -> tuple[Document, bool]:
        """Apply ``mutate`` to the current risk and write it if unchanged meanwhile.

        ``mutate`` sees the stored document and answers the change (or ``None``: nothing to
        write); domain errors it raises leave the risk untouched. With ``event_id`` the write
        also records the event on the risk, guarded so that it happens once. With
        ``expected_version`` a risk at another version is a CONFLICT on ``expectedVersion``
        (also when a concurrent writer wins the race). Answers the risk as written and whether
        this call wrote.
        """
        kind = ChangeKind.CHANGED if event_id is None else ChangeKind.ESCALATED
        location = Location.of(self.risks, risk_id)
        async with self.feed.recording("risk", risk_id, kind, location) as change:
            before, written = await self._write_risk(
                risk_id, mutate, event_id, field_name, expected_version
            )
            if written is None:
                change.skip()
            elif event_id is None and written["status"] != before["status"]:
                change.written(written, ChangeKind.STATUS_CHANGED)
            else:
                change.written(written)
        return (before, False) if written is None else (written, True)

    async def _write_risk(
        self,
        risk_id: str,
        mutate: RiskMutation,
        event_id: str | None,
        field_name: str,
        expected_version: int | None,
    ) -> tuple[Document, Document | None]:
        """The risk as read, and as written (``None``: nothing to write)."""
        for attempt in range(MAX_ATTEMPTS):
            if attempt:
                await contention_pause(attempt)
            doc = await self.get_risk(risk_id, field_name)
            check_version("risk", risk_id, doc["version"], expected_version)
            change_ = mutate(doc)
            if change_ is None:
                return doc, None
            fields: Document = {
                **change_.fields,
                "history": [*doc["history"], change_.entry],
                "updated_at": change_.entry["at"],
            }
            guard: Document = {"_id": risk_id, "version": doc["version"]}
            written = {**doc, **fields, "version": doc["version"] + 1}
            if event_id is not None:
                guard["applied_event_ids"] = {"$nin": [event_id]}
                written["applied_event_ids"] = [*doc["applied_event_ids"], event_id]
            # A whole replacement, not $set: nx-27017 stores a date written by $set
            # (updated_at) as a string, which reads back without its time zone.
            replacement = {k: v for k, v in written.items() if k != "_id"}
            result = await self.risks.replace_one(guard, replacement)
            if result.matched_count == 1:
                return doc, written
        raise Conflict("id", f"risk {risk_id!r} keeps changing concurrently; retry")

    # --- monitoring rules --------------------------------------------------------------------

    async def list_rules(self) -> list[Document]:
        """Every rule, built-in first, then by KPI and id."""
        cursor = self.rules.find({}).sort(
            [("built_in", DESCENDING), ("kpi_code", ASCENDING), ("_id", ASCENDING)]
        )
        return await cursor.to_list()

    async def get_rule(self, rule_id: str) -> Document:
        """The rule with this id, or NOT_FOUND."""
        doc = await self.rules.find_one({"_id": rule_id})
        if doc is None:
            raise NotFound("monitoring rule", rule_id)
        return doc

    async def rules_for(self, kpi_code: str) -> list[Document]:
        """The enabled rules on a KPI (one command)."""
        cursor = self.rules.find({"kpi_code": kpi_code, "enabled": True}).sort("_id", ASCENDING)
        return await cursor.to_list()

    async def insert_rule(self, doc: Document, key: Idempotency | None = None) -> Document:
        """Store a new rule; with an idempotency ``key`` a retry answers the rule the first
        attempt created."""
        return await self._insert_keyed(self.rules, "rule", ChangeKind.CREATED, doc, key)

    async def replace_rule(self, rule_id: str, fields: Document) -> Document:
        """Overwrite a rule's fields (built-in rules are editable).

        A whole replacement, not ``$set``: nx-27017 stores a date written by ``$set``
        (``updated_at``) as a string, which reads back without its time zone.
        """
        current = await self.get_rule(rule_id)
        replacement = {k: v for k, v in {**current, **fields}.items() if k != "_id"}
        location = Location.of(self.rules, rule_id)
        async with self.feed.recording("rule", rule_id, ChangeKind.CHANGED, location):
            result = await self.rules.replace_one({"_id": rule_id}, replacement)
            if result.matched_count == 0:
                raise NotFound("monitoring rule", rule_id)
        return {"_id": rule_id, **replacement}

    async def delete_rule(self, rule_id: str) -> None:
        """Delete a custom rule; built-in ones can only be disabled (they would come back)."""
        location = Location.of(self.rules, rule_id, gone=True)
        async with self.feed.recording("rule", rule_id, ChangeKind.DELETED, location):
            await self._delete_custom_rule(rule_id)

    async def _delete_custom_rule(self, rule_id: str) -> None:
        result = await self.rules.delete_one({"_id": rule_id, "built_in": False})
        if result.deleted_count == 0:
            if await self.rules.count_documents({"_id": rule_id}, limit=1):
                raise Conflict(
                    "id",
                    f"the built-in rule {rule_id!r} cannot be deleted; disable it instead "
                    "(PATCH /rules/{id} or updateMonitoringRule with enabled: false)",
                )
            raise NotFound("monitoring rule", rule_id)

    # --- roadmaps ----------------------------------------------------------------------------

    async def roadmaps_of(self, shop_ids: Sequence[str]) -> dict[str, Document]:
        """The stored roadmaps of the given shops by shop id (one command)."""
        cursor = self.roadmaps.find({"_id": {"$in": list(shop_ids)}})
        return {d["_id"]: d async for d in cursor}

    async def modify_roadmap(
        self, shop_id: str, mutate: Callable[[list[roadmap.Stage]], Mapping[str, Document]]
    ) -> Document:
        """Apply ``mutate`` (which answers the changed stages' documents) to a shop's roadmap,
        compare-and-set on its version so the order rule holds under concurrent changes. A
        deleted shop is NOT_FOUND."""
        await self.purge.check_not_deleted(shop_id)
        location = Location.of(self.roadmaps, shop_id)
        async with self.feed.recording(
            "roadmap", shop_id, ChangeKind.CHANGED, location, shop_id=shop_id
        ) as change:
            written = await self._write_roadmap(shop_id, mutate)
            change.written(written)
        return written

    async def _write_roadmap(
        self, shop_id: str, mutate: Callable[[list[roadmap.Stage]], Mapping[str, Document]]
    ) -> Document:
        for _ in range(MAX_ATTEMPTS):
            stored = await self.roadmaps.find_one({"_id": shop_id})
            stages = {**(stored or {}).get("stages", {}), **mutate(stages_of(stored))}
            if stored is None:
                doc: Document = {"_id": shop_id, "stages": stages, "version": 1}
                try:
                    await self.roadmaps.insert_one(doc)
                except DuplicateKeyError:
                    continue
                return doc
            result = await self.roadmaps.update_one(
                {"_id": shop_id, "version": stored["version"]},
                {"$set": {"stages": stages}, "$inc": {"version": 1}},
            )
            if result.matched_count == 1:
                return {**stored, "stages": stages, "version": stored["version"] + 1}
        raise Conflict("shopId", f"the roadmap of {shop_id!r} keeps changing concurrently; retry")
