"""The database servers the suite runs against: nx-27017 (the embedded default) and SecantusDB.

The store tests and the e2e tests of storage behaviour run on both (tests/conftest.py), so
code that works only because of one server's quirks fails. SecantusDB (PyPI ``secantusdb``)
is a MongoDB-compatible server over WiredTiger that advertises a single-node replica set
(``secantus``): the tests reach it through a replica-set URI, a topology nx-27017 (a
standalone) does not exercise.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import Protocol

from services.runtime.embedded import EmbeddedMongo, answers_ping, free_port, terminate

NX_27017 = "nx-27017"
SECANTUSDB = "secantusdb"
SERVERS = (NX_27017, SECANTUSDB)
"""The servers of the suite, the embedded default first."""

_SECANTUS_LAUNCH = "from secantus.cli import main; main()"
_SECANTUS_REPLICA_SET = "secantus"


class DatabaseServer(Protocol):
    """A started database server: its URI, and how to stop it."""

    @property
    def uri(self) -> str: ...

    def stop(self) -> None: ...


class SecantusDB:
    """A ``secantusd-py`` child process with its WiredTiger home in ``data_dir``, on loopback."""

    def __init__(self, data_dir: Path, port: int | None = None, host: str = "127.0.0.1") -> None:
        self.data_dir = data_dir
        self.host = host
        self.port = port or free_port(host)
        self._process: subprocess.Popen[bytes] | None = None
        self._log_file = data_dir / "secantusdb.log"

    @property
    def uri(self) -> str:
        """The connection string of the running server: its single-node replica set."""
        return f"mongodb://{self.host}:{self.port}/?replicaSet={_SECANTUS_REPLICA_SET}"

    def start(self, timeout: float = 60.0) -> SecantusDB:
        """Start the server and wait until it answers ``ping``; raise if it does not."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        # An explicit (empty) configuration: no secantusd.toml of the machine is picked up.
        config = self.data_dir / "secantusd.toml"
        config.write_text("")
        command = [
            sys.executable, "-c", _SECANTUS_LAUNCH,
            "--config", str(config),
            "--host", self.host, "--port", str(self.port),
            "--storage-path", str(self.data_dir / "wiredtiger"),
            "--cache-size", "1G",  # at 256M a full suite once left WiredTiger spinning in an insert
            "--log-level", "WARNING",
        ]  # fmt: skip
        with self._log_file.open("ab") as log:
            self._process = subprocess.Popen(
                command, cwd=self.data_dir, stdin=subprocess.DEVNULL, stdout=log, stderr=log
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(
                    f"SecantusDB exited with {self._process.returncode}; see {self._log_file}"
                )
            if answers_ping(self.uri):
                return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"SecantusDB did not answer ping within {timeout} s")

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the server (SIGTERM, then SIGKILL after ``timeout``)."""
        process, self._process = self._process, None
        terminate(process, timeout)

    def __enter__(self) -> SecantusDB:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def start_server(name: str, data_dir: Path) -> DatabaseServer:
    """Start the server called ``name`` (one of :data:`SERVERS`) with its data in ``data_dir``."""
    if name == NX_27017:
        return EmbeddedMongo(data_dir).start()
    if name == SECANTUSDB:
        return SecantusDB(data_dir).start()
    raise ValueError(f"unknown test database server {name!r}; known: {', '.join(SERVERS)}")


class ServerPool:
    """The session's servers: each started on first use, once, and all stopped at the end."""

    def __init__(self, data_root: Path) -> None:
        self.data_root = data_root
        self._running: dict[str, DatabaseServer] = {}

    def uri(self, name: str) -> str:
        """The URI of server ``name``, started now if it is not running yet."""
        if name not in self._running:
            self._running[name] = start_server(name, self.data_root / name)
        return self._running[name].uri

    def stop(self) -> None:
        """Stop every server started."""
        running, self._running = self._running, {}
        for server in running.values():
            server.stop()
