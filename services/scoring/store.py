"""ScoreStore: the only module of the scoring service that touches MongoDB.

Collections of the ``<prefix>_scoring`` database:

- ``shops``: one document per shop, with ``name_key`` (the case-folded name, uniquely
  indexed), ``current``, a snapshot of the latest assessment (id, ``SH``, criteria, time),
  and for an assessed shop ``rank_key`` (indexed; see :func:`ranking_key`), so that ranking
  and sorting by ``SH`` are one indexed query;
- ``assessments``: immutable assessment records, indexed by shop and time;
- ``profiles``: weight profiles keyed by name, the built-in one seeded at start;
- ``counters``: ``{_id: "ranked_shops", n}``, how many shops have a current score.

Every query is a bounded number of commands, whatever the length of the list it answers.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping, Sequence

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from services.runtime.caller import current_actor
from services.runtime.change_feed import ChangeFeed, ChangeKind, Location
from services.runtime.concurrency import check_version, contention_pause
from services.runtime.errors import Conflict, NotFound
from services.runtime.idempotency import Idempotency
from services.runtime.mongo import BATCH_READ_SIZE
from services.runtime.records import Document, new_id, now
from services.scoring.profile_records import ProfileRecords, created_under

_SHOP_SORT_KEYS = {
    "NAME": "name_key",
    "CREATED_AT": "created_at",
    "UPDATED_AT": "updated_at",
    "SH": "current.sh",
}


_UPDATE_ATTEMPTS = 20
_UINT64 = (1 << 64) - 1
RANKED: Document = {"rank_key": {"$gt": ""}}
"""The assessed shops, as a range of the ``rank_key`` index (unassessed shops have none)."""


EVERY_SHOP: Document = {"name_key": {"$gte": ""}}
"""Every shop, as a range of the ``name_key`` index (every shop has a name)."""


RANKED_COUNTER = "ranked_shops"
"""The ``counters`` document holding how many shops have a current score."""


def ranking_key(sh: float, shop_id: str) -> str:
    """A string whose ascending order is the ranking's order: ``SH`` highest first, then the
    shop id. One indexed field serves the ranking's sort, range and count on MongoDB and on
    nx-27017 alike (a compound index with ``_id`` would break inserts on nx-27017)."""
    bits = struct.unpack(">Q", struct.pack(">d", sh + 0.0))[0]  # + 0.0: -0.0 is 0.0
    ascending = bits ^ _UINT64 if bits >> 63 else bits | (1 << 63)
    return f"{_UINT64 - ascending:016x}:{shop_id}"


class ScoreStore(ProfileRecords):
    """Shops, weight profiles (:class:`ProfileRecords`) and assessments of the scoring service."""

    def __init__(self, db: AsyncDatabase[Document], feed: ChangeFeed) -> None:
        self.feed = feed
        """Where every write of this store is recorded (:mod:`services.runtime.change_feed`)."""
        self.shops: AsyncCollection[Document] = db["shops"]
        self.assessments: AsyncCollection[Document] = db["assessments"]
        self.profiles: AsyncCollection[Document] = db["profiles"]
        self.counters: AsyncCollection[Document] = db["counters"]

    async def prepare(self) -> None:
        """Create the indexes and the built-in profile; idempotent."""
        await self.shops.create_index([("name_key", ASCENDING)], unique=True, name="name_key")
        await self.shops.create_index([("current.sh", DESCENDING)], name="current_sh")
        await self.shops.create_index([("rank_key", ASCENDING)], name="rank_key")
        await self.shops.create_index([("created_at", ASCENDING)], name="created_at")
        await self.shops.create_index([("updated_at", ASCENDING)], name="updated_at")
        await self.assessments.create_index(
            [("shop_id", ASCENDING), ("created_at", DESCENDING)], name="shop_time"
        )
        await self._add_ranking_keys()
        await self._recount_ranked()
        await self._seed_built_in_profile()

    async def _add_ranking_keys(self) -> None:
        """Give assessed shops stored before ``rank_key`` existed their key. The update is
        guarded by the assessment it was computed from, so a concurrent new score wins."""
        missing = {"$and": [{"current": {"$ne": None}}, {"rank_key": {"$exists": False}}]}
        async for doc in self.shops.find(missing, {"current": 1}):
            current = doc["current"]
            await self.shops.update_one(
                {"_id": doc["_id"], "current.assessment_id": current["assessment_id"]},
                {"$set": {"rank_key": ranking_key(current["sh"], doc["_id"])}},
            )

    async def _recount_ranked(self) -> None:
        """Set the count of assessed shops from the index (mends a count left one off by a
        crash between a shop's first score, or its deletion, and the count's update)."""
        ranked = await self._count_shops(RANKED)
        await self.counters.update_one(
            {"_id": RANKED_COUNTER}, {"$set": {"n": ranked}}, upsert=True
        )

    async def _add_ranked(self, change: int) -> None:
        await self.counters.update_one(
            {"_id": RANKED_COUNTER}, {"$inc": {"n": change}}, upsert=True
        )

    # --- shops -------------------------------------------------------------------------------

    async def create_shop(
        self, name: str, url: str | None, segment: str | None, key: Idempotency | None = None
    ) -> Document:
        """Insert a shop; a name already used (ignoring case) is a CONFLICT on ``name``.

        With an idempotency ``key`` a retry answers the shop the first attempt created.
        """
        created = now()
        doc: Document = {
            "_id": key.record_id() if key else new_id(),
            "name": name,
            "name_key": name.casefold(),
            "url": url,
            "segment": segment,
            "created_by": current_actor().document(),
            "created_at": created,
            "updated_at": created,
            "current": None,
            "version": 1,
        }
        if key is not None:
            doc["idempotency"] = key.stamp()
        location = Location.of(self.shops, doc["_id"])
        async with self.feed.recording(
            "shop", doc["_id"], ChangeKind.CREATED, location, shop_id=doc["_id"]
        ) as change:
            try:
                await self.shops.insert_one(doc)
            except DuplicateKeyError:
                existing = await created_under(self.shops, doc["_id"], key)
                if existing is not None:
                    change.skip()  # a retry: the first attempt's change is recorded
                    return existing
                raise _duplicate_name(name) from None
            change.written(doc)
        return doc

    async def get_shop(self, shop_id: str) -> Document:
        """The shop with this id, or NOT_FOUND."""
        doc = await self.shops.find_one({"_id": shop_id})
        if doc is None:
            raise NotFound("shop", shop_id)
        return doc

    async def shops_by_ids(self, ids: Sequence[str]) -> list[Document]:
        """The shops among ``ids`` that exist, in the order of ``ids`` (one command)."""
        found = {doc["_id"]: doc async for doc in self.shops.find({"_id": {"$in": list(ids)}})}
        return [found[i] for i in ids if i in found]

    async def list_shops(
        self, sort: str, descending: bool, limit: int, offset: int
    ) -> tuple[list[Document], int]:
        """One page of shops in the given order, and how many shops there are."""
        direction = DESCENDING if descending else ASCENDING
        cursor = (
            self.shops.find({})
            .sort([(_SHOP_SORT_KEYS[sort], direction), ("_id", ASCENDING)])
            .skip(offset)
            .limit(limit)
        )
        return await cursor.to_list(), await self._count_shops(EVERY_SHOP)

    async def update_shop(
        self, shop_id: str, changes: Mapping[str, object], expected_version: int | None = None
    ) -> Document:
        """Apply ``changes`` (name, url, segment) to a shop and answer it as updated.

        A version-guarded ``replace_one``: nx-27017 stores a date written by ``$set`` as a
        string, and its findAndModify hides duplicate-key errors; a replacement keeps dates and
        reports a taken name. The version guard makes a concurrent change (a new current
        score) win a retry instead of being overwritten; with ``expected_version`` a shop at
        another version is a CONFLICT on ``expectedVersion`` instead.
        """
        location = Location.of(self.shops, shop_id)
        async with self.feed.recording(
            "shop", shop_id, ChangeKind.CHANGED, location, shop_id=shop_id
        ) as change:
            written = await self._replace_shop(shop_id, changes, expected_version)
            change.written(written)
        return written

    async def _replace_shop(
        self, shop_id: str, changes: Mapping[str, object], expected_version: int | None
    ) -> Document:
        for attempt in range(_UPDATE_ATTEMPTS):
            if attempt:
                await contention_pause(attempt)
            doc = await self.get_shop(shop_id)
            version = doc.get("version", 0)
            check_version("shop", shop_id, version, expected_version)
            replacement = {k: v for k, v in doc.items() if k != "_id"}
            replacement.update(changes, updated_at=now(), version=version + 1)
            if "name" in changes:
                replacement["name_key"] = str(changes["name"]).casefold()
            try:
                result = await self.shops.replace_one(
                    {"_id": shop_id, "version": version}, replacement
                )
            except DuplicateKeyError:
                raise _duplicate_name(str(changes["name"])) from None
            if result.matched_count:
                return {"_id": shop_id, **replacement}
        raise Conflict("id", f"shop {shop_id!r} kept changing; retry the update")

    async def remove_shop(self, shop_id: str) -> None:
        """Delete a shop and then its assessments; idempotent (the deletion dispatcher repeats
        it to heal a crash between the two, see :mod:`services.scoring.shop_deletions`)."""
        location = Location.of(self.shops, shop_id, gone=True)
        async with self.feed.recording(
            "shop", shop_id, ChangeKind.DELETED, location, shop_id=shop_id
        ) as change:
            deleted = await self.shops.find_one_and_delete({"_id": shop_id}, {"current": 1})
            if deleted is None:
                change.skip()  # deleted already: a repetition of the dispatcher
        if deleted is not None and deleted.get("current"):
            await self._add_ranked(-1)
        await self.assessments.delete_many({"shop_id": shop_id})

    # --- assessments -------------------------------------------------------------------------

    async def insert_assessment(self, doc: Document, key: Idempotency | None = None) -> Document:
        """Store an assessment and make it the shop's current score unless a newer one is.

        Assessments are immutable once stored. With an idempotency ``key`` the assessment's id
        derives from it; a retry answers the stored assessment (and completes the shop's
        current score if the first attempt stopped in between).
        """
        if key is not None:
            doc = {**doc, "_id": key.record_id(), "idempotency": key.stamp()}
        location = Location.of(self.assessments, doc["_id"])
        async with self.feed.recording(
            "assessment", doc["_id"], ChangeKind.CREATED, location, shop_id=doc["shop_id"]
        ) as change:
            try:
                await self.assessments.insert_one(doc)
            except DuplicateKeyError:
                existing = await created_under(self.assessments, doc["_id"], key)
                if existing is None:
                    raise
                doc = existing
                change.skip()  # a retry: the first attempt's change is recorded
            await self._make_current(doc)
        return doc

    async def _make_current(self, doc: Document) -> None:
        """Point the shop's current score at ``doc`` unless it holds a newer one (or it)."""
        snapshot = {
            "assessment_id": doc["_id"],
            "sh": doc["sh"],
            "band": doc["band"],
            "criteria": doc["criteria"],
            "at": doc["created_at"],
        }
        shop = await self.shops.find_one({"_id": doc["shop_id"]}, {"current": 1})
        current = (shop or {}).get("current") or {}
        if current.get("assessment_id") == doc["_id"]:
            return
        change = {
            "$set": {"current": snapshot, "rank_key": ranking_key(doc["sh"], doc["shop_id"])},
            "$inc": {"version": 1},
        }
        first = await self.shops.update_one({"_id": doc["shop_id"], "current": None}, change)
        if first.modified_count:
            await self._add_ranked(1)  # the shop enters the ranking
            return
        await self.shops.update_one(
            # $and, not a top-level $or beside _id: nx-27017 ignores the other conditions then.
            {"$and": [{"_id": doc["shop_id"]}, {"current.at": {"$lte": doc["created_at"]}}]},
            change,
        )

    async def get_assessment(self, assessment_id: str) -> Document:
        """The assessment with this id, or NOT_FOUND."""
        doc = await self.assessments.find_one({"_id": assessment_id})
        if doc is None:
            raise NotFound("assessment", assessment_id)
        return doc

    async def assessments_by_ids(self, ids: Sequence[str]) -> list[Document]:
        """The assessments among ``ids`` that exist, in the order of ``ids`` (one command)."""
        cursor = self.assessments.find({"_id": {"$in": list(ids)}})
        found = {doc["_id"]: doc async for doc in cursor}
        return [found[i] for i in ids if i in found]

    async def shop_history(
        self, shop_id: str, limit: int, offset: int
    ) -> tuple[list[Document], int]:
        """A shop's assessments, newest first, and how many it has."""
        query = {"shop_id": shop_id}
        cursor = (
            self.assessments.find(query)
            .sort([("created_at", DESCENDING), ("_id", DESCENDING)])
            .skip(offset)
            .limit(limit)
        )
        return await cursor.to_list(), await self.assessments.count_documents(query)

    async def shop_histories(
        self, shop_ids: Sequence[str], limit: int, offset: int
    ) -> dict[str, tuple[list[Document], int]]:
        """Each shop's assessments, newest first, paged, and how many it has: two commands
        for any number of shops (a count per shop, then one pass over their assessments)."""
        wanted = list(dict.fromkeys(shop_ids))
        match = {"shop_id": {"$in": wanted}}
        counts = {
            doc["_id"]: int(doc["n"])
            async for doc in await self.assessments.aggregate(
                [{"$match": match}, {"$group": {"_id": "$shop_id", "n": {"$sum": 1}}}]
            )
        }
        pages: dict[str, list[Document]] = {shop_id: [] for shop_id in wanted}
        seen = dict.fromkeys(wanted, 0)
        cursor = self.assessments.find(match, batch_size=BATCH_READ_SIZE).sort(
            [("created_at", DESCENDING), ("_id", DESCENDING)]
        )
        async for doc in cursor:
            shop_id = doc["shop_id"]
            if offset <= seen[shop_id] < offset + limit:
                pages[shop_id].append(doc)
            seen[shop_id] += 1
        return {shop_id: (pages[shop_id], counts.get(shop_id, 0)) for shop_id in wanted}

    async def current_assessments(self, shop_ids: Sequence[str]) -> list[Document]:
        """The latest assessment of each shop that has one (two commands for any count)."""
        cursor = self.shops.find(
            {"_id": {"$in": list(shop_ids)}, "current": {"$ne": None}},
            {"current": 1},
        )
        pointers = [doc["current"]["assessment_id"] async for doc in cursor]
        if not pointers:
            return []
        by_shop = {doc["shop_id"]: doc for doc in await self.assessments_by_ids(pointers)}
        return [by_shop[i] for i in shop_ids if i in by_shop]

    async def current_of(self, shops: Sequence[Document]) -> dict[str, Document]:
        """The current assessment of each of these shop documents that has one, by shop id
        (one command, none when no shop is assessed): the pointers are in the documents."""
        pointers = [doc["current"]["assessment_id"] for doc in shops if doc.get("current")]
        if not pointers:
            return {}
        return {doc["shop_id"]: doc for doc in await self.assessments_by_ids(pointers)}

    async def ranking(self, limit: int, offset: int) -> tuple[list[Document], int]:
        """Assessed shops by current ``SH`` (highest first), and how many are assessed.

        Both are bounded work whatever the number of shops: the page is a range of the
        ``rank_key`` index, and the count is kept in ``counters`` (a shop's first score adds
        one, deleting an assessed shop removes one; every start recounts from the index).
        """
        cursor = (
            self.shops.find(RANKED, {"name": 1, "current": 1})
            .sort("rank_key", ASCENDING)
            .skip(offset)
            .limit(limit)
        )
        docs = await cursor.to_list()
        if len(docs) < limit and (docs or offset == 0):
            return docs, offset + len(docs)  # the last page: its end is the count
        counter = await self.counters.find_one({"_id": RANKED_COUNTER})
        counted = int(counter["n"]) if counter else 0
        return docs, max(counted, offset + len(docs))

    async def _count_shops(self, query: Document) -> int:
        """How many shops match ``query``, a range of an index. The count command, not
        ``count_documents``: that is an aggregation, which nx-27017 runs over every document in
        Python; the count of an index range is index-only on MongoDB and on nx-27017."""
        counted = await self.shops.database.command({"count": self.shops.name, "query": query})
        return int(counted["n"])


def _duplicate_name(name: str) -> Conflict:
    return Conflict("name", f"a shop named {name!r} exists already (names ignore case)")
