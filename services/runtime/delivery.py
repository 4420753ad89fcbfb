"""Durable deliveries to other services: one leased-retry dispatcher for every outbox.

An entry waits in a MongoDB collection until its receiving service accepts it. A
:class:`LeasedDispatcher` polls the due entries of its channels, leases each one (a
compare-and-set, so several replicas dispatch side by side, and a dispatcher that dies leaves
its entries due again when the lease ends), sends it signed as a service principal and settles
it: delivered on a 2xx answer; on any other answer, a timeout or a refused connection retried
after capped exponential backoff with jitter, for ever. Delivery is at least once; receivers
apply each entry once, so the effect is exactly once.

A :class:`Channel` says where one kind of entries is stored and how each is sent: the kpi
outbox (:mod:`services.kpi.outbox`) and shop deletions (:mod:`services.scoring.shop_deletions`).
:class:`LeasedCollection` is the storage of entries leased by their attempt count.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import TracebackType
from typing import Final, Literal, Protocol, Self

import httpx
from prometheus_client import Counter
from pymongo import ASCENDING
from pymongo.asynchronous.collection import AsyncCollection

from services.runtime.app import stop_if_cancelled
from services.runtime.auth import Principal
from services.runtime.backoff import backoff_delay
from services.runtime.records import Document, epoch_ms, now, now_ms
from services.runtime.service_tokens import ServiceTokens
from services.runtime.tracing import continued, trace_carrier, traced, traced_transport

Outcome = Literal["delivered", "client_error", "server_error", "unreachable"]

_ERROR_LENGTH: Final = 500
"""The longest ``last_error`` stored."""
_MS: Final = timedelta(milliseconds=1)


@dataclass(frozen=True)
class DeliveryOptions:
    """Tuning of a dispatcher; tests use small values."""

    poll_interval: float = 1.0
    """Seconds between polls when idle (:meth:`LeasedDispatcher.notify` wakes it at once)."""
    batch_size: int = 50
    """Entries fetched and sent concurrently per poll and channel."""
    timeout: float = 5.0
    """Timeout of one request to a receiver."""
    backoff_base: float = 1.0
    backoff_cap: float = 60.0
    jitter: float = 0.2
    lease: float = 30.0
    """How long a claimed entry is reserved for its dispatcher (must exceed ``timeout``)."""
    stats_interval: float = 5.0
    """Seconds between refreshes of the channels' gauges (0: after every poll)."""


@dataclass(frozen=True)
class Receiver:
    """Where a receiving service is reached: a base URL and, in process, an ASGI transport."""

    base_url: str
    transport: httpx.AsyncBaseTransport | None = None


@dataclass(frozen=True)
class Lease:
    """A claimed entry: as it was read, the attempts made before this one, and what the
    claim stored (what settling it compares against)."""

    entry: Document
    attempts: int
    claimed: Document = field(default_factory=dict)


@dataclass(frozen=True)
class Request:
    """The HTTP request that delivers an entry to the service ``receiver``."""

    receiver: str
    method: str
    path: str
    content: str | None = None
    """A JSON body, or none."""
    trace: Mapping[str, str] = field(default_factory=dict)
    """The W3C trace headers of the write that queued it (:func:`trace_carrier`)."""


@dataclass
class DispatchReport:
    """What one poll did."""

    due: int = 0
    delivered: int = 0
    failed: int = 0
    lost: int = 0
    """Entries another dispatcher claimed first, or whose lease ran out before settling."""


class Channel(Protocol):
    """One kind of entries: where they wait, how each is sent and counted."""

    async def due(self, limit: int) -> list[Document]:
        """Entries due now, the longest waiting first."""

    async def claim(self, entry: Document, lease: timedelta) -> Lease | None:
        """Lease ``entry`` to this dispatcher for ``lease``; ``None`` if another one has it."""

    async def request(self, lease: Lease) -> Request:
        """The request that delivers a claimed entry (healing local state first if need be)."""

    async def delivered(self, lease: Lease) -> bool:
        """Record an accepted entry (``False`` if the lease was lost meanwhile)."""

    async def failed(self, lease: Lease, retry_at: datetime, error: str) -> bool:
        """Record a failed attempt and when to retry (``False`` if the lease was lost)."""

    def label(self, lease: Lease) -> str:
        """The first label of the attempts counter for this entry (its kind or receiver)."""

    async def refresh_stats(self) -> None:
        """Set the channel's gauges (pending entries, their age)."""


class LeasedDispatcher:
    """Delivers the due entries of ``channels`` until each is accepted (see the module).

    Use as an async context manager around :meth:`run_once`, or run :meth:`run_forever` as a
    task. ``attempts`` counts every attempt by the channel's label and the outcome.
    """

    def __init__(
        self,
        channels: Sequence[Channel],
        receivers: Mapping[str, Receiver],
        principal: Principal,
        tokens: ServiceTokens | None,
        attempts: Counter,
        log: logging.Logger,
        options: DeliveryOptions,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.channels = list(channels)
        self.receivers = dict(receivers)
        self.options = options
        self._principal = principal
        self._tokens = tokens
        self._attempts = attempts
        self._log = log
        self._rand = rand
        self._wake = asyncio.Event()
        self._clients: dict[str, httpx.AsyncClient] | None = None
        self._stats_due = 0.0

    def notify(self) -> None:
        """Wake the dispatcher: a new entry was stored."""
        self._wake.set()

    async def __aenter__(self) -> Self:
        if self._clients is not None:
            raise RuntimeError("the dispatcher is running already")
        self._clients = {
            name: httpx.AsyncClient(
                base_url=r.base_url,
                transport=traced_transport(r.transport),
                timeout=self.options.timeout,
            )
            for name, r in self.receivers.items()
        }
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        clients, self._clients = self._clients or {}, None
        for client in clients.values():
            await client.aclose()

    async def run_forever(self) -> None:
        """Poll and deliver until cancelled; database errors are logged and retried."""
        async with self:
            while True:
                self._wake.clear()
                try:
                    report = await self.run_once()
                    await self._refresh_stats()
                except Exception:
                    stop_if_cancelled()
                    self._log.warning("delivery poll failed; retrying", exc_info=True)
                    report = DispatchReport()
                if report.due >= self.options.batch_size:
                    continue
                # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a
                # cancellation that races with its timeout, and stop() would wait forever.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.options.poll_interval):
                        await self._wake.wait()

    async def run_once(self) -> DispatchReport:
        """Deliver the entries due now (at most ``batch_size`` per channel), concurrently."""
        report = DispatchReport()
        for channel in self.channels:
            entries = await channel.due(self.options.batch_size)
            report.due += len(entries)
            results = await asyncio.gather(
                *(self._handle(channel, entry) for entry in entries), return_exceptions=True
            )
            stop_if_cancelled()
            for result in results:
                if isinstance(result, BaseException):
                    self._log.warning("delivery failed to settle", exc_info=result)
                    report.lost += 1
                elif result == "delivered":
                    report.delivered += 1
                elif result == "lost":
                    report.lost += 1
                else:
                    report.failed += 1
        return report

    async def _handle(self, channel: Channel, entry: Document) -> str:
        lease = await channel.claim(entry, timedelta(seconds=self.options.lease))
        if lease is None:
            return "lost"
        outcome, error = await self._send(await channel.request(lease))
        self._attempts.labels(channel.label(lease), outcome).inc()
        if outcome == "delivered":
            return "delivered" if await channel.delivered(lease) else "lost"
        attempts = lease.attempts + 1
        delay = backoff_delay(
            attempts,
            self.options.backoff_base,
            self.options.backoff_cap,
            self.options.jitter,
            self._rand(),
        )
        self._log.info(
            "%s not delivered (attempt %d, %s); retry in %.2f s",
            entry["_id"],
            attempts,
            error,
            delay,
        )
        settled = await channel.failed(lease, now() + timedelta(seconds=delay), error)
        return "failed" if settled else "lost"

    async def _send(self, request: Request) -> tuple[Outcome, str]:
        if self._clients is None:
            raise RuntimeError("use the dispatcher as an async context manager")
        client = self._clients.get(request.receiver)
        if client is None:
            return "client_error", f"unknown receiver {request.receiver!r}"
        headers = {} if request.content is None else {"content-type": "application/json"}
        if self._tokens is not None:  # never an anonymous call
            token = self._tokens.sign(self._principal, request.receiver)
            headers["authorization"] = f"Bearer {token}"
        try:
            with (
                continued(request.trace),
                traced(f"deliver to {request.receiver}", {"integra.receiver": request.receiver}),
            ):
                response = await client.request(
                    request.method, request.path, content=request.content, headers=headers
                )
        except Exception as exc:  # a dead, slow or failing receiver: retried, never fatal
            stop_if_cancelled()
            return "unreachable", f"{type(exc).__name__}: {exc}"
        if response.is_success:
            return "delivered", ""
        outcome: Outcome = "server_error" if response.status_code >= 500 else "client_error"
        return outcome, f"HTTP {response.status_code}"

    async def _refresh_stats(self) -> None:
        loop_time = asyncio.get_running_loop().time()
        if loop_time < self._stats_due:
            return
        self._stats_due = loop_time + self.options.stats_interval
        for channel in self.channels:
            await channel.refresh_stats()


class LeasedCollection:
    """Entries of one collection leased by their attempt count, times in integer milliseconds
    (nx-27017 stores a bare date written by ``$set`` as a string).

    Each entry holds ``delivered``, ``attempts``, ``due_ms`` (when it is due), ``lease_ms``
    (until when its dispatcher holds it) and ``last_error``; a claim increments ``attempts``,
    so it is also the token that settles the attempt once.
    """

    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self.collection = collection

    @staticmethod
    def pending() -> Document:
        """The delivery fields of a new entry, due at once."""
        fields: Document = {
            "delivered": False,
            "attempts": 0,
            "due_ms": 0,
            "lease_ms": 0,
            "last_error": None,
        }
        carrier = trace_carrier()  # continued by the delivery (nothing while tracing is off)
        return {**fields, "trace": carrier} if carrier else fields

    async def prepare(self) -> None:
        """The index of the dispatcher's poll."""
        await self.collection.create_index(
            [("delivered", ASCENDING), ("due_ms", ASCENDING)], name="due"
        )

    async def due(self, limit: int) -> list[Document]:
        """Pending entries due now and not leased, oldest first."""
        at_ms = now_ms()
        query = {"delivered": False, "due_ms": {"$lte": at_ms}, "lease_ms": {"$lte": at_ms}}
        cursor = self.collection.find(query).sort("due_ms", ASCENDING).limit(limit)
        return await cursor.to_list()

    async def claim(self, entry: Document, lease: timedelta) -> Lease | None:
        """Lease ``entry`` until now + ``lease``; ``None`` if another dispatcher has it."""
        claimed = {"attempts": entry["attempts"] + 1, "lease_ms": now_ms() + lease // _MS}
        result = await self.collection.update_one(
            {"_id": entry["_id"], "delivered": False, "attempts": entry["attempts"]},
            {"$set": claimed},
        )
        return Lease(entry, entry["attempts"], claimed) if result.modified_count == 1 else None

    async def delivered(self, lease: Lease) -> bool:
        """Record an accepted entry (``False`` if another dispatcher claimed it since)."""
        return await self._settle(lease, {"delivered": True, "due_ms": now_ms()})

    async def failed(self, lease: Lease, retry_at: datetime, error: str) -> bool:
        """Record a failed attempt, due again at ``retry_at`` (``False`` if the lease was lost)."""
        outcome = {"due_ms": epoch_ms(retry_at), "last_error": error[:_ERROR_LENGTH]}
        return await self._settle(lease, outcome)

    async def _settle(self, lease: Lease, outcome: Document) -> bool:
        cleared = {"delivered": False, "lease_ms": 0, "last_error": None, **outcome}
        result = await self.collection.update_one(
            {"_id": lease.entry["_id"], "delivered": False, "attempts": lease.claimed["attempts"]},
            {"$set": cleared},
        )
        return result.modified_count == 1
