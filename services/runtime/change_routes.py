"""``GET /changes``: a service's change feed (:mod:`services.runtime.change_feed`) over HTTP.

Every service answers it the same way: the committed changes after a cursor, in order, waiting
up to ``wait`` seconds for one (long poll). A consumer keeps the ``cursor`` of each answer and
asks again with it; ``after=latest`` starts at the newest change (only what comes next).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated

from pydantic import Field
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from services.runtime.auth import Role
from services.runtime.caller import Actor
from services.runtime.change_feed import ChangeFeed, ChangeKind, CursorExpired
from services.runtime.http import json_response, query_model
from services.runtime.metrics import FEED_READS
from services.runtime.records import Document, from_epoch_ms
from services.runtime.use_cases import Operation, RoleTable
from services.runtime.wire import WireModel

USE_CASES = RoleTable()
Cursor = Annotated[str, Field(pattern=r"^(latest|[0-9]{1,18})$")]


class ChangesQuery(WireModel):
    """Where to read from, how many, and how long to wait for one."""

    after: Cursor | None = Field(
        default=None,
        description="The cursor of the last answer (the oldest change retained without it; "
        "`latest`: only changes from now on)",
    )
    limit: int = Field(default=100, ge=1, le=1000)
    wait: float = Field(default=0, ge=0, le=30, description="Seconds to wait for a change")


class Change(WireModel):
    """One acknowledged write of a service."""

    cursor: str
    service: str
    entity: str
    entity_id: str
    shop_id: str | None = Field(description="The shop, or `platform`; none for global records")
    kind: ChangeKind
    version: int | None
    actor: Actor | None
    at: datetime


class ChangePage(WireModel):
    """The changes after a cursor, in order, and the cursor to ask with next."""

    items: list[Change]
    cursor: str


class Changes:
    """The use case of ``GET /changes`` over one service's feed."""

    def __init__(self, feed: ChangeFeed) -> None:
        self.feed = feed

    @USE_CASES.requires(Role.VIEWER)
    async def changes(self, query: ChangesQuery) -> ChangePage:
        """The committed changes after ``query.after``; CURSOR_EXPIRED for a lost cursor."""
        try:
            docs, cursor = await self.feed.wait(
                await self._start(query.after), query.limit, query.wait
            )
        except CursorExpired:
            FEED_READS.labels(self.feed.service, "expired").inc()
            raise
        FEED_READS.labels(self.feed.service, "changes" if docs else "empty").inc()
        items = [change_of(self.feed.service, doc) for doc in docs]
        return ChangePage(items=items, cursor=str(cursor))

    async def _start(self, after: str | None) -> int | None:
        """The feed position of a query's ``after``: ``latest`` is the feed's position now."""
        if after == "latest":
            return await self.feed.start()
        return None if after is None else int(after)


def change_of(service: str, doc: Document) -> Change:
    """The wire form of a stored change."""
    return Change(
        cursor=str(doc["_id"]),
        service=service,
        entity=doc["entity"],
        entity_id=doc["entity_id"],
        shop_id=doc.get("shop_id"),
        kind=ChangeKind(doc["kind"]),
        version=doc.get("version"),
        actor=Actor.from_document(doc.get("actor")) if doc.get("actor") else None,
        at=from_epoch_ms(doc["at_ms"]),
    )


async def list_changes(changes: Changes, request: Request) -> Response:
    return json_response(await changes.changes(query_model(request, ChangesQuery)))


OPERATION = Operation(
    "/changes",
    list_changes,
    "GET",
    uses="changes",
    summary="The service's changes after a cursor, in order (long poll with `wait`); a cursor "
    "no longer retained is 410 CURSOR_EXPIRED: read the current state again",
    query=ChangesQuery,
    response=ChangePage,
    errors=(410,),
)


def change_routes(feed: Callable[[], ChangeFeed]) -> list[BaseRoute]:
    """The route of the change feed that ``feed()`` answers."""
    return [OPERATION.route(lambda: Changes(feed()), USE_CASES.roles)]
