"""Fault: the database is killed mid-load and comes back.

nx-27017 is started by the test (so the test can kill it) and ``integra serve scoring``,
``kpi`` and ``gateway`` run as real processes over it. Writers create shops and assessments
through GraphQL and record measurements through the kpi API, keeping every acknowledged id.
The database is SIGKILLed: requests fail fast with DATABASE_UNAVAILABLE / SERVICE_UNAVAILABLE
and readiness turns 503. The database is started again on the same data and port: the services
recover by themselves (they are not restarted), readiness is 200 again, writes succeed again,
and every id acknowledged before, during or after the outage is present.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from services.runtime.embedded import EmbeddedMongo, free_port
from tests.faults.cluster import Cluster, cluster, eventually, readiness
from tests.faults.load import Load, Write, missing, running

pytestmark = pytest.mark.slow

SERVICE_TIMEOUT = 5.0
CLEAR_CODES = {"DATABASE_UNAVAILABLE", "SERVICE_UNAVAILABLE"}
CREATE_SHOP = "mutation($input: CreateShopInput!) { createShop(input: $input) { id } }"
RECORD = "mutation($input: RecordAssessmentInput!) { recordAssessment(input: $input) { id } }"
CRITERIA = {"U": 80, "I": 70, "R": 60, "C": 75, "T": 90, "L": 65, "S": 85, "M": 70, "E": 10}
PERIOD_START = datetime(2026, 1, 1, tzinfo=UTC)


def _writes(stack: Cluster) -> Write:
    graphql = f"{stack.url('gateway')}/graphql"
    measurements = f"{stack.url('kpi')}/measurements"

    async def write(load: Load, client: httpx.AsyncClient, writer: int, iteration: int) -> None:
        headers = stack.headers()
        name = {"name": f"load {writer}-{iteration}"}
        created = await load.graphql(client, "shop", graphql, CREATE_SHOP, {"input": name}, headers)
        if created is None:
            return
        shop_id = created["createShop"]["id"]
        load.ack("shop", shop_id)
        assessment = {"shopId": shop_id, "assessor": "load", "criteria": CRITERIA}
        recorded = await load.graphql(
            client, "assessment", graphql, RECORD, {"input": assessment}, headers
        )
        if recorded is not None:
            load.ack("assessment", recorded["recordAssessment"]["id"])
        start = PERIOD_START + timedelta(days=iteration)
        body = {
            "shopId": shop_id,
            "kpiCode": "sla_compliance",
            "periodStart": start.isoformat(),
            "periodEnd": (start + timedelta(days=1)).isoformat(),
            "inputs": {"within_sla": 99, "total": 100},
        }
        measured = await load.rest(client, "measurement", measurements, body)
        if measured is not None:
            load.ack("measurement", measured["id"])

    return write


async def test_database_killed_mid_load_loses_no_acknowledged_write(tmp_path: Path) -> None:
    database = EmbeddedMongo(tmp_path / "db", port=free_port()).start()
    try:
        with cluster(
            tmp_path,
            database.uri,
            ("scoring", "kpi", "gateway"),
            INTEGRA_MONGO_TIMEOUT_MS="1000",
            INTEGRA_SERVICE_TIMEOUT_SECONDS=str(SERVICE_TIMEOUT),
            INTEGRA_KPI_PLATFORM_RECORDER="false",
        ) as stack:
            services = [stack.url("scoring"), stack.url("kpi")]
            async with httpx.AsyncClient(timeout=10, headers=stack.service_headers()) as probe:
                await eventually(readiness(probe, services, True), 30, "services ready")

                async with running(_writes(stack), writers=4) as load:
                    await eventually(_at_least(load, "measurement", 10), 30, "writes acknowledged")
                    await asyncio.to_thread(database.kill)
                    outage_started = len(load.failures)
                    await eventually(readiness(probe, services, False), 20, "readiness down")
                    await eventually(_failed(load, outage_started + 8), 20, "requests failing")

                    database = await asyncio.to_thread(
                        EmbeddedMongo(tmp_path / "db", port=database.port).start
                    )
                    await eventually(readiness(probe, services, True), 30, "readiness back")
                    after = load.count("measurement")
                    await eventually(_at_least(load, "measurement", after + 10), 30, "writes again")

                assert load.failures, "the outage was not observed"
                assert load.failure_codes() <= CLEAR_CODES, load.failure_codes()
                slowest = max(f.seconds for f in load.failures)
                assert slowest < SERVICE_TIMEOUT, slowest
                for kind, url in (
                    ("shop", f"{stack.url('scoring')}/shops"),
                    ("assessment", f"{stack.url('scoring')}/assessments"),
                    ("measurement", f"{stack.url('kpi')}/measurements"),
                ):
                    assert await missing(probe, url, load.acked[kind]) == [], kind
                print(
                    f"database down: {sum(map(len, load.acked.values()))} writes acknowledged, "
                    f"{len(load.failures)} failed ({sorted(load.failure_codes())}, slowest "
                    f"{slowest:.2f} s), 0 acknowledged writes lost"
                )
    finally:
        database.stop()


def _at_least(load: Load, kind: str, count: int) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return load.count(kind) >= count

    return check


def _failed(load: Load, count: int) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return len(load.failures) >= count

    return check
