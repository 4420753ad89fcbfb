"""The leased-retry dispatcher over a real server (nx-27017 and SecantusDB): an entry is
settled once, retried after its backoff, and taken over when its dispatcher's lease ends."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from prometheus_client import CollectorRegistry, Counter
from pymongo import AsyncMongoClient
from starlette.applications import Starlette
from starlette.requests import Request as HttpRequest
from starlette.responses import Response
from starlette.routing import Route

from services.runtime.delivery import (
    DeliveryOptions,
    Lease,
    LeasedCollection,
    LeasedDispatcher,
    Receiver,
    Request,
)
from services.runtime.records import Document, now_ms
from services.runtime.service_tokens import service_principal
from services.runtime.settings import IntegraSettings

OPTIONS = DeliveryOptions(poll_interval=3600, timeout=1, backoff_base=2, jitter=0.5)


class Inbox:
    """A receiver that applies each entry id once and answers ``status``."""

    def __init__(self) -> None:
        self.status = 200
        self.received: list[str] = []

    async def put(self, request: HttpRequest) -> Response:
        self.received.append(request.path_params["ident"])
        return Response(status_code=self.status)

    def receiver(self) -> Receiver:
        app = Starlette(routes=[Route("/inbox/{ident}", self.put, methods=["PUT"])])
        return Receiver("http://inbox", httpx.ASGITransport(app=app))


class InboxChannel:
    """Entries of a :class:`LeasedCollection`, each a ``PUT /inbox/{_id}``."""

    def __init__(self, entries: LeasedCollection) -> None:
        self.entries = entries

    async def due(self, limit: int) -> list[Document]:
        return await self.entries.due(limit)

    async def claim(self, entry: Document, lease: timedelta) -> Lease | None:
        return await self.entries.claim(entry, lease)

    async def request(self, lease: Lease) -> Request:
        return Request(lease.entry["to"], "PUT", f"/inbox/{lease.entry['_id']}")

    async def delivered(self, lease: Lease) -> bool:
        return await self.entries.delivered(lease)

    async def failed(self, lease: Lease, retry_at: datetime, error: str) -> bool:
        return await self.entries.failed(lease, retry_at, error)

    def label(self, lease: Lease) -> str:
        return str(lease.entry["to"])

    async def refresh_stats(self) -> None:
        """No gauges."""


@pytest.fixture
async def entries(settings: IntegraSettings) -> AsyncIterator[LeasedCollection]:
    assert settings.mongodb_uri is not None
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(settings.mongodb_uri)
    collection = LeasedCollection(client[settings.database_name("delivery")]["entries"])
    await collection.prepare()
    try:
        yield collection
    finally:
        await client.close()


REGISTRY = CollectorRegistry()
ATTEMPTS = Counter("attempts", "Attempts.", ["to", "outcome"], registry=REGISTRY)


@pytest.fixture
def attempts() -> Counter:
    ATTEMPTS.clear()
    return ATTEMPTS


def dispatcher(
    entries: LeasedCollection,
    inbox: Inbox,
    attempts: Counter,
    options: DeliveryOptions = OPTIONS,
) -> LeasedDispatcher:
    return LeasedDispatcher(
        [InboxChannel(entries)],
        {"inbox": inbox.receiver()},
        service_principal("test"),
        None,
        attempts,
        logging.getLogger("test.delivery"),
        options,
        rand=lambda: 0.5,
    )


async def add(entries: LeasedCollection, ident: str, to: str = "inbox") -> None:
    await entries.collection.insert_one({"_id": ident, "to": to, **entries.pending()})


def count(outcome: str, to: str = "inbox") -> float | None:
    return REGISTRY.get_sample_value("attempts_total", {"to": to, "outcome": outcome})


async def test_an_entry_is_delivered_and_settled_once(
    entries: LeasedCollection, attempts: Counter
) -> None:
    inbox = Inbox()
    for ident in ("a", "b"):
        await add(entries, ident)
    # Two replicas poll the same entries at once: each entry is sent by one of them.
    async with (
        dispatcher(entries, inbox, attempts) as one,
        dispatcher(entries, inbox, attempts) as two,
    ):
        reports = await asyncio.gather(one.run_once(), two.run_once())
        again = await one.run_once()
    assert sorted(inbox.received) == ["a", "b"]
    assert sum(r.delivered for r in reports) == 2
    assert sum(r.delivered + r.lost for r in reports) == sum(r.due for r in reports)
    assert again.due == 0
    assert count("delivered") == 2
    stored = await entries.collection.find_one({"_id": "a"})
    assert stored is not None
    assert (stored["delivered"], stored["attempts"], stored["lease_ms"]) == (True, 1, 0)


async def test_a_failed_entry_waits_its_backoff_then_is_delivered(
    entries: LeasedCollection, attempts: Counter
) -> None:
    inbox = Inbox()
    inbox.status = 503
    await add(entries, "x")
    await add(entries, "lost", to="nowhere")
    async with dispatcher(entries, inbox, attempts) as running:
        before = now_ms()
        report = await running.run_once()
        assert (report.due, report.failed) == (2, 2)
        assert (await running.run_once()).due == 0  # waiting for its retry
        stored = await entries.collection.find_one({"_id": "x"})
        assert stored is not None
        # First retry after base · (1 − jitter · rand) = 2 · 0.75 s.
        assert before + 1500 <= stored["due_ms"] <= now_ms() + 1500
        assert (stored["attempts"], stored["last_error"]) == (1, "HTTP 503")
        assert count("server_error") == 1
        assert count("client_error", to="nowhere") == 1

        await entries.collection.update_many({}, {"$set": {"due_ms": 0}})  # time passes
        inbox.status = 204
        report = await running.run_once()
    assert (report.delivered, report.failed) == (1, 1)
    assert inbox.received == ["x", "x"]
    stored = await entries.collection.find_one({"_id": "x"})
    assert stored is not None
    assert (stored["delivered"], stored["attempts"], stored["last_error"]) == (True, 2, None)


async def test_a_lease_that_ran_out_is_taken_over_and_settles_nothing(
    entries: LeasedCollection, attempts: Counter
) -> None:
    inbox = Inbox()
    await add(entries, "y")
    [entry] = await entries.due(10)
    crashed = await entries.claim(entry, timedelta(milliseconds=200))
    assert crashed is not None  # its dispatcher dies holding the lease
    assert await entries.due(10) == []
    await asyncio.sleep(0.3)
    async with dispatcher(entries, inbox, attempts) as takeover:
        report = await takeover.run_once()
    assert (report.due, report.delivered) == (1, 1)
    assert inbox.received == ["y"]
    # The dead dispatcher's late answer changes nothing.
    assert not await entries.failed(crashed, datetime.now(), "too late")
    stored = await entries.collection.find_one({"_id": "y"})
    assert stored is not None
    assert (stored["delivered"], stored["attempts"], stored["last_error"]) == (True, 2, None)
