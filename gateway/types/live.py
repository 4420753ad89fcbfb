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
from gateway.live_feeds import follow
from gateway.types.common import Actor
from gateway.types.risk import Risk
from services.runtime.change_feed import ChangeKind
from services.runtime.change_routes import Change
from services.runtime.wire import check_scope

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


def _wait(info: Info) -> float:
    """How long one long poll waits: less than the call timeout of the gateway's clients."""
    return max(0.0, min(25.0, info.context.clients.call_timeout - 1.0))


def _of_shop(shop_id: str, accept: Callable[[Change], bool]) -> Callable[[Change], bool]:
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
        async for live in follow(feeds, after, _of_shop(shop_id, bool), _wait(info)):
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

        def wanted(change: Change) -> bool:
            return change.entity == "risk" and change.kind in RISK_KINDS

        async for live in follow(feeds, after, _of_shop(scope, wanted), _wait(info)):
            found = await info.context.clients.risk.risks_by_id([live.change.entity_id])
            change = live.change
            yield RiskEvent(
                cursor=live.cursor,
                kind=change.kind,
                at=change.at,
                actor=None if change.actor is None else Actor.from_model(change.actor),
                risk=Risk.from_model(found[0]) if found else None,
            )
