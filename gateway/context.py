"""What every resolver of one GraphQL request shares: the service clients and loaders."""

from __future__ import annotations

from dataclasses import dataclass, field

from strawberry.types import Info as StrawberryInfo

from gateway.clients import ServiceClient
from gateway.loaders import KpiLoaders, RiskLoaders, ScoringLoaders


@dataclass(frozen=True)
class ServiceClients:
    """One client per service the gateway reaches."""

    scoring: ServiceClient
    risk: ServiceClient
    kpi: ServiceClient

    def all(self) -> dict[str, ServiceClient]:
        """Every client by service name."""
        return {"scoring": self.scoring, "risk": self.risk, "kpi": self.kpi}


@dataclass
class GatewayContext:
    """Per-request context: clients (shared) and loaders (new for each request)."""

    clients: ServiceClients
    scoring: ScoringLoaders = field(init=False)
    risk: RiskLoaders = field(init=False)
    kpi: KpiLoaders = field(init=False)

    def __post_init__(self) -> None:
        self.scoring = ScoringLoaders(self.clients.scoring)
        self.risk = RiskLoaders(self.clients.risk)
        self.kpi = KpiLoaders(self.clients.kpi)


Info = StrawberryInfo[GatewayContext, None]
