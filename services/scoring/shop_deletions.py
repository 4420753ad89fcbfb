"""A shop's deletion reaches every service that keeps its data: durable, retried, idempotent.

``deleteShop`` first stores one delivery per receiving service (collection
``shop_deletions``, ``_id`` ``"<shop>:<service>"``), then deletes the shop and its assessments,
and only then answers. :class:`ShopDeletionDispatcher` sends each delivery as
``DELETE {service}/shops/{shop_id}`` (see :mod:`services.runtime.shop_purge`), signed as
``service:scoring``, until the service accepts it; failures are retried with capped
exponential backoff and jitter, for ever. A delivery is leased before it is sent (a
compare-and-set on its attempt count), so several replicas can dispatch side by side; the
purge is idempotent, so a delivery sent twice changes nothing more.

A crash between the stored deliveries and the local deletion heals itself: before it sends a
delivery the dispatcher deletes the shop and its assessments again (a no-op if done), so the
shop cannot outlive an acknowledged or a half-done deletion. Deliveries are polled, so pending
ones are picked up after a restart. Times are integer milliseconds (nx-27017 stores a bare
date written by ``$set`` as a string).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

import httpx
from prometheus_client import Counter, Gauge
from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError

from services.runtime.app import stop_if_cancelled
from services.runtime.auth import Role
from services.runtime.backoff import backoff_delay
from services.runtime.caller import Actor
from services.runtime.metrics import REGISTRY
from services.runtime.records import Document, now_ms
from services.runtime.service_tokens import ServiceTokens, service_principal

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
class Receiver:
    """Where a receiving service is reached: a base URL and, in process, an ASGI transport."""

    base_url: str
    transport: httpx.AsyncBaseTransport | None = None


@dataclass(frozen=True)
class DeletionOptions:
    """Tuning of the dispatcher; tests use small values."""

    poll_interval: float = 5.0
    timeout: float = 5.0
    backoff_base: float = 1.0
    backoff_cap: float = 60.0
    jitter: float = 0.2
    lease: float = 30.0
    batch_size: int = 50


class ShopDeletionStore:
    """The ``shop_deletions`` collection of the scoring database."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.deliveries = db["shop_deletions"]

    async def prepare(self) -> None:
        """The index of the dispatcher's poll."""
        await self.deliveries.create_index(
            [("delivered", ASCENDING), ("due_ms", ASCENDING)], name="due"
        )

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
                "delivered": False,
                "attempts": 0,
                "due_ms": 0,
                "lease_ms": 0,
                "last_error": None,
            }
            for receiver in RECEIVERS
        ]
        try:
            await self.deliveries.insert_many(docs, ordered=False)
        except BulkWriteError as error:
            if any(e["code"] != _DUPLICATE_KEY for e in error.details["writeErrors"]):
                raise

    async def due(self, at_ms: int, limit: int) -> list[Document]:
        """Pending deliveries whose retry time has come, oldest first."""
        query = {"delivered": False, "due_ms": {"$lte": at_ms}, "lease_ms": {"$lte": at_ms}}
        cursor = self.deliveries.find(query).sort("due_ms", ASCENDING).limit(limit)
        return [doc async for doc in cursor]

    async def claim(self, doc: Document, at_ms: int, lease_ms: int) -> bool:
        """Lease a delivery for this dispatcher; ``False`` if another one has it."""
        result = await self.deliveries.update_one(
            {"_id": doc["_id"], "delivered": False, "attempts": doc["attempts"]},
            {"$set": {"lease_ms": at_ms + lease_ms}, "$inc": {"attempts": 1}},
        )
        return result.modified_count == 1

    async def settle(self, ident: str, delivered: bool, due_ms: int, error: str | None) -> None:
        """Record the outcome of an attempt: accepted, or retried at ``due_ms``."""
        outcome = {"delivered": delivered, "due_ms": due_ms, "lease_ms": 0, "last_error": error}
        await self.deliveries.update_one({"_id": ident}, {"$set": outcome})

    async def pending_counts(self) -> dict[str, int]:
        """Pending deliveries by receiver."""
        counts = dict.fromkeys(RECEIVERS, 0)
        async for doc in self.deliveries.find({"delivered": False}, {"receiver": 1}):
            counts[doc["receiver"]] = counts.get(doc["receiver"], 0) + 1
        return counts

    async def of_shop(self, shop_id: str) -> list[Document]:
        """The deliveries of one shop's deletion."""
        return [doc async for doc in self.deliveries.find({"shop_id": shop_id})]


class ShopDeletionDispatcher:
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
        self._store = store
        self._remove_locally = remove_locally
        self.receivers = dict(receivers)
        self._tokens = tokens
        self.options = options or DeletionOptions()
        self._rand = rand
        self._wake = asyncio.Event()

    def notify(self) -> None:
        """Wake the dispatcher: a deletion was stored."""
        self._wake.set()

    async def run_forever(self) -> None:
        """Poll and deliver until cancelled; failures are logged and retried."""
        clients = self._clients()
        try:
            while True:
                self._wake.clear()
                try:
                    await self.run_once(clients)
                    for receiver, count in (await self._store().pending_counts()).items():
                        PENDING.labels(receiver).set(count)
                except Exception:
                    stop_if_cancelled()
                    log.warning("shop deletion poll failed; retrying", exc_info=True)
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.options.poll_interval):
                        await self._wake.wait()
        finally:
            for client in clients.values():
                await client.aclose()

    def _clients(self) -> dict[str, httpx.AsyncClient]:
        return {
            name: httpx.AsyncClient(
                base_url=r.base_url, transport=r.transport, timeout=self.options.timeout
            )
            for name, r in self.receivers.items()
        }

    async def run_once(self, clients: Mapping[str, httpx.AsyncClient]) -> int:
        """Send the deliveries due now; answers how many were accepted."""
        docs = await self._store().due(now_ms(), self.options.batch_size)
        results = await asyncio.gather(*(self._deliver(clients, doc) for doc in docs))
        return sum(results)

    async def _deliver(self, clients: Mapping[str, httpx.AsyncClient], doc: Document) -> bool:
        store = self._store()
        lease_ms = round(self.options.lease * 1000)
        if not await store.claim(doc, now_ms(), lease_ms):
            return False
        await self._remove_locally(doc["shop_id"])  # heals a crash before the local delete
        outcome, error = await self._send(clients.get(doc["receiver"]), doc)
        DELIVERIES.labels(doc["receiver"], outcome).inc()
        if outcome == "delivered":
            await store.settle(doc["_id"], True, now_ms(), None)
            return True
        delay = backoff_delay(
            doc["attempts"] + 1,
            self.options.backoff_base,
            self.options.backoff_cap,
            self.options.jitter,
            self._rand(),
        )
        log.info("shop deletion %s not delivered (%s); retry in %.2f s", doc["_id"], error, delay)
        await store.settle(doc["_id"], False, now_ms() + round(delay * 1000), error)
        return False

    async def _send(self, client: httpx.AsyncClient | None, doc: Document) -> tuple[str, str]:
        if client is None:
            return "client_error", f"unknown receiver {doc['receiver']!r}"
        headers = {}
        if self._tokens is not None:
            token = self._tokens.sign(SCORING_PRINCIPAL, doc["receiver"])
            headers["authorization"] = f"Bearer {token}"
        try:
            response = await client.delete(f"/shops/{doc['shop_id']}", headers=headers)
        except Exception as exc:  # a dead or slow receiver: retried, never fatal
            stop_if_cancelled()
            return "unreachable", f"{type(exc).__name__}: {exc}"
        if response.is_success:
            return "delivered", ""
        outcome = "server_error" if response.status_code >= 500 else "client_error"
        return outcome, f"HTTP {response.status_code}"
