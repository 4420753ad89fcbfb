"""The embedded default database: an ``nx-27017`` server on a free loopback port.

``integra up`` without ``MONGODB_URI`` starts one with its data in the data directory, waits
until it answers ``ping`` and stops it on exit. The test suite uses the same class.
"""

from __future__ import annotations

import logging
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

from pymongo import MongoClient
from pymongo.errors import PyMongoError

log = logging.getLogger("integra.embedded")

_LAUNCH = "from nx_27017.nx_27017 import main; main()"


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free on ``host`` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


class EmbeddedMongo:
    """An ``nx-27017`` child process serving the databases of ``data_dir`` on loopback."""

    def __init__(self, data_dir: Path, port: int | None = None, host: str = "127.0.0.1") -> None:
        self.data_dir = data_dir
        self.host = host
        self.port = port or free_port(host)
        self._process: subprocess.Popen[bytes] | None = None
        self._log_file: Path = data_dir / "nx-27017.log"

    @property
    def uri(self) -> str:
        """The connection string of the running server."""
        return f"mongodb://{self.host}:{self.port}/?directConnection=true"

    def start(self, timeout: float = 30.0) -> EmbeddedMongo:
        """Start the server and wait until it answers ``ping``; raise if it does not."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        command = [
            sys.executable, "-c", _LAUNCH,
            "--data-dir", str(self.data_dir), "--host", self.host, "-p", str(self.port),
            # Its own PID and log files: the defaults are global and allow one server only.
            "--pid-file", str(self.data_dir / "nx-27017.pid"),
            "--log-file", str(self._log_file),
        ]  # fmt: skip
        self._process = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(
                    f"nx-27017 exited with {self._process.returncode}; see {self._log_file}"
                )
            if self._answers_ping():
                log.info("embedded nx-27017 on %s, data in %s", self.uri, self.data_dir)
                return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"nx-27017 did not answer ping within {timeout} s")

    def _answers_ping(self) -> bool:
        client: MongoClient[dict[str, object]] = MongoClient(
            self.uri, serverSelectionTimeoutMS=300, connectTimeoutMS=300
        )
        try:
            client.admin.command("ping")
        except PyMongoError:
            return False
        finally:
            client.close()
        return True

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the server (SIGTERM, then SIGKILL after ``timeout``)."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def kill(self) -> None:
        """Kill the server at once, as a crash would (for tests of durability)."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.kill()
            process.wait()

    def __enter__(self) -> EmbeddedMongo:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
