"""A load client for fault tests: concurrent writers that record every acknowledged id and
every failure (its error code and how long the request took), so that a test can check that
nothing acknowledged was lost and that failures were quick and clearly coded."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.faults.cluster import Cluster

Write = Callable[["Load", httpx.AsyncClient, int, int], Awaitable[None]]


@dataclass(frozen=True)
class Failure:
    """A request that did not succeed: what it was, its error code, its duration."""

    kind: str
    code: str
    seconds: float


@dataclass
class Load:
    """What the writers saw: acknowledged ids by kind, and failures."""

    acked: dict[str, list[str]] = field(default_factory=dict)
    failures: list[Failure] = field(default_factory=list)

    def ack(self, kind: str, ident: str) -> None:
        """Record an id the service acknowledged."""
        self.acked.setdefault(kind, []).append(ident)

    def count(self, kind: str) -> int:
        """How many writes of ``kind`` were acknowledged so far."""
        return len(self.acked.get(kind, []))

    def fail(self, kind: str, code: str, started: float) -> None:
        """Record a failed request that started at ``started`` (``time.monotonic()``)."""
        self.failures.append(Failure(kind, code, time.monotonic() - started))

    def failure_codes(self) -> set[str]:
        """Every error code seen."""
        return {f.code for f in self.failures}

    async def graphql(
        self,
        client: httpx.AsyncClient,
        kind: str,
        url: str,
        query: str,
        variables: dict[str, Any],
        headers: dict[str, str],
    ) -> dict[str, Any] | None:
        """POST one GraphQL operation; its ``data`` if it succeeded, else ``None`` (recorded
        as a failure with the first error's code)."""
        started = time.monotonic()
        try:
            response = await client.post(
                url, json={"query": query, "variables": variables}, headers=headers
            )
        except httpx.HTTPError as error:
            self.fail(kind, type(error).__name__, started)
            return None
        if response.status_code != 200:
            self.fail(kind, f"HTTP_{response.status_code}", started)
            return None
        answer = response.json()
        if answer.get("errors"):
            self.fail(kind, str(answer["errors"][0].get("extensions", {}).get("code")), started)
            return None
        data: dict[str, Any] = answer["data"]
        return data

    async def rest(
        self, client: httpx.AsyncClient, kind: str, url: str, body: dict[str, Any]
    ) -> dict[str, Any] | None:
        """POST a JSON body to a service; its answer if it succeeded, else ``None``."""
        started = time.monotonic()
        try:
            response = await client.post(url, json=body)
        except httpx.HTTPError as error:
            self.fail(kind, type(error).__name__, started)
            return None
        if not response.is_success:
            try:
                code = str(response.json()["error"]["code"])
            except (ValueError, KeyError, TypeError):
                code = f"HTTP_{response.status_code}"
            self.fail(kind, code, started)
            return None
        answer: dict[str, Any] = response.json()
        return answer


@contextlib.asynccontextmanager
async def running(write: Write, writers: int, pause: float = 0.02) -> AsyncIterator[Load]:
    """Run ``writers`` concurrent loops of ``write(load, client, writer, iteration)`` until
    the block ends; then wait for the writes in flight to finish."""
    load = Load()
    stop = asyncio.Event()

    async def writer(number: int, client: httpx.AsyncClient) -> None:
        iteration = 0
        while not stop.is_set():
            iteration += 1
            await write(load, client, number, iteration)
            await asyncio.sleep(pause)

    async with httpx.AsyncClient(timeout=30, headers=Cluster.service_headers()) as client:
        tasks = [asyncio.create_task(writer(n, client)) for n in range(writers)]
        try:
            yield load
        finally:
            stop.set()
            await asyncio.gather(*tasks)


async def missing(
    client: httpx.AsyncClient, url: str, ids: list[str], param: str = "ids"
) -> list[str]:
    """The ids among ``ids`` that ``GET url?ids=...`` (batches of 100) does not answer."""
    found: set[str] = set()
    for start in range(0, len(ids), 100):
        batch = ids[start : start + 100]
        response = await client.get(url, params={param: batch})
        assert response.status_code == 200, response.text
        found.update(item["id"] for item in response.json()["items"])
    return [i for i in ids if i not in found]
