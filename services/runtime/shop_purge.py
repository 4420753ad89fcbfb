"""Forgetting a deleted shop where other services keep data about it (risk, kpi).

The scoring service owns shops. When one is deleted, scoring delivers the deletion to each
service that keeps data of that shop (``DELETE /shops/{shop_id}``, see
:mod:`services.scoring.shop_deletions`), retried until it is accepted. The receiving service
first records a tombstone (collection ``deleted_shops``, ``_id`` the shop id), then deletes the
shop's documents. The purge is idempotent: a redelivery finds nothing more to delete.

The tombstone closes the races of a deletion: an event still in flight (a KPI breach, a no-data
event) or a write sent straight to a service after the deletion must not bring the shop's data
back, so writes for a deleted shop are refused (``NOT_FOUND``) and escalations ignored.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError
from starlette.requests import Request
from starlette.responses import Response

from services.runtime.auth import Role
from services.runtime.change_feed import ChangeFeed, ChangeKind, Location
from services.runtime.errors import NotFound
from services.runtime.http import json_response, path_id
from services.runtime.openapi import ApiRoute
from services.runtime.records import Document
from services.runtime.wire import RecordId, WireModel

TOMBSTONES = "deleted_shops"


class ShopPurged(WireModel):
    """What a purge deleted, by collection (all zeros on a redelivery)."""

    shop_id: str
    deleted: dict[str, int]


class ShopPurge:
    """Tombstones and purges of deleted shops in one service's database.

    ``collections`` maps each collection that holds a shop's documents to the field that
    holds the shop id (``_id`` where the document is the shop's own).
    """

    def __init__(
        self, db: AsyncDatabase[Document], collections: Mapping[str, str], feed: ChangeFeed
    ) -> None:
        self._db = db
        self._collections = dict(collections)
        self._tombstones = db[TOMBSTONES]
        self._feed = feed

    async def purge(self, shop_id: str) -> ShopPurged:
        """Record the tombstone, then delete every document of the shop; idempotent (a
        redelivery that finds nothing to delete records no change)."""
        location = Location.of(self._tombstones, shop_id)
        async with self._feed.recording(
            "shop", shop_id, ChangeKind.PURGED, location, shop_id=shop_id
        ) as change:
            first = True
            try:
                await self._tombstones.insert_one({"_id": shop_id, "deleted_at": datetime.now(UTC)})
            except DuplicateKeyError:
                first = False
            deleted: dict[str, int] = {}
            for name, field in self._collections.items():
                result = await self._db[name].delete_many({field: shop_id})
                deleted[name] = result.deleted_count
            if not first and not any(deleted.values()):
                change.skip()
        return ShopPurged(shop_id=shop_id, deleted=deleted)

    async def is_deleted(self, shop_id: str) -> bool:
        """Whether the shop was deleted (its tombstone exists)."""
        return await self._tombstones.find_one({"_id": shop_id}, {"_id": 1}) is not None

    async def check_not_deleted(self, shop_id: str, field: str = "shopId") -> None:
        """NOT_FOUND naming ``field`` when the shop was deleted."""
        if await self.is_deleted(shop_id):
            raise NotFound("shop", shop_id, field)


def purge_route(purge: Callable[[], ShopPurge], keeps: str) -> ApiRoute:
    """``DELETE /shops/{shop_id}``: forget a deleted shop (ADMIN; scoring calls it)."""

    async def forget_shop(request: Request) -> Response:
        shop_id = path_id(request, "shop_id")
        return json_response(await purge().purge(shop_id))

    return ApiRoute(
        "/shops/{shop_id}",
        forget_shop,
        "DELETE",
        role=Role.ADMIN,
        summary=f"Forget a deleted shop: delete its {keeps} (idempotent; the scoring service "
        "calls it when a shop is deleted); later writes for that shop are NOT_FOUND",
        params={"shop_id": RecordId},
        response=ShopPurged,
    )
