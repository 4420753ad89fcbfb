"""What every resolver of one GraphQL request shares: the service clients and loaders."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Protocol

from starlette.websockets import WebSocket
from strawberry.types import Info as StrawberryInfo

from gateway.change_client import ChangeClient, HttpChangeClient, InProcessChangeClient
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
from services.runtime.auth import Principal
from services.runtime.change_feed import ChangeFeed
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
    changes: dict[str, ChangeClient]
    """Each service's change feed (subscriptions follow them)."""
    call_timeout: float
    """How long one call may take (a long poll of a feed waits less)."""

    @classmethod
    def of(
        cls,
        call_timeout: float,
        transports: dict[str, ServiceClient],
        local: LocalServices | None = None,
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
        changes = {
            "scoring": _change_client("scoring", local.scoring, transports),
            "risk": _change_client("risk", local.risk, transports),
            "kpi": _change_client("kpi", local.kpi, transports),
        }
        return cls(scoring, risk, kpi, transports, changes, call_timeout)

    def all(self) -> dict[str, ServiceClient]:
        """Every transport by service name (readiness, closing)."""
        return self.transports


class _Stored(Protocol):
    @property
    def feed(self) -> ChangeFeed: ...


class _UseCases(Protocol):
    @property
    def store(self) -> _Stored: ...


def _change_client(
    name: str, local: Callable[[], _UseCases] | None, transports: dict[str, ServiceClient]
) -> ChangeClient:
    """The feed of a service: in process when its use cases run here, else over HTTP."""
    if local is None:
        return HttpChangeClient(transports[name])
    return InProcessChangeClient(name, lambda: local().store.feed)


@dataclass
class GatewayContext:
    """Per-request context: clients (shared) and loaders (new for each request, made on
    first use)."""

    clients: ServiceClients
    socket: WebSocket | None = None
    """The subscription connection this context serves (``None`` for HTTP)."""
    streaming: bool = False
    """Whether the HTTP request asked for a stream of events (SSE)."""
    connection_params: dict[str, object] | None = None
    """What the connection's ``connection_init`` sent (Strawberry sets it)."""
    caller: Principal | None = None
    """Who holds the subscription connection, once accepted."""
    recheck: asyncio.Task[None] | None = None
    """The task that checks the connection's credential again."""

    def forget_loaded(self) -> None:
        """Drop this context's loaders and what they hold: a subscription's context lives as
        long as its connection, and each event must read the services afresh."""
        for name in ("scoring", "risk", "kpi"):
            self.__dict__.pop(name, None)

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
