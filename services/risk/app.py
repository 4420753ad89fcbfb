"""The risk service as a component and as a standalone ASGI app."""

from __future__ import annotations

import httpx
from pymongo.asynchronous.database import AsyncDatabase
from starlette.applications import Starlette
from starlette.routing import BaseRoute

from services.risk import service as use_cases
from services.risk.kpi_codes import KpiCodes
from services.risk.routes import risk_routes
from services.risk.store import RiskStore
from services.runtime.app import MongoComponent, build_app
from services.runtime.records import Document
from services.runtime.service_calls import ServiceEndpoint
from services.runtime.service_tokens import service_principal
from services.runtime.settings import IntegraSettings
from services.runtime.tracing import configure_tracing


class RiskService(MongoComponent):
    """Risk register, lifecycle, views, monitoring rules, escalations, roadmap (domain.md §3)."""

    name = "risk"

    def __init__(self, settings: IntegraSettings) -> None:
        super().__init__(settings)
        self._service: use_cases.RiskService | None = None
        self.kpi = ServiceEndpoint(
            str(settings.kpi_url), service_principal("risk"), "kpi", self.service_tokens
        )
        self.kpi_codes = KpiCodes(self.kpi)
        """Checks a monitoring rule's KPI code; custom codes are asked of the kpi service."""

    def ask_kpi_codes_of(self, base_url: str, transport: httpx.AsyncBaseTransport) -> None:
        """Reach the kpi service in process (the one-process stack builds it after this
        service's app)."""
        self.kpi.base_url, self.kpi.transport = base_url, transport

    @property
    def service(self) -> use_cases.RiskService:
        """The use cases over the service's database (only between start and stop)."""
        if self._service is None:
            raise RuntimeError("risk is not started")
        return self._service

    @property
    def store(self) -> RiskStore:
        """The service's store (only between start and stop)."""
        return self.service.store

    def on_connect(self, db: AsyncDatabase[Document]) -> None:
        """Build the store and the use cases over the service's database."""
        self._service = use_cases.RiskService(RiskStore(db, self.feed), self.kpi_codes)

    async def prepare(self) -> None:
        """Indexes and the built-in monitoring rules."""
        await self.store.prepare()

    def routes(self) -> list[BaseRoute]:
        """The risk HTTP API."""
        return risk_routes(lambda: self.service)


def create_app(settings: IntegraSettings | None = None) -> Starlette:
    """A standalone risk app (``integra serve risk``)."""
    configure_tracing("integra-risk")  # before any client or schema is made
    settings = settings or IntegraSettings()
    return build_app(RiskService(settings), settings)
