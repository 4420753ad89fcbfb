"""The whole stack in one process: every service and the gateway behind one port.

The gateway calls every service's use cases directly (its in-process typed clients: same
validation, caller and metrics, no HTTP or JSON). The services call each other through the
same HTTP contracts as in deployment, over in-process ASGI transports with the same signed
per-call tokens. Each service's API is also served under its own prefix, where it needs a
credential like everywhere.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import httpx
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.routing import Mount

from gateway.app import Gateway
from gateway.context import LocalServices
from services.kpi.app import KpiService
from services.risk.app import RiskService
from services.runtime.app import Component, build_app, http_error
from services.runtime.service_tokens import generate_key
from services.runtime.settings import IntegraSettings
from services.runtime.tracing import configure_tracing
from services.scoring.app import ScoringService
from services.scoring.shop_deletions import Receiver


def create_stack_app(settings: IntegraSettings) -> Starlette:
    """One ASGI app: ``/graphql``, ``/metrics``, ``/healthz``, ``/readyz``, ``/scoring/...``,
    ``/risk/...``, ``/kpi/...``.

    Without a service key in ``settings`` the components share a random one for the life of
    the process: the calls over in-process transports are signed and checked like those over
    the network.
    """
    configure_tracing("integra")  # before any client or schema is made
    if settings.service_token_key is None:
        settings = settings.model_copy(update={"service_token_key": SecretStr(generate_key())})
    scoring = ScoringService(settings)
    scoring_app = build_app(scoring, settings, manage_lifecycle=False)
    scoring_transport = httpx.ASGITransport(app=scoring_app)
    risk = RiskService(settings)
    risk_app = build_app(risk, settings, manage_lifecycle=False)
    risk_transport = httpx.ASGITransport(app=risk_app)
    # Over the same contracts, in process: kpi delivers breach events to risk and reads the
    # shops of scoring; scoring delivers shop deletions to risk and kpi.
    kpi = KpiService(
        settings,
        risk_transport=risk_transport,
        risk_base_url="http://risk",
        scoring_transport=scoring_transport,
        scoring_base_url="http://scoring",
    )
    kpi_app = build_app(kpi, settings, manage_lifecycle=False)
    kpi_transport = httpx.ASGITransport(app=kpi_app)
    risk.ask_kpi_codes_of("http://kpi", kpi_transport)
    scoring.deliver_deletions_to(
        {
            "risk": Receiver("http://risk", risk_transport),
            "kpi": Receiver("http://kpi", kpi_transport),
        }
    )
    services: list[Component] = [scoring, risk, kpi]
    service_apps = {scoring.name: scoring_app, risk.name: risk_app, kpi.name: kpi_app}
    transports: dict[str, httpx.AsyncBaseTransport] = {
        scoring.name: scoring_transport,
        risk.name: risk_transport,
        kpi.name: kpi_transport,
    }
    local = LocalServices(
        scoring=lambda: scoring.service, risk=lambda: risk.service, kpi=lambda: kpi.service
    )
    gateway = Gateway(settings, transports, local)
    gateway_app = build_app(gateway, settings, manage_lifecycle=False)
    components: list[Component] = [*services, gateway]

    routes = [Mount(f"/{name}", app) for name, app in service_apps.items()]
    # Paths no mount matches (e.g. with a newline) get the same JSON 404 as inside a service.
    app = Starlette(
        routes=[*routes, Mount("/", gateway_app)],
        lifespan=lambda _: _lifespan(components),
        exception_handlers={HTTPException: http_error},
    )
    app.state.components = {c.name: c for c in components}  # for operators' tools and tests
    return app


@contextlib.asynccontextmanager
async def _lifespan(components: list[Component]) -> AsyncIterator[None]:
    """Start the components in order, stop those started in reverse (also on a failure)."""
    started: list[Component] = []
    try:
        for component in components:
            await component.start()
            started.append(component)
        yield
    finally:
        for component in reversed(started):
            await component.stop()
