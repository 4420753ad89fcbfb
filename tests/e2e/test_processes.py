"""The stack as a user runs it: ``integra up``, ``integra serve``, ``integra seed``."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.runtime.embedded import free_port
from tests.e2e.processes import INTEGRA, IntegraProcess, admin_headers, clean_env, graphql

pytestmark = pytest.mark.slow

SHOPS = "{ shops(limit: 100) { totalCount items { name score { shRounded band } } } }"


def _port_answers(port: int) -> bool:
    try:
        httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
    except httpx.HTTPError:
        return False
    return True


def _frozen_objects(metrics_url: str) -> float:
    """``python_gc_frozen_objects`` of a running process (its start-up heap, frozen)."""
    for line in httpx.get(metrics_url).text.splitlines():
        if line.startswith("python_gc_frozen_objects "):
            return float(line.split()[1])
    raise AssertionError(f"no python_gc_frozen_objects at {metrics_url}")


def test_up_keeps_data_across_restarts_and_seed_is_idempotent(tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = clean_env(INTEGRA_PORT=str(port), INTEGRA_DATA_DIR=str(tmp_path / "data"))

    first = IntegraProcess(["up"], env, tmp_path / "up-1.log")
    try:
        first.wait_ready(base)
        assert _frozen_objects(f"{base}/metrics") > 10_000, "start-up heap left out of GC"
        auth = admin_headers(tmp_path / "data")
        graphql(base, 'mutation { createShop(input: {name: "Survivor"}) { id } }', headers=auth)
        for _ in range(2):
            seeded = subprocess.run(
                [INTEGRA, "seed", "--url", f"{base}/graphql"],
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
            assert seeded.returncode == 0, seeded.stdout + seeded.stderr
        page: Any = graphql(base, SHOPS, headers=auth)
        assert page["shops"]["totalCount"] == 6
        assert (tmp_path / "data" / "db").is_dir()
        embedded_port = _embedded_port(tmp_path / "up-1.log")
        assert first.interrupt() == 0
    finally:
        first.kill()
    assert not _port_answers(port)
    assert _embedded_stopped(embedded_port)

    second = IntegraProcess(["up"], env, tmp_path / "up-2.log")
    try:
        second.wait_ready(base)
        assert admin_headers(tmp_path / "data") == auth, "the local key is kept across restarts"
        page = graphql(base, SHOPS, headers=auth)
        shops = {s["name"]: s for s in page["shops"]["items"]}
        assert page["shops"]["totalCount"] == 6
        assert "Survivor" in shops
        assert shops["Northwind Gadgets"]["score"] == {"shRounded": 67.3, "band": "NORMAL"}
        assert shops["Fjord Outdoor"]["score"] is None
        assert second.interrupt() == 0
    finally:
        second.kill()


def test_up_stops_its_database_on_sigterm(tmp_path: Path) -> None:
    """``docker stop`` or a process manager sends SIGTERM: the embedded database stops with
    the stack (it was left running, orphaned)."""
    port = free_port()
    env = clean_env(INTEGRA_PORT=str(port), INTEGRA_DATA_DIR=str(tmp_path / "data"))
    up = IntegraProcess(["up"], env, tmp_path / "up.log")
    try:
        up.wait_ready(f"http://127.0.0.1:{port}")
        embedded_port = _embedded_port(tmp_path / "up.log")
        up.process.send_signal(signal.SIGTERM)
        assert up.process.wait(30) == 128 + signal.SIGTERM
    finally:
        up.kill()
    assert _embedded_stopped(embedded_port)


def _embedded_port(log: Path) -> int:
    for line in log.read_text().splitlines():
        if "embedded nx-27017 on mongodb://" in line:
            return int(line.split("mongodb://127.0.0.1:")[1].split("/")[0])
    raise AssertionError(f"no embedded server in the log: {log.read_text()}")


def _embedded_stopped(port: int, timeout: float = 10) -> bool:
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) != 0:
                return True
        time.sleep(0.2)
    return False


def test_components_as_separate_processes(mongo_uri: str, tmp_path: Path) -> None:
    scoring_port, gateway_port = free_port(), free_port()
    common = {"MONGODB_URI": mongo_uri, "INTEGRA_DB_PREFIX": f"proc{scoring_port}"}
    scoring = IntegraProcess(
        ["serve", "scoring"],
        clean_env(INTEGRA_PORT=str(scoring_port), **common),
        tmp_path / "scoring.log",
    )
    gateway = IntegraProcess(
        ["serve", "gateway"],
        clean_env(
            INTEGRA_PORT=str(gateway_port),
            INTEGRA_SCORING_URL=f"http://127.0.0.1:{scoring_port}",
            INTEGRA_DATA_DIR=str(tmp_path / "gateway-data"),
            **common,
        ),
        tmp_path / "gateway.log",
    )
    try:
        scoring.wait_ready(f"http://127.0.0.1:{scoring_port}")
        base = f"http://127.0.0.1:{gateway_port}"
        deadline = time.monotonic() + 30
        while not _port_answers(gateway_port) and time.monotonic() < deadline:
            time.sleep(0.2)
        auth = admin_headers(tmp_path / "gateway-data")
        created: Any = graphql(
            base, 'mutation { createShop(input: {name: "Remote"}) { id } }', headers=auth
        )
        shop_id = created["createShop"]["id"]
        criteria = {"U": 90, "I": 90, "R": 90, "C": 90, "T": 90, "L": 90, "S": 90, "M": 90, "E": 0}
        graphql(
            base,
            "mutation($i: RecordAssessmentInput!) { recordAssessment(input: $i) { id } }",
            {"i": {"shopId": shop_id, "assessor": "net", "criteria": criteria}},
            headers=auth,
        )
        shop: Any = graphql(
            base,
            "query($id: ID!) { shop(id: $id) { score { band } } }",
            {"id": shop_id},
            headers=auth,
        )
        assert shop["shop"]["score"]["band"] == "EXCELLENT"
        metrics = httpx.get(f"http://127.0.0.1:{scoring_port}/metrics").text
        assert 'http_route="/shops/{shop_id}/assessments",service="scoring"' in metrics
        assert _frozen_objects(f"http://127.0.0.1:{scoring_port}/metrics") > 10_000
    finally:
        gateway.kill()
        scoring.kill()
