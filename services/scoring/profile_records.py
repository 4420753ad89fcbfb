"""The ``profiles`` collection of the scoring store: weight profiles keyed by name.

:class:`ProfileRecords` is the part of :class:`services.scoring.store.ScoreStore` that reads
and writes profiles; the built-in profile is seeded at start and never changes.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from services.runtime.caller import current_actor
from services.runtime.change_feed import ChangeFeed, ChangeKind, Location
from services.runtime.errors import Conflict, NotFound
from services.runtime.idempotency import Idempotency
from services.runtime.mongo import replace_fields
from services.runtime.records import Document, now
from services.scoring import domain


async def created_under(
    collection: AsyncCollection[Document], record_id: str, key: Idempotency | None
) -> Document | None:
    """The record a keyed request created already (its retry answers it), or ``None``;
    the key used for a different request is a CONFLICT."""
    if key is None:
        return None
    existing = await collection.find_one({"_id": record_id})
    if existing is None or existing.get("idempotency", {}).get("key") != key.key:
        return None
    key.check_same_request(existing)
    return existing


class ProfileRecords:
    """Weight profiles: the built-in one and the custom ones admins create."""

    profiles: AsyncCollection[Document]
    feed: ChangeFeed

    async def _seed_built_in_profile(self) -> None:
        """Insert the built-in profile unless it exists; idempotent."""
        created = now()
        with contextlib.suppress(DuplicateKeyError):
            await self.profiles.insert_one(
                {
                    "_id": domain.DEFAULT_PROFILE,
                    "description": "Weights of the Sherdani method (domain.md §2.1).",
                    "weights": {c.value: w for c, w in domain.DEFAULT_WEIGHTS.items()},
                    "built_in": True,
                    "created_at": created,
                    "updated_at": created,
                }
            )

    async def get_profile(self, name: str, field: str = "name") -> Document:
        """The profile with this name, or NOT_FOUND naming ``field``."""
        doc = await self.profiles.find_one({"_id": name})
        if doc is None:
            raise NotFound("weight profile", name, field)
        return doc

    async def list_profiles(self) -> list[Document]:
        """Every profile, the built-in first, then by name."""
        cursor = self.profiles.find({}).sort([("built_in", DESCENDING), ("_id", ASCENDING)])
        return await cursor.to_list()

    async def create_profile(
        self,
        name: str,
        description: str | None,
        weights: Mapping[str, float],
        key: Idempotency | None = None,
    ) -> Document:
        """Insert a custom profile; an existing name is a CONFLICT (unless it was created by
        this request's idempotency ``key``: a retry answers it)."""
        created = now()
        doc: Document = {
            "_id": name,
            "description": description,
            "weights": dict(weights),
            "built_in": False,
            "created_by": current_actor().document(),
            "created_at": created,
            "updated_at": created,
        }
        if key is not None:
            # A profile's id is its name, not the key's record id: find what the key created.
            earlier = await self.profiles.find_one({"idempotency.key": key.key})
            if earlier is not None:
                key.check_same_request(earlier)  # the key used for another request: CONFLICT
                return earlier
            doc["idempotency"] = key.stamp()
        location = Location.of(self.profiles, name)
        async with self.feed.recording("profile", name, ChangeKind.CREATED, location) as change:
            try:
                await self.profiles.insert_one(doc)
            except DuplicateKeyError:
                existing = await created_under(self.profiles, name, key)
                if existing is not None:
                    change.skip()  # a retry: the first attempt's change is recorded
                    return existing
                raise Conflict("name", f"a weight profile named {name!r} exists already") from None
        return doc

    async def update_profile(
        self, name: str, description: str | None, weights: Mapping[str, float]
    ) -> Document:
        """Replace a custom profile's weights (by :func:`replace_fields`, so ``updated_at``
        keeps its time zone); the built-in profile cannot change."""
        guard = {"_id": name, "built_in": False}
        current = await self.profiles.find_one(guard)
        changes = {"description": description, "weights": dict(weights), "updated_at": now()}
        location = Location.of(self.profiles, name)
        async with self.feed.recording("profile", name, ChangeKind.CHANGED, location):
            written = current and await replace_fields(self.profiles, guard, current, changes)
            if not written:
                await self._refuse_built_in(name)
                raise NotFound("weight profile", name, "name")
        return written

    async def delete_profile(self, name: str) -> None:
        """Delete a custom profile; past assessments keep the weights they recorded."""
        location = Location.of(self.profiles, name, gone=True)
        async with self.feed.recording("profile", name, ChangeKind.DELETED, location):
            result = await self.profiles.delete_one({"_id": name, "built_in": False})
            if result.deleted_count == 0:
                await self._refuse_built_in(name)
                raise NotFound("weight profile", name, "name")

    async def _refuse_built_in(self, name: str) -> None:
        if await self.profiles.count_documents({"_id": name, "built_in": True}, limit=1):
            raise Conflict("name", f"the built-in profile {name!r} cannot be changed")
