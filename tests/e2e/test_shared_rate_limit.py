"""State the gateway replicas share through their database: the per-client rate limit (one
limit for all replicas, not one each) and the expiry of persisted queries."""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from pymongo import AsyncMongoClient

from gateway.security.persisted_queries import PersistedQueryStore
from gateway.security.rate_limit import (
    LOCAL_MARGIN,
    LOCAL_SHARE,
    SYNC_SECONDS,
    WINDOW_SECONDS,
    RateLimit,
    SlidingWindow,
    retry_after,
)
from services.runtime import mongo
from services.runtime.embedded import free_port
from services.runtime.metrics import REGISTRY
from services.runtime.records import Document
from services.runtime.settings import IntegraSettings
from tests.conftest import TEST_JWT_SECRET, bearer, signed_jwt
from tests.e2e.processes import IntegraProcess, clean_env

LIMIT = 10
TYPENAME = {"query": "{ __typename }"}


def test_retry_after_waits_for_the_window_to_slide() -> None:
    start = 1000 * WINDOW_SECONDS
    # This minute is full: the next one, until 9 of its 10 predecessors have slid out.
    assert retry_after(0, 10, 10, start + 30) == 36
    # Room in this minute, but the last one still weighs: 8 + 10 × (1 − f) ≤ 9 at f = 0.9.
    assert retry_after(10, 8, 10, start + 30) == 24
    assert retry_after(0, 1, 1, start + 59.5) == 61
    assert retry_after(5, 0, 1, start) == 60
    assert retry_after(10, 0, 10, start + 59.9) >= 1


async def test_the_window_slides_over_the_previous_minute(settings: IntegraSettings) -> None:
    client: AsyncMongoClient[Document] = mongo.connect(settings, "gateway")
    try:
        minute = int(time.time() // WINDOW_SECONDS) + 1000  # a clock of our own, in the future
        now = [minute * WINDOW_SECONDS + 30]
        window = SlidingWindow(mongo.database(client, settings, "gateway"), 10, lambda: now[0])
        assert [await window.acquire("c") for _ in range(10)] == [None] * 10
        assert await window.acquire("c") == 36
        assert await window.acquire("c") == 36, "a refused request is not counted"
        now[0] += 33  # 3 s into the next minute: 10 × 0.95 + 1 > 10
        assert await window.acquire("c") == 3
        now[0] += 3  # 10 × 0.9 + 1 ≤ 10
        assert await window.acquire("c") is None
        assert await window.acquire("other") is None
        indexes = await window.counters.index_information()
        assert any(i.get("expireAfterSeconds") == 0 for i in indexes.values()), indexes
        doc = await window.counters.find_one({"_id": f"c@{minute + 1}"})
        assert doc is not None
        assert doc["count"] == 1
        assert isinstance(doc["expireAt"], datetime)
        assert doc["expireAt"].timestamp() == (minute + 3) * WINDOW_SECONDS
    finally:
        await client.close()


def _checks(where: str) -> float:
    return REGISTRY.get_sample_value("gateway_rate_limit_checks_total", {"where": where}) or 0.0


async def test_far_below_the_limit_a_replica_admits_its_reserved_share_on_its_own(
    settings: IntegraSettings,
) -> None:
    client: AsyncMongoClient[Document] = mongo.connect(settings, "gateway")
    try:
        minute = int(time.time() // WINDOW_SECONDS) + 2000
        now = [minute * WINDOW_SECONDS + 10]
        window = SlidingWindow(mongo.database(client, settings, "gateway"), 1000, lambda: now[0])

        async def counted() -> int:
            doc = await window.counters.find_one({"_id": f"busy@{minute}"})
            return 0 if doc is None else int(doc["count"])

        local, database = _checks("local"), _checks("database")
        assert await window.acquire("busy") is None
        share = (1000 - 1 - LOCAL_MARGIN) // LOCAL_SHARE
        assert await counted() == 1 + share, "the share is counted before it is used"
        assert [await window.acquire("busy") for _ in range(share)] == [None] * share
        assert await counted() == 1 + share, "admitted on its own, within what it reserved"
        assert (_checks("local") - local, _checks("database") - database) == (share, 1)
        now[0] += SYNC_SECONDS / 2
        assert await window.acquire("busy") is None  # the share is used up: counted again
        following = (1000 - (share + 2) - LOCAL_MARGIN) // LOCAL_SHARE
        assert await counted() == share + 2 + following
        now[0] += SYNC_SECONDS  # a share lasts a second at most; what is left is given back
        assert await window.acquire("busy") is None
        assert await counted() >= share + 3
        assert _checks("database") - database == 3
    finally:
        await client.close()


async def test_replicas_admitting_on_their_own_never_pass_the_limit_together(
    settings: IntegraSettings,
) -> None:
    client: AsyncMongoClient[Document] = mongo.connect(settings, "gateway")
    try:
        minute = int(time.time() // WINDOW_SECONDS) + 3000
        now = [minute * WINDOW_SECONDS + 1.0]
        db = mongo.database(client, settings, "gateway")
        replicas = [SlidingWindow(db, 300, lambda: now[0]) for _ in range(2 * LOCAL_SHARE)]
        decisions = []
        for i in range(900):  # spread over three seconds: shares expire and are given back
            now[0] += 3.0 / 900
            decisions.append(await replicas[(i * 7) % len(replicas)].acquire("many"))
        admitted = decisions.count(None)
        assert admitted <= 300
        assert admitted >= 300 - LOCAL_MARGIN, admitted
    finally:
        await client.close()


async def test_a_database_that_does_not_answer_leaves_the_limit_per_replica() -> None:
    unreachable = IntegraSettings(
        mongodb_uri=f"mongodb://127.0.0.1:{free_port()}/?directConnection=true",
        mongo_timeout_ms=200,
    )
    client: AsyncMongoClient[Document] = mongo.connect(unreachable, "gateway")
    try:
        limit = RateLimit(2, mongo.database(client, unreachable, "gateway"))
        started = time.monotonic()
        assert [await limit.acquire("c") for _ in range(3)] == [None, None, 30]
        assert time.monotonic() - started < 2, "one wait for the database, then local"
    finally:
        await client.close()
    assert await RateLimit(1).acquire("c") is None  # no database: the bucket
    assert await RateLimit(0, None).acquire("c") is None


async def test_persisted_queries_expire(settings: IntegraSettings) -> None:
    client: AsyncMongoClient[Document] = mongo.connect(settings, "gateway")
    try:
        db = mongo.database(client, settings, "gateway")
        query = "{ __typename }"
        digest = hashlib.sha256(query.encode()).hexdigest()
        await PersistedQueryStore(db, ttl_seconds=3600).put(digest, query)
        doc = await db["persisted_queries"].find_one({"_id": digest})
        assert doc is not None
        assert isinstance(doc["expireAt"], datetime)
        assert 3590 < doc["expireAt"].timestamp() - time.time() <= 3600
        indexes = await db["persisted_queries"].index_information()
        assert any(i.get("expireAfterSeconds") == 0 for i in indexes.values()), indexes
        assert await PersistedQueryStore(db).get(digest) == query, "another replica"

        forever = "{ shops { totalCount } }"
        other = hashlib.sha256(forever.encode()).hexdigest()
        await PersistedQueryStore(db, ttl_seconds=0).put(other, forever)
        kept = await db["persisted_queries"].find_one({"_id": other})
        assert kept is not None
        assert "expireAt" not in kept
    finally:
        await client.close()


def _wait_serving(process: IntegraProcess, base: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.process.poll() is not None:
            raise AssertionError(f"gateway exited: {process.log.read_text()}")
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"gateway not serving: {process.log.read_text()}")


@pytest.fixture
def two_gateways(mongo_uri: str, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """Two ``integra serve gateway`` processes over one database, limited to 10/minute."""
    ports = (free_port(), free_port())
    common = {
        "MONGODB_URI": mongo_uri,
        "INTEGRA_DB_PREFIX": f"rl{ports[0]}",
        "INTEGRA_JWT_SECRET": TEST_JWT_SECRET,
        "INTEGRA_RATE_LIMIT_PER_MINUTE": str(LIMIT),
    }
    processes = [
        IntegraProcess(
            ["serve", "gateway"],
            clean_env(INTEGRA_PORT=str(port), **common),
            tmp_path / f"gateway-{port}.log",
        )
        for port in ports
    ]
    try:
        bases = tuple(f"http://127.0.0.1:{port}" for port in ports)
        for process, base in zip(processes, bases, strict=True):
            _wait_serving(process, base)
        yield bases[0], bases[1]
    finally:
        for process in processes:
            process.kill()


@pytest.mark.slow
def test_two_gateway_processes_share_one_limit(two_gateways: tuple[str, str]) -> None:
    first, second = two_gateways
    if time.time() % WINDOW_SECONDS > WINDOW_SECONDS - 15:  # keep the test inside one minute
        time.sleep(WINDOW_SECONDS - time.time() % WINDOW_SECONDS + 0.5)
    client = bearer(signed_jwt("VIEWER", sub=f"shared-{uuid.uuid4().hex}"))
    for i in range(LIMIT):
        answer = httpx.post(
            f"{(first, second)[i % 2]}/graphql", json=TYPENAME, headers=client, timeout=10
        )
        assert answer.status_code == 200, (i, answer.text)
    for base in (first, second):
        refused = httpx.post(f"{base}/graphql", json=TYPENAME, headers=client, timeout=10)
        assert refused.status_code == 429, refused.text
        assert refused.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
        assert 1 <= int(refused.headers["retry-after"]) <= 2 * WINDOW_SECONDS
    other = bearer(signed_jwt("VIEWER", sub=f"other-{uuid.uuid4().hex}"))
    assert httpx.post(f"{second}/graphql", json=TYPENAME, headers=other).status_code == 200
