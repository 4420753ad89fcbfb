"""A shop's deletion reaches every service that keeps its data: durable, retried, idempotent.

``deleteShop`` first stores one delivery per receiving service (collection
``shop_deletions``, ``_id`` ``"<shop>:<service>"``), then deletes the shop and its assessments,
and only then answers. :class:`ShopDeletionDispatcher` sends each delivery as
``DELETE {service}/shops/{shop_id}`` (see :mod:`services.runtime.shop_purge`), signed as
``service:scoring``, until the service accepts it (a
:class:`~services.runtime.delivery.LeasedDispatcher`); failures are retried with capped
exponential backoff and jitter, for ever. A delivery is leased before it is sent (a
compare-and-set on its attempt count, see :class:`~services.runtime.delivery.LeasedCollection`),
so several replicas can dispatch side by side; the purge is idempotent, so a delivery sent
twice changes nothing more.

A crash between the stored deliveries and the local deletion heals itself: before it sends a
delivery the dispatcher deletes the shop and its assessments again (a no-op if done), so the
shop cannot outlive an acknowledged or a half-done deletion. Deliveries are polled, so pending
ones are picked up after a restart. Times are integer milliseconds (nx-27017 stores a bare
date written by ``$set`` as a string).
"""

from __future__ import annotations

import logging
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from prometheus_client import Counter, Gauge
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError

from services.runtime.auth import Role
from services.runtime.caller import Actor
from services.runtime.delivery import (
    DeliveryOptions,
    Lease,
    LeasedCollection,
    LeasedDispatcher,
    Receiver,
    Request,
)
from services.runtime.metrics import REGISTRY
from services.runtime.records import Document
from services.runtime.service_tokens import ServiceTokens, service_principal

__all__ = ["DeletionOptions", "Receiver", "ShopDeletionDispatcher", "ShopDeletionStore"]

log = logging.getLogger("integra.scoring.deletions")

RECEIVERS: Final = ("risk", "kpi")
"""The services that keep data of a shop."""
SCORING_PRINCIPAL = service_principal("scoring", Role.ADMIN)
"""Who the deliveries act as (a purge is an ADMIN operation)."""
_DUPLICATE_KEY = 11000


DELIVERIES: Final = Counter(
    "scoring_shop_deletion_deliveries",
    "Attempts to deliver a shop deletion, by receiving service and outcome "
    "(delivered, client_error, server_error, unreachable).",
    ["receiver", "outcome"],
    registry=REGISTRY,
)
PENDING: Final = Gauge(
    "scoring_shop_deletions_pending",
    "Shop deletions not yet accepted, by receiving service.",
    ["receiver"],
    registry=REGISTRY,
)


@dataclass(frozen=True)
class DeletionOptions(DeliveryOptions):
    """Tuning of the dispatcher: an idle poll every 5 s, the gauge after every poll."""

    poll_interval: float = 5.0
    stats_interval: float = 0.0


class ShopDeletionStore(LeasedCollection):
    """The ``shop_deletions`` collection of the scoring database."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        super().__init__(db["shop_deletions"])

    async def request(self, shop_id: str, actor: Actor) -> None:
        """Store one pending delivery per receiver; a repeated request adds nothing."""
        at = datetime.now(UTC)
        docs = [
            {
                "_id": f"{shop_id}:{receiver}",
                "shop_id": shop_id,
                "receiver": receiver,
                "requested_at": at,
                "actor": actor.document(),
                **self.pending(),
            }
            for receiver in RECEIVERS
        ]
        try:
            await self.collection.insert_many(docs, ordered=False)
        except BulkWriteError as error:
            if any(e["code"] != _DUPLICATE_KEY for e in error.details["writeErrors"]):
                raise

    async def pending_counts(self) -> dict[str, int]:
        """Pending deliveries by receiver."""
        counts = dict.fromkeys(RECEIVERS, 0)
        async for doc in self.collection.find({"delivered": False}, {"receiver": 1}):
            counts[doc["receiver"]] = counts.get(doc["receiver"], 0) + 1
        return counts

    async def of_shop(self, shop_id: str) -> list[Document]:
        """The deliveries of one shop's deletion."""
        return await self.collection.find({"shop_id": shop_id}).to_list()


class DeletionChannel:
    """The pending deliveries of the scoring store, each a ``DELETE /shops/{shop_id}``."""

    def __init__(
        self,
        store: Callable[[], ShopDeletionStore],
        remove_locally: Callable[[str], Awaitable[None]],
    ) -> None:
        self._store = store
        self._remove_locally = remove_locally

    async def due(self, limit: int) -> list[Document]:
        """Deliveries due now."""
        return await self._store().due(limit)

    async def claim(self, entry: Document, lease: timedelta) -> Lease | None:
        """Lease a delivery."""
        return await self._store().claim(entry, lease)

    async def request(self, lease: Lease) -> Request:
        """The purge at the receiver, after deleting the shop here again (heals a crash
        between the stored deliveries and the local deletion)."""
        doc = lease.entry
        await self._remove_locally(doc["shop_id"])
        return Request(
            doc["receiver"], "DELETE", f"/shops/{doc['shop_id']}", trace=doc.get("trace", {})
        )

    async def delivered(self, lease: Lease) -> bool:
        """Mark the delivery accepted."""
        return await self._store().delivered(lease)

    async def failed(self, lease: Lease, retry_at: datetime, error: str) -> bool:
        """Record the failed attempt."""
        return await self._store().failed(lease, retry_at, error)

    def label(self, lease: Lease) -> str:
        """The receiving service."""
        return str(lease.entry["receiver"])

    async def refresh_stats(self) -> None:
        """Pending deliveries by receiver."""
        for receiver, count in (await self._store().pending_counts()).items():
            PENDING.labels(receiver).set(count)


class ShopDeletionDispatcher(LeasedDispatcher):
    """Delivers pending shop deletions to their services until each accepts (see module)."""

    def __init__(
        self,
        store: Callable[[], ShopDeletionStore],
        remove_locally: Callable[[str], Awaitable[None]],
        receivers: Mapping[str, Receiver],
        tokens: ServiceTokens | None,
        options: DeletionOptions | None = None,
        rand: Callable[[], float] = random.random,
    ) -> None:
        super().__init__(
            [DeletionChannel(store, remove_locally)],
            receivers,
            SCORING_PRINCIPAL,
            tokens,
            DELIVERIES,
            log,
            options or DeletionOptions(),
            rand,
        )
