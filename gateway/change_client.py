"""The services' change feeds as the gateway reads them: one typed interface, two transports.

Every service answers ``GET /changes`` the same way (:mod:`services.runtime.change_routes`), so
one client serves the three: over HTTP for ``integra serve``, or straight on the service's feed
in this process for ``integra up``. A long poll waits less than the call timeout.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from gateway.clients import ServiceClient, query_params
from gateway.in_process import InProcessCalls, revalidated
from services.runtime.change_feed import ChangeFeed
from services.runtime.change_routes import OPERATION, ChangePage, Changes, ChangesQuery
from services.runtime.wire import parse


class ChangeClient(Protocol):
    """One service's change feed."""

    async def changes(self, query: ChangesQuery) -> ChangePage:
        """The changes after ``query.after``, waiting up to ``query.wait`` seconds for one;
        CURSOR_EXPIRED for a cursor no longer retained."""
        ...


class HttpChangeClient:
    """A service's feed over its HTTP API."""

    def __init__(self, transport: ServiceClient) -> None:
        self._http = transport

    async def changes(self, query: ChangesQuery) -> ChangePage:
        """See :meth:`ChangeClient.changes`."""
        answer = await self._http.call("GET", "/changes", params=query_params(query))
        return parse(ChangePage, answer)


class InProcessChangeClient:
    """A service's feed in this process (``feed()`` answers the running one)."""

    def __init__(self, name: str, feed: Callable[[], ChangeFeed]) -> None:
        self._feed = feed
        self._call = InProcessCalls(name, [OPERATION])

    async def changes(self, query: ChangesQuery) -> ChangePage:
        """See :meth:`ChangeClient.changes`."""
        return await self._call(Changes(self._feed()).changes, revalidated(query))
