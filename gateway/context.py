"""What every resolver of one GraphQL request shares: the service clients and loaders."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

from strawberry.types import Info as StrawberryInfo

from gateway.clients import ServiceClient
from gateway.kpi_client import HttpKpiClient, KpiClient
from gateway.kpi_in_process import InProcessKpiClient
from gateway.loaders import KpiLoaders, RiskLoaders, ScoringLoaders
from gateway.risk_client import HttpRiskClient, RiskClient
from gateway.risk_in_process import InProcessRiskClient
from gateway.scoring_client import HttpScoringClient, ScoringClient
from gateway.scoring_in_process import InProcessScoringClient
from services.kpi.service import KpiUseCases
from services.risk.service import RiskService
from services.scoring.service import ScoringService


@dataclass(frozen=True)
class LocalServices:
    """The use cases of the services that run in the gateway's own process (``integra up``):
    their typed clients call them directly instead of over HTTP."""

    scoring: Callable[[], ScoringService] | None = None
    risk: Callable[[], RiskService] | None = None
    kpi: Callable[[], KpiUseCases] | None = None


@dataclass(frozen=True)
class ServiceClients:
    """One typed client per service the gateway reaches, and the transports under them."""

    scoring: ScoringClient
    risk: RiskClient
    kpi: KpiClient
    transports: dict[str, ServiceClient]

    @classmethod
    def of(
        cls, transports: dict[str, ServiceClient], local: LocalServices | None = None
    ) -> ServiceClients:
        """The clients of ``scoring``, ``risk`` and ``kpi``: in process for the ``local``
        services, else over their HTTP transports (which also serve readiness)."""
        local = local or LocalServices()
        scoring: ScoringClient = (
            InProcessScoringClient(local.scoring)
            if local.scoring
            else HttpScoringClient(transports["scoring"])
        )
        risk: RiskClient = (
            InProcessRiskClient(local.risk) if local.risk else HttpRiskClient(transports["risk"])
        )
        kpi: KpiClient = (
            InProcessKpiClient(local.kpi) if local.kpi else HttpKpiClient(transports["kpi"])
        )
        return cls(
            scoring=scoring,
            risk=risk,
            kpi=kpi,
            transports=transports,
        )

    def all(self) -> dict[str, ServiceClient]:
        """Every transport by service name (readiness, closing)."""
        return self.transports


@dataclass
class GatewayContext:
    """Per-request context: clients (shared) and loaders (new for each request, made on
    first use)."""

    clients: ServiceClients

    @cached_property
    def scoring(self) -> ScoringLoaders:
        """This request's scoring loaders."""
        return ScoringLoaders(self.clients.scoring)

    @cached_property
    def risk(self) -> RiskLoaders:
        """This request's risk loaders."""
        return RiskLoaders(self.clients.risk)

    @cached_property
    def kpi(self) -> KpiLoaders:
        """This request's kpi loaders."""
        return KpiLoaders(self.clients.kpi)


Info = StrawberryInfo[GatewayContext, None]
