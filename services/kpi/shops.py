"""The shops the no-data rule must watch although they were never measured (domain.md §3.5).

The kpi service learns a scope from its first measurement; a shop that never had one exists
only in the scoring service, with its creation time. :class:`ShopDirectory` reads the shops
created before a cutoff from scoring's own API (``GET /shops`` sorted by creation, oldest
first, signed as ``service:kpi``) and stops at the first younger shop, so an hourly check reads
only the shops old enough to matter. It runs in the no-data monitor's background pass, never
on a request: a scoring outage delays the rule to the next pass and loses nothing, because the
shops' own documents are the durable record that is read again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import httpx

from services.kpi.store import KpiStore
from services.runtime.service_calls import ServiceEndpoint

PAGE: Final = 100


@dataclass(frozen=True)
class KnownShop:
    """A shop of the scoring service and when it was created."""

    id: str
    created_at: datetime


class ShopDirectory:
    """Shops of the scoring service by creation time, read through its HTTP contract."""

    def __init__(self, scoring: ServiceEndpoint) -> None:
        self.scoring = scoring

    async def created_before(self, cutoff: datetime) -> list[KnownShop]:
        """Every shop created before ``cutoff``, oldest first (one call per 100 shops)."""
        found: list[KnownShop] = []
        async with self.scoring.client() as client:
            while True:
                items = await self._page(client, len(found))
                for item in items:
                    created = datetime.fromisoformat(item["createdAt"])
                    if created >= cutoff:
                        return found
                    found.append(KnownShop(str(item["id"]), created))
                if len(items) < PAGE:
                    return found

    async def _page(self, client: httpx.AsyncClient, offset: int) -> list[dict[str, Any]]:
        params: dict[str, str | int] = {
            "sort": "CREATED_AT",
            "order": "ASC",
            "limit": PAGE,
            "offset": offset,
        }
        response = await client.get("/shops", params=params, headers=self.scoring.headers())
        response.raise_for_status()
        items: list[dict[str, Any]] = response.json()["items"]
        return items


async def never_measured(store: KpiStore, shops: Sequence[KnownShop]) -> list[KnownShop]:
    """The shops of ``shops`` without any measurement (one query per 500 shops)."""
    measured: set[str] = set()
    for first in range(0, len(shops), 500):
        ids = [shop.id for shop in shops[first : first + 500]]
        cursor = store.activity.find({"_id": {"$in": ids}}, {"_id": 1})
        measured |= {str(doc["_id"]) async for doc in cursor}
    return [shop for shop in shops if shop.id not in measured]
