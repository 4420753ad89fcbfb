"""The processes a benchmark measures: started in their own process group, stopped with it.

Each :class:`Server` is a child in a new session (so its own children, like the embedded
nx-27017 of ``integra up``, share its process group); stopping it signals the whole group
and kills what is left, so no process outlives the benchmark.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import httpx

from services.runtime.embedded import free_port

PYTHON = sys.executable
INTEGRA = str(Path(sys.executable).with_name("integra"))
NX_27017 = "from nx_27017.nx_27017 import main; main()"


BENCH_SERVICE_KEY = "integra-bench-service-key-of-at-least-32-bytes"
"""The service key of the benchmark's processes (they listen on loopback only)."""


def clean_env(**overrides: str) -> dict[str, str]:
    """The environment of a child: no inherited Integra or MongoDB settings, then overrides."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("INTEGRA_") and k != "MONGODB_URI"
    }
    env["INTEGRA_SERVICE_TOKEN_KEY"] = BENCH_SERVICE_KEY
    env.update(overrides)
    return env


class Server:
    """One child process (and its descendants), with its output in a log file."""

    def __init__(
        self, name: str, argv: Sequence[str], env: Mapping[str, str], log: Path, port: int
    ) -> None:
        self.name = name
        self.port = port
        self.log = log
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("ab") as out:
            self.process = subprocess.Popen(  # noqa: S603 - argv built by the benchmark
                list(argv),
                env=dict(env),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self.pgid = self.process.pid

    @property
    def url(self) -> str:
        """The base URL of the server."""
        return f"http://127.0.0.1:{self.port}"

    def wait_http(self, path: str = "/healthz", timeout: float = 90) -> None:
        """Wait until ``path`` answers 200; raise with the log's tail if the process dies."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited: {self.log_tail()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.url + path, timeout=2).status_code == 200:
                    return
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} did not answer {path} in {timeout} s: {self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        """The last lines of the server's log."""
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def pids(self) -> list[int]:
        """Every live process of the server's process group."""
        found = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            with contextlib.suppress(OSError, IndexError, ValueError):
                stat = Path(f"/proc/{entry}/stat").read_text()
                # Fields after the parenthesised command: state ppid pgrp ...
                fields = stat.rsplit(")", 1)[1].split()
                if int(fields[2]) == self.pgid and fields[0] != "Z":
                    found.append(int(entry))
        return found

    def stop(self, timeout: float = 20) -> None:
        """SIGTERM to the group (a clean shutdown stops nx-27017 too), then SIGKILL."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pgid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout)
        deadline = time.monotonic() + 5
        while self.pids() and time.monotonic() < deadline:
            time.sleep(0.1)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pgid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(5)


class Servers:
    """Every server a benchmark started; :meth:`stop_all` (also on exit) stops them."""

    def __init__(self, work_dir: Path) -> None:
        self.work_dir = work_dir
        self.started: list[Server] = []

    def start(self, name: str, argv: Sequence[str], env: Mapping[str, str], port: int) -> Server:
        """Start a server; it is stopped by :meth:`stop_all` at the latest."""
        server = Server(name, argv, env, self.work_dir / "logs" / f"{name}.log", port)
        self.started.append(server)
        return server

    def stop(self, *servers: Server) -> None:
        """Stop these servers (in reverse order of start)."""
        for server in reversed(servers):
            server.stop()
            if server in self.started:
                self.started.remove(server)

    def stop_all(self) -> None:
        """Stop every server still running, newest first."""
        self.stop(*self.started)

    def uvicorn_app(self, name: str, factory: str, env: Mapping[str, str]) -> Server:
        """A benchmark app (``module:create_app``) under uvicorn with its defaults."""
        port = free_port()
        argv = [PYTHON, "-m", "uvicorn", "--factory", factory, "--port", str(port),
                "--log-level", "warning", "--no-access-log"]  # fmt: skip
        server = self.start(name, argv, clean_env(**env), port)
        server.wait_http()
        return server

    def mongo(self, name: str) -> Server:
        """An nx-27017 server with its data under the work directory."""
        port = free_port()
        data = self.work_dir / name
        data.mkdir(parents=True, exist_ok=True)
        argv = [PYTHON, "-c", NX_27017, "--data-dir", str(data), "--host", "127.0.0.1",
                "-p", str(port), "--pid-file", str(data / "nx-27017.pid"),
                "--log-file", str(data / "nx-27017.log")]  # fmt: skip
        server = self.start(name, argv, clean_env(), port)
        _wait_mongo(server)
        return server

    def integra(self, name: str, args: Sequence[str], env: Mapping[str, str]) -> Server:
        """``integra <args>`` on a free port, once it answers ``/healthz``."""
        port = free_port()
        server = self.start(name, [INTEGRA, *args], {**env, "INTEGRA_PORT": str(port)}, port)
        server.wait_http("/healthz")
        return server


def mongo_uri(server: Server) -> str:
    """The connection string of an nx-27017 server."""
    return f"mongodb://127.0.0.1:{server.port}/?directConnection=true"


def _wait_mongo(server: Server, timeout: float = 60) -> None:
    from pymongo import MongoClient
    from pymongo.errors import PyMongoError

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"{server.name} exited: {server.log_tail()}")
        client: MongoClient[dict[str, object]] = MongoClient(
            mongo_uri(server), serverSelectionTimeoutMS=300, connectTimeoutMS=300
        )
        try:
            client.admin.command("ping")
            return
        except PyMongoError:
            time.sleep(0.2)
        finally:
            client.close()
    raise RuntimeError(f"{server.name} did not answer ping in {timeout} s")
