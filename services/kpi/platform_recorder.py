"""The recorder of the platform's own KPIs: every ``interval`` it records the last period and
its window (the decisions are in :mod:`services.kpi.platform`)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Final

from prometheus_client import Counter

from services.kpi import domain, measuring, recording
from services.kpi.platform import (
    HistogramSnapshot,
    MetricsReader,
    platform_window,
    sla_bound,
    window_summary,
)
from services.kpi.store import KpiStore
from services.runtime.app import stop_if_cancelled
from services.runtime.caller import Actor
from services.runtime.errors import Conflict
from services.runtime.metrics import LATENCY_BUCKETS, REGISTRY
from services.runtime.records import Document, epoch_ms, from_epoch_ms, now
from services.runtime.service_tokens import service_principal
from services.runtime.wire import PLATFORM_SCOPE

log = logging.getLogger("integra.kpi.platform")
PLATFORM_ACTOR = Actor.of(service_principal("kpi"))
"""Who records the platform's own measurements."""

PLATFORM_KPIS: Final = ("system_response_time", "sla_compliance", "process_errors")

RECORDINGS: Final = Counter(
    "kpi_platform_recordings",
    "Platform KPI recordings, by KPI and outcome (recorded, duplicate, no_traffic, failed).",
    ["kpi_code", "outcome"],
    registry=REGISTRY,
)


class PlatformRecorder:
    """Records the platform's KPIs every ``interval`` seconds for the last ``interval``, each
    with its value over the last ``window``."""

    def __init__(
        self,
        store: Callable[[], KpiStore],
        reader: MetricsReader,
        sla_seconds: float,
        interval: float = 60.0,
        window: float = 300.0,
        on_recorded: Callable[[], None] = lambda: None,
    ) -> None:
        self._interval_ms = round(interval * 1000)
        self._window_ms = round(window * 1000)
        if self._interval_ms <= 0 or self._window_ms <= 0:
            raise ValueError("the platform KPI interval and window must be positive")
        if self._window_ms % self._interval_ms:
            raise ValueError("the platform KPI window must be a multiple of its interval")
        sla_bound(LATENCY_BUCKETS, sla_seconds)  # fails fast on a threshold below every bucket
        self._store = store
        self.reader = reader
        self.sla_seconds = sla_seconds
        self._on_recorded = on_recorded
        self._snapshots: dict[int, HistogramSnapshot] = {}
        self._periods = self._window_ms // self._interval_ms
        """How many periods one window holds."""

    async def tick(self, at: datetime) -> list[Document]:
        """Take the snapshot of grid time ``at`` and record ``[at - interval, at)`` if possible.

        Answers the measurements recorded now.
        """
        snapshot = await self.reader.read()
        at_ms = epoch_ms(at)
        start_ms = at_ms - self._interval_ms
        self._snapshots[at_ms] = snapshot
        for old in [t for t in self._snapshots if t < start_ms]:
            del self._snapshots[old]
        base = self._snapshots.get(start_ms)
        if base is None:
            return []
        period = platform_window(base, snapshot, self.sla_seconds)
        if period is None:
            for code in PLATFORM_KPIS:
                RECORDINGS.labels(code, "no_traffic").inc()
            return []
        recorded: list[Document] = []
        for code, inputs in period.inputs().items():
            doc = await self._record(code, inputs, start_ms, at_ms)
            if doc is not None:
                recorded.append(doc)
        if recorded:
            self._on_recorded()
        return recorded

    async def _record(
        self, code: str, inputs: Mapping[str, measuring.InputValue], start_ms: int, at_ms: int
    ) -> Document | None:
        """Record one KPI's period with its window; ``None`` on a duplicate or a failure."""
        definition = domain.CATALOGUE[code]
        try:
            store = self._store()
            window_start = from_epoch_ms(at_ms - self._window_ms)
            earlier = await store.series_measurements(
                PLATFORM_SCOPE, code, window_start, from_epoch_ms(start_ms), self._periods
            )
            window = window_summary(
                definition, [d["current"]["inputs"] for d in earlier] + [dict(inputs)]
            )
            period = (from_epoch_ms(start_ms), from_epoch_ms(at_ms))
            measurement = recording.check_measurement(
                definition, PLATFORM_SCOPE, period, inputs, domain.MeasurementSource.SYSTEM
            )
            doc = await store.record(
                measurement, actor=PLATFORM_ACTOR, window={"period_start": window_start, **window}
            )
        except Conflict:
            RECORDINGS.labels(code, "duplicate").inc()
            return None
        except Exception:
            stop_if_cancelled()
            RECORDINGS.labels(code, "failed").inc()
            log.warning("cannot record platform KPI %s", code, exc_info=True)
            return None
        RECORDINGS.labels(code, "recorded").inc()
        return doc

    async def run_forever(self) -> None:
        """Tick on the grid until cancelled."""
        next_ms: int | None = None
        while True:
            current = now()
            next_ms = self.next_tick(next_ms, epoch_ms(current))
            at = from_epoch_ms(next_ms)
            await asyncio.sleep(max((at - current) / timedelta(seconds=1), 0.0))
            try:
                await self.tick(at)
            except Exception:
                stop_if_cancelled()
                log.warning("platform KPI tick failed", exc_info=True)

    def next_tick(self, previous_ms: int | None, now_ms: int) -> int:
        """The grid time of the next tick (:meth:`next_grid_time`). When the recorder starts
        again after a stall, the newest snapshot stands for the grid time before it, so the
        period that ends there counts every request since that snapshot: a recorder whose
        ticks stay slower than its interval still records, and no request goes uncounted (the
        platform KPIs are ratios over the requests a period counts)."""
        next_ms = self.next_grid_time(previous_ms, now_ms)
        resumed = previous_ms is not None and next_ms != previous_ms + self._interval_ms
        if resumed and self._snapshots:
            newest = self._snapshots[max(self._snapshots)]
            self._snapshots = {next_ms - self._interval_ms: newest}
        return next_ms

    def next_grid_time(self, previous_ms: int | None, now_ms: int) -> int:
        """The grid time of the next tick: the one after ``previous_ms``, even when it has passed.

        A tick that came late (a busy host) must not skip a grid time, or the period after it
        finds no snapshot to start from and its requests are never counted; the snapshot taken
        late stands for its grid time. After a stall longer than one window the recorder starts
        again on the coming grid time instead of catching up period by period.
        """
        coming = (now_ms // self._interval_ms + 1) * self._interval_ms
        if previous_ms is None or coming - previous_ms > self._window_ms + self._interval_ms:
            return coming
        return previous_ms + self._interval_ms
