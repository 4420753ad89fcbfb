"""Fixtures of the service-layer tests: each service's component started over a fresh
database, as ``integra up`` builds it, answering its use cases."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TypeVar

import pytest

from services.kpi.app import KpiOptions
from services.kpi.app import KpiService as KpiComponent
from services.kpi.service import KpiUseCases
from services.risk.app import RiskService as RiskComponent
from services.risk.service import RiskService
from services.runtime.app import MongoComponent
from services.runtime.embedded import free_port
from services.runtime.metrics import REGISTRY
from services.runtime.settings import IntegraSettings
from services.scoring.app import ScoringService as ScoringComponent
from services.scoring.service import ScoringService

C = TypeVar("C", bound=MongoComponent)


def gateway_calls(service: str, route: str, outcome: str) -> float:
    """How many calls the gateway has counted to ``service`` under ``route`` and ``outcome``."""
    labels = {"service": service, "route": route, "outcome": outcome}
    return REGISTRY.get_sample_value("gateway_service_calls_total", labels) or 0.0


@asynccontextmanager
async def started(component: C) -> AsyncIterator[C]:
    """``component`` started and prepared (indexes, built-in records), stopped after."""
    await component.start()
    assert component.prepared.is_set()
    try:
        yield component
    finally:
        await component.stop()


@pytest.fixture
async def risk_service(settings: IntegraSettings) -> AsyncIterator[RiskService]:
    """The risk use cases over a fresh database."""
    async with started(RiskComponent(settings)) as component:
        yield component.service


@pytest.fixture
async def scoring_service(settings: IntegraSettings) -> AsyncIterator[ScoringService]:
    """The scoring use cases over a fresh database."""
    async with started(ScoringComponent(settings)) as component:
        yield component.service


@pytest.fixture
async def kpi_service(settings: IntegraSettings) -> AsyncIterator[KpiUseCases]:
    """The kpi use cases over a fresh database, without the platform recorder; its events go
    to a port nobody listens on."""
    component = KpiComponent(
        settings,
        risk_base_url=f"http://127.0.0.1:{free_port()}",
        options=KpiOptions(record_platform=False),
    )
    async with started(component):
        yield component.service
