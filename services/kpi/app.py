"""The kpi service as a component and as a standalone ASGI app.

Besides its HTTP API the component runs three background tasks between start and stop: the
outbox dispatcher (events to the risk service), the no-data monitor and the platform KPI
recorder. Its own settings (``INTEGRA_KPI_*``) are read by :class:`KpiSettings`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

import httpx
from pydantic import Field, HttpUrl, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from pymongo.asynchronous.database import AsyncDatabase
from starlette.applications import Starlette
from starlette.routing import BaseRoute

from services.kpi.outbox import DispatcherOptions, NoDataMonitor, OutboxDispatcher
from services.kpi.platform import (
    MetricsReader,
    PrometheusReader,
    RegistryReader,
    ScrapeReader,
)
from services.kpi.platform_recorder import PlatformRecorder
from services.kpi.routes import kpi_routes
from services.kpi.service import KpiUseCases
from services.kpi.shops import ShopDirectory
from services.kpi.store import KpiStore
from services.runtime.app import MongoComponent, build_app, cancel_until_done
from services.runtime.records import Document
from services.runtime.service_calls import ServiceEndpoint
from services.runtime.service_tokens import service_principal
from services.runtime.settings import IntegraSettings
from services.runtime.tracing import configure_tracing

log = logging.getLogger("integra.kpi")


class KpiSettings(BaseSettings):
    """Settings of the kpi service's background work (environment ``INTEGRA_KPI_*``)."""

    model_config = SettingsConfigDict(env_prefix="INTEGRA_KPI_", extra="ignore", frozen=True)

    outbox_poll_seconds: float = Field(
        default=1.0, gt=0, description="Idle poll interval of the outbox dispatcher."
    )
    outbox_timeout_seconds: float = Field(
        default=5.0, gt=0, le=60, description="Timeout of one event POST to the risk service."
    )
    outbox_backoff_cap_seconds: float = Field(
        default=60.0, gt=0, description="Longest wait between two attempts of an event."
    )
    no_data_check_seconds: float = Field(
        default=3600.0, gt=0, description="Interval of the no-data (30 days) check."
    )
    platform_recorder: bool = Field(
        default=True, description="Record the platform's own KPIs (§4.6)."
    )
    platform_interval_seconds: float = Field(
        default=60.0, gt=0, description="Interval and period of the platform KPI recordings."
    )
    platform_window_seconds: float = Field(
        default=300.0,
        gt=0,
        description="Window the platform's status and escalations judge (a multiple of the "
        "interval).",
    )
    platform_metrics_urls: str = Field(
        default="",
        description="Comma-separated /metrics URLs of every process (multi-process "
        "deployment); empty: this process's own metrics registry.",
    )
    platform_prometheus_url: HttpUrl | None = Field(
        default=None,
        description="Prometheus that scrapes every process (replicas that come and go); "
        "the platform KPIs are read from it. Excludes platform_metrics_urls.",
    )

    @model_validator(mode="after")
    def _one_platform_source(self) -> KpiSettings:
        if self.platform_prometheus_url is not None and self.platform_metrics_urls.strip():
            raise ValueError(
                "set INTEGRA_KPI_PLATFORM_PROMETHEUS_URL or INTEGRA_KPI_PLATFORM_METRICS_URLS, "
                "not both"
            )
        return self


@dataclass(frozen=True)
class KpiOptions:
    """How the kpi service's background work runs (tests pass small intervals)."""

    dispatcher: DispatcherOptions = field(default_factory=DispatcherOptions)
    no_data_interval: float = 3600.0
    record_platform: bool = True
    platform_reader: MetricsReader | None = None
    """Where platform metrics are read; ``None``: this process's registry."""
    platform_interval: float = 60.0
    platform_window: float = 300.0

    @classmethod
    def from_settings(cls, settings: KpiSettings) -> KpiOptions:
        """Options from the ``INTEGRA_KPI_*`` settings."""
        urls = [u.strip() for u in settings.platform_metrics_urls.split(",") if u.strip()]
        reader: MetricsReader | None = ScrapeReader(urls) if urls else None
        if settings.platform_prometheus_url is not None:
            reader = PrometheusReader(str(settings.platform_prometheus_url))
        return cls(
            dispatcher=DispatcherOptions(
                poll_interval=settings.outbox_poll_seconds,
                timeout=settings.outbox_timeout_seconds,
                backoff_cap=settings.outbox_backoff_cap_seconds,
            ),
            no_data_interval=settings.no_data_check_seconds,
            record_platform=settings.platform_recorder,
            platform_reader=reader,
            platform_interval=settings.platform_interval_seconds,
            platform_window=settings.platform_window_seconds,
        )


class KpiService(MongoComponent):
    """KPI catalogue, measurements, series, targets, profit model, platform KPIs (§4).

    ``risk_transport`` and ``risk_base_url`` say how the outbox reaches the risk service: an
    in-process ASGI transport in the one-process stack, the network (``settings.risk_url``)
    otherwise; ``scoring_transport`` and ``scoring_base_url`` likewise how the no-data monitor
    reads the shops that were never measured (``settings.scoring_url``).
    """

    name = "kpi"

    def __init__(
        self,
        settings: IntegraSettings,
        *,
        risk_transport: httpx.AsyncBaseTransport | None = None,
        risk_base_url: str | None = None,
        options: KpiOptions | None = None,
        scoring_transport: httpx.AsyncBaseTransport | None = None,
        scoring_base_url: str | None = None,
    ) -> None:
        super().__init__(settings)
        self.options = options or KpiOptions.from_settings(KpiSettings())
        self._service: KpiUseCases | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self.dispatcher = OutboxDispatcher(
            lambda: self.store,
            risk_base_url or str(settings.risk_url),
            risk_transport,
            self.options.dispatcher,
            tokens=self.service_tokens,
        )
        shops = ShopDirectory(
            ServiceEndpoint(
                scoring_base_url or str(settings.scoring_url),
                service_principal("kpi"),
                "scoring",
                self.service_tokens,
                scoring_transport,
                self.options.dispatcher.timeout,
            )
        )
        self.no_data = NoDataMonitor(
            lambda: self.store, self.dispatcher.notify, self.options.no_data_interval, shops=shops
        )
        self.recorder = PlatformRecorder(
            lambda: self.store,
            self.options.platform_reader or RegistryReader(),
            settings.sla_seconds,
            self.options.platform_interval,
            self.options.platform_window,
            self.dispatcher.notify,
        )

    @property
    def service(self) -> KpiUseCases:
        """The use cases over the service's database (only between start and stop)."""
        if self._service is None:
            raise RuntimeError("kpi is not started")
        return self._service

    @property
    def store(self) -> KpiStore:
        """The service's store (only between start and stop): the use cases' and the
        background work's."""
        return self.service.store

    def on_connect(self, db: AsyncDatabase[Document]) -> None:
        """Build the store and the use cases over the service's database (a recorded
        measurement wakes the outbox dispatcher)."""
        self._service = KpiUseCases(KpiStore(db, self.feed), self.dispatcher.notify)

    async def prepare(self) -> None:
        """Indexes."""
        await self.store.prepare()

    async def start(self) -> None:
        """Connect, prepare, then run the dispatcher, the no-data monitor and the recorder."""
        await super().start()
        work: list[Coroutine[Any, Any, None]] = [
            self.dispatcher.run_forever(),
            self.no_data.run_forever(),
        ]
        if self.options.record_platform:
            work.append(self.recorder.run_forever())
        self._tasks = [asyncio.create_task(w) for w in work]

    async def stop(self) -> None:
        """Cancel the background tasks, then close the database client."""
        tasks, self._tasks = self._tasks, []
        await cancel_until_done(*tasks)
        for task in tasks:
            if not task.cancelled() and task.exception() is not None:
                log.warning("kpi background task failed", exc_info=task.exception())
        await super().stop()

    def routes(self) -> list[BaseRoute]:
        """The kpi HTTP API."""
        return kpi_routes(lambda: self.service)


def create_app(settings: IntegraSettings | None = None) -> Starlette:
    """A standalone kpi app (``integra serve kpi``)."""
    configure_tracing("integra-kpi")  # before any client or schema is made
    settings = settings or IntegraSettings()
    return build_app(KpiService(settings), settings)
