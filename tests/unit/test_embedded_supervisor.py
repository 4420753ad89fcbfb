"""The supervisor of the embedded nx-27017, with real servers: a server that exits is started
again on the same port and data, with capped backoff while it cannot start, and counted; a
deliberate stop is not restarted."""

from __future__ import annotations

import logging
import os
import signal
import socket
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from pymongo import MongoClient

from services.runtime.embedded import EmbeddedMongo, answers_ping
from services.runtime.metrics import EMBEDDED_DATABASE_RESTARTS


def _restarts() -> float:
    return float(EMBEDDED_DATABASE_RESTARTS._value.get())


def _until(check: Callable[[], bool], within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, f"not {what} within {within} s"
        time.sleep(0.05)


def _client(server: EmbeddedMongo) -> MongoClient[dict[str, object]]:
    return MongoClient(server.uri, serverSelectionTimeoutMS=5000)


def _serving(server: EmbeddedMongo, old_pid: int) -> Callable[[], bool]:
    return lambda: server.pid not in (None, old_pid) and answers_ping(server.uri)


def test_a_killed_server_is_restarted_on_the_same_port_and_data(tmp_path: Path) -> None:
    server = EmbeddedMongo(tmp_path / "db").start()
    try:
        server.supervise(poll_interval=0.05)
        with _client(server) as client:
            client.t.c.insert_one({"_id": "before"})
        before, pid, port = _restarts(), server.pid, server.port
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        _until(_serving(server, pid), 10, "serving again")
        assert server.port == port
        assert _restarts() == before + 1
        with _client(server) as client:
            assert client.t.c.find_one({"_id": "before"}) == {"_id": "before"}
    finally:
        server.stop()


def test_restarts_back_off_while_the_server_cannot_start(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """While the port is taken each restart fails; waits double (0.25 s, 0.5 s, 1 s …)."""
    caplog.set_level(logging.WARNING, logger="integra.embedded")
    server = EmbeddedMongo(tmp_path / "db").start()
    blocker = socket.socket()
    try:
        server.supervise(poll_interval=0.05)
        pid = server.pid
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        _until(
            lambda: server._process is not None and server._process.poll() is not None, 5, "reaped"
        )
        blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        blocker.bind((server.host, server.port))
        blocker.listen()
        _until(lambda: "restart 3 in a row" in caplog.text, 20, "restarted three times")
        assert "restarting it in 0.50 s" in caplog.text
        assert "restarting it in 1.00 s" in caplog.text
        blocker.close()
        _until(_serving(server, pid), 20, "serving once the port is free")
    finally:
        blocker.close()
        server.stop()


def test_a_stopped_server_is_not_restarted(tmp_path: Path) -> None:
    server = EmbeddedMongo(tmp_path / "db").start()
    server.supervise(poll_interval=0.05)
    pid, before = server.pid, _restarts()
    server.stop()
    time.sleep(0.5)
    assert server.pid is None
    assert _restarts() == before
    assert pid is not None
    assert not Path(f"/proc/{pid}").exists(), "stop() ends and reaps the server"
    assert not server.pid_file.exists()
