"""Events to the risk service: the outbox dispatcher and the no-data rule (domain.md §3.5).

Every measurement write stores the pending event of its revision in the measurement document
itself (see :mod:`services.kpi.store`), so an acknowledged measurement always has its event.
:class:`OutboxDispatcher` polls due events, leases each one (a compare-and-set, so several
replicas can run dispatchers side by side), POSTs it to the risk service and marks it
delivered on a 2xx answer; on any other answer, a timeout or a refused connection it schedules
a retry with capped exponential backoff and jitter. It never gives up: an event stays pending
until the risk service accepts it, and the metrics show how many wait and for how long.

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
import contextlib
import json
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import TracebackType
from typing import Final, Literal

import httpx
from prometheus_client import Counter, Gauge

from services.kpi import models
from services.kpi.shops import KnownShop, ShopDirectory, never_measured
from services.kpi.store import EventSource, KpiStore
from services.runtime.app import stop_if_cancelled
from services.runtime.backoff import backoff_delay
from services.runtime.metrics import REGISTRY
from services.runtime.records import Document, from_epoch_ms, now
from services.runtime.service_tokens import ServiceTokens, service_principal

log = logging.getLogger("integra.kpi.outbox")

BREACH_PATH: Final = "/escalations"
NO_DATA_PATH: Final = "/escalations/no-data"

Outcome = Literal["delivered", "client_error", "server_error", "unreachable"]

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


@dataclass(frozen=True)
class DispatcherOptions:
    """Tuning of the dispatcher; tests use small values."""

    poll_interval: float = 1.0
    """Seconds between polls when idle (a write wakes the dispatcher at once)."""
    batch_size: int = 50
    """Events fetched and sent concurrently per poll and source."""
    timeout: float = 5.0
    """Timeout of one POST to the risk service."""
    backoff_base: float = 1.0
    backoff_cap: float = 60.0
    jitter: float = 0.2
    lease: float = 30.0
    """How long a claimed event is reserved for its dispatcher (must exceed ``timeout``)."""
    stats_interval: float = 5.0
    """Seconds between refreshes of the pending-events gauges."""


@dataclass
class DispatchReport:
    """What one poll did."""

    due: int = 0
    delivered: int = 0
    failed: int = 0
    lost: int = 0
    """Events another dispatcher claimed first, or whose lease ran out before settling."""


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


class OutboxDispatcher:
    """Delivers pending events to ``POST {base_url}/escalations[/no-data]``.

    ``transport`` is an in-process ASGI transport in the one-process stack and ``None`` (the
    network) in deployment. Use as an async context manager around :meth:`run_once`, or run
    :meth:`run_forever` as a task.
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
        self._store = store
        self._tokens = tokens
        self.base_url = base_url
        self._transport = transport
        self.options = options or DispatcherOptions()
        self._rand = rand
        self._wake = asyncio.Event()
        self._client: httpx.AsyncClient | None = None
        self._stats_due = 0.0

    def notify(self) -> None:
        """Wake the dispatcher: a new event was stored."""
        self._wake.set()

    async def __aenter__(self) -> OutboxDispatcher:
        self._client = httpx.AsyncClient(
            base_url=self.base_url, transport=self._transport, timeout=self.options.timeout
        )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        client, self._client = self._client, None
        if client is not None:
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
                    log.warning("outbox poll failed; retrying", exc_info=True)
                    report = DispatchReport()
                if report.due >= self.options.batch_size:
                    continue
                # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a
                # cancellation that races with its timeout, and stop() would wait forever.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.options.poll_interval):
                        await self._wake.wait()

    async def run_once(self) -> DispatchReport:
        """Deliver the events due now (at most ``batch_size`` per source), concurrently."""
        report = DispatchReport()
        for source in EventSource:
            docs = await self._store().due_events(source, now(), self.options.batch_size)
            report.due += len(docs)
            results = await asyncio.gather(
                *(self._handle(source, doc) for doc in docs), return_exceptions=True
            )
            stop_if_cancelled()
            for result in results:
                if isinstance(result, BaseException):
                    log.warning("outbox event failed to settle", exc_info=result)
                    report.lost += 1
                elif result == "delivered":
                    report.delivered += 1
                elif result == "lost":
                    report.lost += 1
                else:
                    report.failed += 1
        return report

    async def _handle(self, source: EventSource, doc: Document) -> str:
        store = self._store()
        claimed = await store.claim(source, doc, now(), timedelta(seconds=self.options.lease))
        if claimed is None:
            return "lost"
        if source is EventSource.BREACH and claimed["attempts"] == 0:
            # Heal the derived views in case the writer died between its two writes.
            await store.apply_views(doc)
        outcome, error = await self._post(source, doc, claimed)
        DELIVERY_ATTEMPTS.labels(source.value, outcome).inc()
        if outcome == "delivered":
            settled = await store.mark_delivered(source, doc["_id"], claimed, now())
            return "delivered" if settled else "lost"
        attempts = claimed["attempts"] + 1
        delay = backoff_delay(
            attempts,
            self.options.backoff_base,
            self.options.backoff_cap,
            self.options.jitter,
            self._rand(),
        )
        log.info(
            "event %s not delivered (attempt %d, %s); retry in %.2f s",
            claimed["event_id"],
            attempts,
            error,
            delay,
        )
        retry_at = now() + timedelta(seconds=delay)
        settled = await store.mark_failed(source, doc["_id"], claimed, retry_at, error)
        return "failed" if settled else "lost"

    async def _post(
        self, source: EventSource, doc: Document, claimed: Document
    ) -> tuple[Outcome, str]:
        if self._client is None:
            raise RuntimeError("use the dispatcher as an async context manager")
        if source is EventSource.BREACH:
            path = BREACH_PATH
            body = breach_event(doc, claimed).model_dump_json(by_alias=True)
        else:
            path, body = doc["path"], json.dumps(doc["payload"], separators=(",", ":"))
        try:
            response = await self._client.post(path, content=body, headers=self._headers())
        except Exception as exc:  # a dead, slow or failing receiver: retried, never fatal
            stop_if_cancelled()
            return "unreachable", f"{type(exc).__name__}: {exc}"
        if response.is_success:
            return "delivered", ""
        outcome: Outcome = "server_error" if response.status_code >= 500 else "client_error"
        return outcome, f"HTTP {response.status_code}"

    def _headers(self) -> dict[str, str]:
        """JSON, signed as ``service:kpi`` for the risk service: never an anonymous call."""
        headers = {"content-type": "application/json"}
        if self._tokens is not None:
            token = self._tokens.sign(KPI_PRINCIPAL, "risk")
            headers["authorization"] = f"Bearer {token}"
        return headers

    async def _refresh_stats(self) -> None:
        loop_time = asyncio.get_running_loop().time()
        if loop_time < self._stats_due:
            return
        self._stats_due = loop_time + self.options.stats_interval
        for source in EventSource:
            count, oldest = await self._store().pending_stats(source)
            PENDING_EVENTS.labels(source.value).set(count)
            age = 0.0 if oldest is None else max((now() - oldest).total_seconds(), 0.0)
            OLDEST_PENDING_AGE.labels(source.value).set(age)


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
