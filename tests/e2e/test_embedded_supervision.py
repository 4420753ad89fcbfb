"""The embedded database of a real ``integra up`` under supervision (issue 13).

SIGKILLed under load, nx-27017 is started again on the same data and port by ``integra up``
itself: readiness recovers within 5 s without restarting ``integra up``, writes succeed again,
no acknowledged write is lost and the restart is counted. A PID file left by a dead, zombie
or unrelated process does not stop ``integra up`` from starting, and a killed ``integra up``
does not leave its database running.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import httpx
import pytest

from reliability.figures import record
from services.runtime.embedded import free_port
from tests.conftest import TEST_JWT_SECRET
from tests.e2e.processes import IntegraProcess, admin_headers, clean_env, integra_up
from tests.faults.cluster import Cluster, eventually, metric, ready
from tests.faults.load import Load, missing, running

pytestmark = pytest.mark.slow

READY_WITHIN = 5.0
RESTARTS = "integra_embedded_database_restarts_total"
CREATE_SHOP = "mutation($input: CreateShopInput!) { createShop(input: $input) { id } }"
ENV = {
    "INTEGRA_JWT_SECRET": TEST_JWT_SECRET,  # the load's REST reads use a test JWT
    "INTEGRA_RATE_LIMIT_PER_MINUTE": "0",  # one load client is one rate-limit client
    "INTEGRA_KPI_PLATFORM_RECORDER": "false",
}


def _pid_file(data_dir: Path) -> Path:
    return data_dir / "db" / "nx-27017.pid"


def _alive(pid: int) -> bool:
    """Whether ``pid`` is a process that has not ended (a zombie has ended)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


async def _restarts(client: httpx.AsyncClient, base: str) -> float:
    return metric((await client.get(f"{base}/metrics")).text, RESTARTS)


async def _time_to_ready(client: httpx.AsyncClient, base: str, since: float) -> float:
    """Seconds from ``since`` until ``/readyz`` answers 200 (polled every 50 ms)."""
    deadline = since + 30
    while time.monotonic() < deadline:
        if await ready(client, base):
            return time.monotonic() - since
        await asyncio.sleep(0.05)
    raise AssertionError("not ready again within 30 s")


def _at_least(load: Load, count: int) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return load.count("shop") >= count

    return check


async def test_database_killed_under_load_is_restarted_and_loses_nothing(tmp_path: Path) -> None:
    with integra_up(tmp_path, **ENV) as (base, data_dir):
        headers = admin_headers(data_dir)

        async def write(load: Load, client: httpx.AsyncClient, writer: int, n: int) -> None:
            variables = {"input": {"name": f"load {writer}-{n}"}}
            created = await load.graphql(
                client, "shop", f"{base}/graphql", CREATE_SHOP, variables, headers
            )
            if created is not None:
                load.ack("shop", created["createShop"]["id"])

        async with httpx.AsyncClient(timeout=10, headers=Cluster.service_headers()) as probe:
            assert await _restarts(probe, base) == 0
            async with running(write, writers=6) as load:
                await eventually(_at_least(load, 30), 30, "writes acknowledged")
                pid = int(_pid_file(data_dir).read_text())
                os.kill(pid, signal.SIGKILL)
                killed = time.monotonic()
                seconds = await _time_to_ready(probe, base, killed)
                after = load.count("shop")
                await eventually(_at_least(load, after + 1), 30, "a write again", 0.05)
                writing = time.monotonic() - killed
                await eventually(_at_least(load, after + 30), 30, "writes again")
            assert seconds < READY_WITHIN, seconds
            assert int(_pid_file(data_dir).read_text()) != pid
            assert await _restarts(probe, base) == 1
            assert await missing(probe, f"{base}/scoring/shops", load.acked["shop"]) == []
        log = (tmp_path / "integra.log").read_text()
        assert "embedded nx-27017 exited with -9" in log, log
    summary = (
        f"embedded nx-27017 SIGKILLed under load: ready again in {seconds:.2f} s, "
        f"first write acknowledged again after {writing:.2f} s, "
        f"{load.count('shop')} writes acknowledged, {len(load.failures)} failed "
        f"({sorted(load.failure_codes())}), 0 acknowledged writes lost"
    )
    print(summary)
    record("faults", {"summary": summary, "ready_seconds": seconds, "writing_seconds": writing})


@pytest.fixture
def zombie() -> Iterator[int]:
    """The PID of an ended child of this process that is not reaped yet (a zombie)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    deadline = time.monotonic() + 10
    while _alive(child.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    yield child.pid
    child.wait()


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


@pytest.mark.parametrize("owner", ["dead", "zombie", "unrelated"])
def test_up_starts_over_a_stale_pid_file(
    tmp_path: Path, owner: str, request: pytest.FixtureRequest
) -> None:
    """nx-27017 refused to start while the PID in its PID file existed ("nx-27017 exited
    with 1"): a zombie, a reused PID (here: this test process) or a dead one."""
    pids = {"dead": _dead_pid, "unrelated": os.getpid}
    pid = request.getfixturevalue("zombie") if owner == "zombie" else pids[owner]()
    _pid_file(tmp_path / "data").parent.mkdir(parents=True)
    _pid_file(tmp_path / "data").write_text(str(pid))
    with integra_up(tmp_path) as (base, data_dir):
        assert httpx.get(f"{base}/readyz").status_code == 200
        assert int(_pid_file(data_dir).read_text()) != pid
    assert "removing stale" in (tmp_path / "integra.log").read_text()


def test_killed_up_does_not_leave_its_database_running(tmp_path: Path) -> None:
    """SIGKILL leaves ``integra up`` no time to stop nx-27017 (IntegraProcess.kill(), the OOM
    killer): the server notices it lost its parent and stops, so the next start succeeds."""
    port = free_port()
    env = clean_env(INTEGRA_PORT=str(port), INTEGRA_DATA_DIR=str(tmp_path / "data"))
    first = IntegraProcess(["up"], env, tmp_path / "up-1.log")
    try:
        first.wait_ready(f"http://127.0.0.1:{port}")
        database = int(_pid_file(tmp_path / "data").read_text())
    finally:
        first.kill()
    deadline = time.monotonic() + 10
    while _alive(database) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(database), "nx-27017 outlived its integra up"
    assert not _pid_file(tmp_path / "data").exists(), "a clean stop removes the PID file"
    second = IntegraProcess(["up"], env, tmp_path / "up-2.log")
    try:
        second.wait_ready(f"http://127.0.0.1:{port}")
        assert second.interrupt() == 0
    finally:
        second.kill()
