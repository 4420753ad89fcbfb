"""The kpi store's targets: a scope's own target per KPI, in force always or during a period.

One document per scope and KPI in ``targets`` (``_id`` :func:`scope_key`), set by the caller
who set it; the domain decides which target a value is judged against
(:mod:`services.kpi.judging`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from pymongo import ASCENDING
from pymongo.asynchronous.collection import AsyncCollection

from services.kpi import domain
from services.runtime.caller import current_actor
from services.runtime.change_feed import ChangeFeed, ChangeKind, Location
from services.runtime.errors import NotFound
from services.runtime.mongo import BATCH_READ_SIZE
from services.runtime.records import Document, now, to_bson_time
from services.runtime.shop_purge import ShopPurge


def scope_key(shop_id: str, kpi_code: str) -> str:
    """The ``_id`` of a scope's document for a KPI (``latest`` and ``targets``)."""
    return f"{shop_id}:{kpi_code}"


class TargetStore:
    """The targets part of :class:`services.kpi.store.KpiStore` (which sets the collections)."""

    targets: AsyncCollection[Document]
    purge: ShopPurge
    feed: ChangeFeed

    async def targets_for(self, shop_ids: Sequence[str]) -> list[Document]:
        """Every target of the given scopes (one command)."""
        cursor = self.targets.find({"shop_id": {"$in": list(shop_ids)}}, batch_size=BATCH_READ_SIZE)
        return await cursor.to_list()

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
        ident = scope_key(shop_id, kpi_code)
        location = Location.of(self.targets, ident)
        async with self.feed.recording(
            "target", ident, ChangeKind.CHANGED, location, shop_id=shop_id
        ):
            # update_one with upsert, not replace_one: nx-27017's replace upsert ignores the _id.
            await self.targets.update_one({"_id": ident}, {"$set": fields}, upsert=True)
        return {"_id": ident, **fields}

    async def get_target(self, shop_id: str, kpi_code: str) -> Document:
        """A scope's target for a KPI, or NOT_FOUND on ``kpiCode``."""
        doc = await self.targets.find_one({"_id": scope_key(shop_id, kpi_code)})
        if doc is None:
            raise NotFound("target", f"{shop_id}/{kpi_code}", field="kpiCode")
        return doc

    async def delete_target(self, shop_id: str, kpi_code: str) -> None:
        """Delete a scope's target for a KPI, or NOT_FOUND on ``kpiCode``."""
        ident = scope_key(shop_id, kpi_code)
        location = Location.of(self.targets, ident, gone=True)
        async with self.feed.recording(
            "target", ident, ChangeKind.DELETED, location, shop_id=shop_id
        ):
            result = await self.targets.delete_one({"_id": ident})
            if result.deleted_count == 0:
                raise NotFound("target", f"{shop_id}/{kpi_code}", field="kpiCode")

    async def list_targets(
        self, shop_id: str, limit: int, offset: int
    ) -> tuple[list[Document], int]:
        """A page of a scope's targets by KPI code, and how many it has."""
        query = {"shop_id": shop_id}
        cursor = self.targets.find(query).sort("kpi_code", ASCENDING).skip(offset).limit(limit)
        return await cursor.to_list(), await self.targets.count_documents(query)
