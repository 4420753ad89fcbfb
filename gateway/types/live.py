"""Subscriptions: what the services' change feeds announce, pushed as it happens.

Each subscription follows the feeds it needs (:mod:`gateway.live_feeds`) as its caller, with
the same roles as queries (VIEWER), and gives every event a ``cursor``: a subscriber that
reconnects with ``after: <the last cursor>`` gets what it missed, as long as the services
retain it (``INTEGRA_CHANGE_RETENTION_HOURS``). Over ``graphql-transport-ws`` at ``/graphql``
(the credential in ``connection_init``: ``{"Authorization": "Bearer <key>"}``) and over HTTP
(``Accept: multipart/mixed``), behind the same gate as queries.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable
from datetime import datetime

import strawberry

from gateway.context import Info
from gateway.live_feeds import LiveChange, follow
from gateway.types.common import Actor
from gateway.types.kpi import KpiLatest, KpiMeasurement, kpi_codes
from gateway.types.risk import Risk
from services.kpi import models as kpi_models
from services.runtime.change_feed import ChangeKind
from services.runtime.change_routes import Change
from services.runtime.wire import PLATFORM_SCOPE, check_scope

strawberry.enum(ChangeKind, description="What a write did to its entity.")

RISK_KINDS = frozenset({ChangeKind.CREATED, ChangeKind.ESCALATED, ChangeKind.STATUS_CHANGED})
"""The changes of a risk ``riskEvents`` announces."""


@strawberry.type(description="An acknowledged write of a service, from its change feed.")
class ChangeEvent:
    cursor: str = strawberry.field(description="Resume after this event: `after: <cursor>`.")
    service: str
    entity: str = strawberry.field(description="shop, assessment, risk, measurement, …")
    entity_id: strawberry.ID
    shop_id: strawberry.ID | None
    kind: ChangeKind
    version: int | None
    actor: Actor | None
    at: datetime

    @classmethod
    def of(cls, change: Change, cursor: str) -> ChangeEvent:
        """The event of a feed's change, with the subscription's cursor after it."""
        return cls(
            cursor=cursor,
            service=change.service,
            entity=change.entity,
            entity_id=strawberry.ID(change.entity_id),
            shop_id=None if change.shop_id is None else strawberry.ID(change.shop_id),
            kind=change.kind,
            version=change.version,
            actor=None if change.actor is None else Actor.from_model(change.actor),
            at=change.at,
        )


@strawberry.type(description="A risk created, escalated or moved in its lifecycle.")
class RiskEvent:
    cursor: str = strawberry.field(description="Resume after this event: `after: <cursor>`.")
    kind: ChangeKind
    at: datetime
    actor: Actor | None
    risk: Risk | None = strawberry.field(description="The risk as it is now; null if gone.")


@strawberry.type(description="A KPI measurement recorded or revised, with the KPI's status then.")
class MeasurementEvent:
    cursor: str = strawberry.field(description="Resume after this event: `after: <cursor>`.")
    kind: ChangeKind = strawberry.field(description="RECORDED, or CHANGED for a revision.")
    at: datetime
    actor: Actor | None
    measurement: KpiMeasurement
    latest: KpiLatest | None = strawberry.field(
        description="The KPI's latest value and its status against the target, after it."
    )


@strawberry.type(description="A risk event or a KPI measurement of the platform itself.")
class PlatformAlert:
    cursor: str = strawberry.field(description="Resume after this event: `after: <cursor>`.")
    kind: ChangeKind
    at: datetime
    risk: Risk | None = strawberry.field(description="The platform's risk, for a risk event.")
    kpi: KpiLatest | None = strawberry.field(
        description="The platform KPI's latest value and status, for a measurement."
    )


def _actor(change: Change) -> Actor | None:
    return None if change.actor is None else Actor.from_model(change.actor)


async def _risk(info: Info, change: Change) -> Risk | None:
    """The risk of a change, as it is now (``None`` once gone)."""
    info.context.forget_loaded()  # each event reads afresh
    found = await info.context.clients.risk.risks_by_id([change.entity_id])
    return Risk.from_model(found[0]) if found else None


async def _measured(
    info: Info, change: Change, codes: list[str] | None
) -> tuple[kpi_models.Measurement, KpiLatest | None] | None:
    """A measurement change's measurement and its KPI's latest status; ``None`` when the
    measurement is gone or its KPI is not among ``codes``."""
    info.context.forget_loaded()
    kpi = info.context.clients.kpi
    found = await kpi.measurements_by_id([change.entity_id])
    if not found or (codes is not None and found[0].kpi_code not in codes):
        return None
    measurement = found[0]
    query = kpi_models.LatestQuery(shop_ids=[measurement.shop_id], kpi_codes=[measurement.kpi_code])
    latest = [k for shop in await kpi.latest(query) for k in shop.kpis]
    return measurement, KpiLatest.from_model(latest[0]) if latest else None


def _is_risk_event(change: Change) -> bool:
    return change.entity == "risk" and change.kind in RISK_KINDS


def _is_measurement(change: Change) -> bool:
    return change.entity == "measurement"


def _wait(info: Info) -> float:
    """How long one long poll waits: less than the call timeout of the gateway's clients."""
    return max(0.0, min(25.0, info.context.clients.call_timeout - 1.0))


def _of_shop(
    shop_id: str, accept: Callable[[Change], bool] = lambda _: True
) -> Callable[[Change], bool]:
    """Keeps the changes of ``shop_id`` that ``accept`` keeps."""
    return lambda change: change.shop_id == shop_id and accept(change)


@strawberry.type(description="Everything Integra pushes as it happens.")
class Subscription:
    @strawberry.subscription(
        description="Every change of a shop in any service: its record and scores, its "
        "risks and roadmap, its KPI measurements and targets."
    )
    async def shop_changed(
        self, info: Info, id: strawberry.ID, after: str | None = None
    ) -> AsyncGenerator[ChangeEvent, None]:
        shop_id = check_scope(str(id), "id")
        feeds = info.context.clients.changes
        async for live in follow(feeds, after, _of_shop(shop_id), _wait(info)):
            yield ChangeEvent.of(live.change, live.cursor)

    @strawberry.subscription(
        description='The risks of a shop (or "platform") as they are created, escalated or '
        "change status, each with the risk as it is then."
    )
    async def risk_events(
        self, info: Info, shop_id: strawberry.ID, after: str | None = None
    ) -> AsyncGenerator[RiskEvent, None]:
        scope = check_scope(str(shop_id), "shopId")
        feeds = {"risk": info.context.clients.changes["risk"]}
        async for live in follow(feeds, after, _of_shop(scope, _is_risk_event), _wait(info)):
            change = live.change
            risk = await _risk(info, change)
            yield RiskEvent(
                cursor=live.cursor, kind=change.kind, at=change.at, actor=_actor(change), risk=risk
            )

    @strawberry.subscription(
        description='The KPI measurements of a shop (or "platform") as they are recorded or '
        "revised, of the KPIs of `codes` (all without), each with the KPI's status then."
    )
    async def kpi_measurements(
        self,
        info: Info,
        shop_id: strawberry.ID,
        codes: list[str] | None = None,
        after: str | None = None,
    ) -> AsyncGenerator[MeasurementEvent, None]:
        scope, wanted = check_scope(str(shop_id), "shopId"), kpi_codes(codes)
        feeds = {"kpi": info.context.clients.changes["kpi"]}
        async for live in follow(feeds, after, _of_shop(scope, _is_measurement), _wait(info)):
            measured = await _measured(info, live.change, wanted)
            if measured is not None:
                yield MeasurementEvent(
                    cursor=live.cursor,
                    kind=live.change.kind,
                    at=live.change.at,
                    actor=_actor(live.change),
                    measurement=KpiMeasurement.from_model(measured[0]),
                    latest=measured[1],
                )

    @strawberry.subscription(
        description="The platform's own alerts: its risks as they are created, escalated or "
        "change status, and its KPI measurements (API latency, SLA compliance) with status."
    )
    async def platform_alerts(
        self, info: Info, after: str | None = None
    ) -> AsyncGenerator[PlatformAlert, None]:
        changes = info.context.clients.changes
        feeds = {"risk": changes["risk"], "kpi": changes["kpi"]}

        def wanted(change: Change) -> bool:
            return _is_risk_event(change) or _is_measurement(change)

        async for live in follow(feeds, after, _of_shop(PLATFORM_SCOPE, wanted), _wait(info)):
            alert = await _platform_alert(info, live)
            if alert is not None:
                yield alert


async def _platform_alert(info: Info, live: LiveChange) -> PlatformAlert | None:
    change = live.change
    if _is_risk_event(change):
        risk = await _risk(info, change)
        return PlatformAlert(
            cursor=live.cursor, kind=change.kind, at=change.at, risk=risk, kpi=None
        )
    measured = await _measured(info, change, None)
    if measured is None:
        return None
    return PlatformAlert(
        cursor=live.cursor, kind=change.kind, at=change.at, risk=None, kpi=measured[1]
    )
