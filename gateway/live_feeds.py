"""Following the services' change feeds for one subscription, resumable from its cursor.

A subscription follows one or more services' feeds (:mod:`gateway.change_client`) with long
polls as the subscriber's caller, from where its cursor says (``after``) or from now on. Its
cursor names a position in each feed it follows — ``risk:42`` or ``scoring:7,risk:42,kpi:3`` —
so a subscriber that reconnects with the last cursor it received misses nothing the services
still retain. A feed that fails (a service down) is asked again after a pause; an expired
cursor ends the subscription with CURSOR_EXPIRED, as the HTTP feed answers it.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass

from gateway.change_client import ChangeClient
from services.runtime.app import cancel_until_done, stop_if_cancelled
from services.runtime.change_routes import Change, ChangesQuery
from services.runtime.errors import ErrorCode, IntegraError, ValidationFailed

RETRY_SECONDS = 1.0
_POSITION = re.compile(r"^(scoring|risk|kpi):([0-9]{1,18})$")


@dataclass(frozen=True)
class LiveChange:
    """A change, and the subscription's cursor just after it."""

    change: Change
    cursor: str


def positions(after: str | None, services: Sequence[str]) -> dict[str, str]:
    """Where to read each service's feed from: the subscription cursor ``after``, or
    ``latest`` (from now on); a malformed cursor is VALIDATION_ERROR on ``after``."""
    start = dict.fromkeys(services, "latest")
    if after is None:
        return start
    for part in after.split(","):
        match = _POSITION.match(part.strip())
        if match is None or match.group(1) not in start:
            feeds = ", ".join(f"{s}:<n>" for s in services)
            raise ValidationFailed(
                "after", f"after must be a cursor of this subscription ({feeds})"
            )
        start[match.group(1)] = match.group(2)
    return start


def cursor_of(at: Mapping[str, str]) -> str:
    """The subscription cursor of these positions."""
    return ",".join(f"{service}:{position}" for service, position in at.items())


async def follow(
    clients: Mapping[str, ChangeClient],
    after: str | None,
    wanted: Callable[[Change], bool],
    wait: float,
) -> AsyncIterator[LiveChange]:
    """The changes of every feed of ``clients`` that ``wanted`` keeps, as they come."""
    at = positions(after, list(clients))
    for service, position in at.items():
        if position == "latest":  # a number at once, so that every cursor given resumes
            now_on = await clients[service].changes(ChangesQuery(after=position))
            at[service] = now_on.cursor
    queue: asyncio.Queue[tuple[str, Change] | IntegraError] = asyncio.Queue()

    async def poll(service: str) -> None:
        cursor = at[service]
        while True:
            try:
                page = await clients[service].changes(ChangesQuery(after=cursor, wait=wait))
            except IntegraError as error:
                stop_if_cancelled()  # PyMongo may turn a cancellation into an error
                if error.code is ErrorCode.CURSOR_EXPIRED:
                    await queue.put(error)
                    return
                await asyncio.sleep(RETRY_SECONDS)  # a service down: ask again
                continue
            for change in page.items:
                await queue.put((service, change))
            cursor = page.cursor

    tasks = [asyncio.create_task(poll(service)) for service in clients]
    try:
        while True:
            item = await queue.get()
            if isinstance(item, IntegraError):
                raise item
            service, change = item
            at[service] = change.cursor
            if wanted(change):
                yield LiveChange(change, cursor_of(at))
    finally:
        await cancel_until_done(*tasks)
