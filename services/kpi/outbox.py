"""Events to the risk service: the outbox dispatcher and the no-data rule (domain.md §3.5).

Every measurement write stores the pending event of its revision in the measurement document
itself (see :mod:`services.kpi.store`), so an acknowledged measurement always has its event.
:class:`OutboxDispatcher` (a :class:`~services.runtime.delivery.LeasedDispatcher`) polls due
events, leases each one (a compare-and-set, so several replicas can run dispatchers side by
side), POSTs it to the risk service and marks it delivered on a 2xx answer; on any other
answer, a timeout or a refused connection it schedules a retry with capped exponential backoff
and jitter. It never gives up: an event stays pending until the risk service accepts it, and
the metrics show how many wait and for how long.

Delivery is *at least once*: an answer lost after the risk service applied the event, or a
lease that ran out, sends the same event again with the same ``eventId``; the risk service
applies each ``eventId`` once.

The kpi service does not know the monitoring rules (they are editable in the risk service), so
every new revision is sent and the risk service decides whether it breaches a rule.

:class:`NoDataMonitor` applies the rule on the absence of data: a scope whose latest measured
period ended more than 30 days ago gets one ``no-data:<scope>:<end of that period>`` event per
silence (an ``outbox_events`` document keyed by that id, so repeated checks, days and replicas
enqueue it once; data that arrives and stops again starts a new silence, hence a new event).
A shop that never had a measurement is known to the kpi service only through the scoring
service (:mod:`services.kpi.shops`): 30 days after its creation it gets one
``no-data:<shop>:created-<creation time>`` event.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Final

import httpx
from prometheus_client import Counter, Gauge

from services.kpi import models
from services.kpi.outbox_store import EventSource
from services.kpi.shops import KnownShop, ShopDirectory, never_measured
from services.kpi.store import KpiStore
from services.runtime.app import stop_if_cancelled
from services.runtime.delivery import (
    DeliveryOptions,
    Lease,
    LeasedDispatcher,
    Receiver,
    Request,
)
from services.runtime.metrics import REGISTRY
from services.runtime.records import Document, from_epoch_ms, now
from services.runtime.service_tokens import ServiceTokens, service_principal

log = logging.getLogger("integra.kpi.outbox")

BREACH_PATH: Final = "/escalations"
NO_DATA_PATH: Final = "/escalations/no-data"

DELIVERY_ATTEMPTS: Final = Counter(
    "kpi_outbox_delivery_attempts",
    "Attempts to deliver outbox events to the risk service, by event kind and outcome "
    "(delivered, client_error, server_error, unreachable).",
    ["kind", "outcome"],
    registry=REGISTRY,
)
PENDING_EVENTS: Final = Gauge(
    "kpi_outbox_pending_events",
    "Outbox events not yet delivered to the risk service, by event kind.",
    ["kind"],
    registry=REGISTRY,
)
OLDEST_PENDING_AGE: Final = Gauge(
    "kpi_outbox_oldest_pending_age_seconds",
    "Age of the oldest undelivered outbox event (0 when none), by event kind.",
    ["kind"],
    registry=REGISTRY,
)
NO_DATA_EVENTS: Final = Counter(
    "kpi_no_data_events",
    "No-data escalation events enqueued (a scope without a measurement for 30 days).",
    registry=REGISTRY,
)


DispatcherOptions = DeliveryOptions
"""Tuning of the dispatcher (its defaults: an idle poll every second, gauges every 5 s)."""


def queued_trace(doc: Document) -> dict[str, str]:
    """The trace of the write that queued an event (empty: none was recorded)."""
    trace: dict[str, str] = (doc.get("outbox") or {}).get("trace") or {}
    return trace


def breach_event(doc: Document, outbox: Document) -> models.BreachEvent:
    """The event of a measurement's current revision: its value, or for the platform its
    value over the last window (what its status judges, see :mod:`services.kpi.platform`).
    Its revisions share the measurement id, so the risk service escalates each breach of the
    measurement once."""
    window = doc["current"].get("window")
    return models.BreachEvent(
        event_id=outbox["event_id"],
        measurement_id=doc["_id"],
        shop_id=doc["shop_id"],
        kpi_code=doc["kpi_code"],
        value=doc["current"]["value"] if window is None else window["value"],
        measured_at=doc["period_end"],
    )


KPI_PRINCIPAL = service_principal("kpi")
"""Who the kpi service's background work acts as towards the risk service."""


def silence_event(
    scope: str,
    last_measurement_at: datetime | None,
    shop_created_at: datetime | None,
    as_of: datetime | None = None,
) -> models.NoDataEvent:
    """The event of a scope's silence: its id names where the silence began (the end of the
    last measured period, or the shop's creation), so each silence is reported once."""
    if last_measurement_at is not None:
        since = last_measurement_at.isoformat().replace("+00:00", "Z")
    else:
        assert shop_created_at is not None
        since = "created-" + shop_created_at.isoformat().replace("+00:00", "Z")
    return models.NoDataEvent(
        event_id=f"no-data:{scope}:{since}",
        shop_id=scope,
        last_measurement_at=last_measurement_at,
        shop_created_at=shop_created_at,
        as_of=as_of,
    )


class EventChannel:
    """The pending events of one source in the kpi store, sent to the risk service."""

    def __init__(self, store: Callable[[], KpiStore], source: EventSource) -> None:
        self._store = store
        self.source = source

    async def due(self, limit: int) -> list[Document]:
        """Events due now, the longest waiting first."""
        return await self._store().due_events(self.source, now(), limit)

    async def claim(self, entry: Document, lease: timedelta) -> Lease | None:
        """Lease an event (a compare-and-set on its claim token)."""
        claimed = await self._store().claim(self.source, entry, now(), lease)
        return None if claimed is None else Lease(entry, claimed["attempts"], claimed)

    async def request(self, lease: Lease) -> Request:
        """``POST /escalations`` with the breach event, or the no-data event's own request."""
        doc = lease.entry
        if self.source is EventSource.NO_DATA:
            body = json.dumps(doc["payload"], separators=(",", ":"))
            return Request("risk", "POST", doc["path"], body, queued_trace(doc))
        if lease.attempts == 0:
            # Heal the derived views in case the writer died between its two writes.
            await self._store().apply_views(doc)
        body = breach_event(doc, lease.claimed).model_dump_json(by_alias=True)
        return Request("risk", "POST", BREACH_PATH, body, queued_trace(doc))

    async def delivered(self, lease: Lease) -> bool:
        """Mark the event delivered."""
        store = self._store()
        return await store.mark_delivered(self.source, lease.entry["_id"], lease.claimed, now())

    async def failed(self, lease: Lease, retry_at: datetime, error: str) -> bool:
        """Record the failed attempt."""
        store = self._store()
        doc_id = lease.entry["_id"]
        return await store.mark_failed(self.source, doc_id, lease.claimed, retry_at, error)

    def label(self, lease: Lease) -> str:
        """The event kind (``breach``, ``no_data``)."""
        return self.source.value

    async def refresh_stats(self) -> None:
        """The pending events of the source and the age of the oldest one."""
        count, oldest = await self._store().pending_stats(self.source)
        PENDING_EVENTS.labels(self.source.value).set(count)
        age = 0.0 if oldest is None else max((now() - oldest).total_seconds(), 0.0)
        OLDEST_PENDING_AGE.labels(self.source.value).set(age)


class OutboxDispatcher(LeasedDispatcher):
    """Delivers pending events to ``POST {base_url}/escalations[/no-data]``, signed as
    ``service:kpi``.

    ``transport`` is an in-process ASGI transport in the one-process stack and ``None`` (the
    network) in deployment.
    """

    def __init__(
        self,
        store: Callable[[], KpiStore],
        base_url: str,
        transport: httpx.AsyncBaseTransport | None = None,
        options: DispatcherOptions | None = None,
        rand: Callable[[], float] = random.random,
        tokens: ServiceTokens | None = None,
    ) -> None:
        super().__init__(
            [EventChannel(store, source) for source in EventSource],
            {"risk": Receiver(base_url, transport)},
            KPI_PRINCIPAL,
            tokens,
            DELIVERY_ATTEMPTS,
            log,
            options or DispatcherOptions(),
            rand,
        )


class NoDataMonitor:
    """Enqueues a no-data event for each scope without a measurement for ``stale_after``, and
    for each shop of ``shops`` created longer ago that was never measured."""

    def __init__(
        self,
        store: Callable[[], KpiStore],
        on_enqueued: Callable[[], None] = lambda: None,
        interval: float = 3600.0,
        stale_after: timedelta = timedelta(days=30),
        shops: ShopDirectory | None = None,
    ) -> None:
        self._store = store
        self._on_enqueued = on_enqueued
        self.interval = interval
        self.stale_after = stale_after
        self.shops = shops

    async def check_once(self, at: datetime | None = None) -> list[str]:
        """Enqueue the event of every silence found now; the ids of the events enqueued now
        (a silence already reported is not enqueued again)."""
        moment = at or now()
        cutoff = moment - self.stale_after
        store = self._store()
        events = [
            silence_event(scope["_id"], from_epoch_ms(scope["last_end_ms"]), None)
            for scope in await store.stale_scopes(cutoff)
        ]
        events += [
            silence_event(shop.id, None, shop.created_at, as_of=moment)
            for shop in await self._never_measured(store, cutoff)
        ]
        enqueued: list[str] = []
        for event in events:
            payload = event.model_dump(mode="json", by_alias=True, exclude_none=True)
            if await store.enqueue_event(event.event_id, NO_DATA_PATH, payload):
                enqueued.append(event.event_id)
        if enqueued:
            NO_DATA_EVENTS.inc(len(enqueued))
            self._on_enqueued()
        return enqueued

    async def _never_measured(self, store: KpiStore, cutoff: datetime) -> list[KnownShop]:
        """Shops created before ``cutoff`` without a measurement; none while scoring is
        unreachable (the next pass reads them again)."""
        if self.shops is None:
            return []
        try:
            return await never_measured(store, await self.shops.created_before(cutoff))
        except Exception as exc:  # scoring down or failing: the next pass reads them again
            stop_if_cancelled()
            log.warning("shops never measured not checked: scoring answered %r", exc)
            return []

    async def run_forever(self) -> None:
        """Check now and then every ``interval`` seconds until cancelled."""
        while True:
            try:
                await self.check_once()
            except Exception:
                stop_if_cancelled()
                log.warning("no-data check failed; retrying next interval", exc_info=True)
            await asyncio.sleep(self.interval)
