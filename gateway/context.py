"""What every resolver of one GraphQL request shares: the service clients and loaders."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from strawberry.types import Info as StrawberryInfo

from gateway.clients import ServiceClient
from gateway.kpi_client import HttpKpiClient, KpiClient
from gateway.loaders import KpiLoaders, RiskLoaders, ScoringLoaders
from gateway.risk_client import HttpRiskClient, RiskClient
from gateway.scoring_client import HttpScoringClient, ScoringClient


@dataclass(frozen=True)
class ServiceClients:
    """One typed client per service the gateway reaches, and the transports under them."""

    scoring: ScoringClient
    risk: RiskClient
    kpi: KpiClient
    transports: dict[str, ServiceClient]

    @classmethod
    def over_http(cls, transports: dict[str, ServiceClient]) -> ServiceClients:
        """The clients over the HTTP transports of ``scoring``, ``risk`` and ``kpi``."""
        return cls(
            scoring=HttpScoringClient(transports["scoring"]),
            risk=HttpRiskClient(transports["risk"]),
            kpi=HttpKpiClient(transports["kpi"]),
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
