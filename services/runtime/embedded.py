"""The embedded default database: an ``nx-27017`` server on a free loopback port.

``integra up`` without ``MONGODB_URI`` starts one with its data in the data directory, waits
until it answers ``ping``, supervises it (restarts it on the same port and data when it exits,
with capped backoff) and stops it on exit. The test suite uses the same class.
"""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import TracebackType

from pymongo import MongoClient
from pymongo.errors import PyMongoError

from services.runtime.backoff import backoff_delay
from services.runtime.metrics import EMBEDDED_DATABASE_RESTARTS

log = logging.getLogger("integra.embedded")

_PARENT_ENV = "INTEGRA_EMBEDDED_PARENT"
# The server ends itself (SIGTERM: it removes its PID file) once its parent is gone, so a
# killed ``integra up`` does not leave it running, orphaned, with the data directory locked.
_LAUNCH = f"""
import os, signal, threading, time
parent = int(os.environ.pop("{_PARENT_ENV}", os.getppid()))
def orphaned():
    while os.getppid() == parent:
        time.sleep(0.5)
    os.kill(os.getpid(), signal.SIGTERM)
threading.Thread(target=orphaned, daemon=True).start()
from nx_27017.nx_27017 import main
main()
"""

RESTART_BASE_SECONDS = 0.25
"""Wait before the first restart; doubled for each restart in a row."""
RESTART_CAP_SECONDS = 30.0
"""Longest wait between restarts (a server that keeps exiting is retried this often)."""
STABLE_SECONDS = 60.0
"""A server that served this long before exiting restarts the backoff from the start."""


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free on ``host`` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def serves(pid: int, data_dir: Path) -> bool:
    """Whether ``pid`` is a live (not zombie) nx-27017 serving ``data_dir``.

    Read from ``/proc``; where there is none, any live process counts (the cautious answer).
    """
    proc = Path("/proc", str(pid))
    if not Path("/proc/self").is_dir():
        try:
            os.kill(pid, 0)
        except OSError:
            return False
        return True
    try:
        state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
        args = (proc / "cmdline").read_bytes().decode(errors="replace").split("\0")
    except (OSError, IndexError):
        return False  # gone
    if state in ("Z", "X"):
        return False
    launched = any("nx_27017" in arg or "nx-27017" in arg for arg in args)
    served = [args[i + 1] for i, arg in enumerate(args[:-1]) if arg == "--data-dir"]
    return launched and any(Path(d).resolve() == data_dir.resolve() for d in served)


def remove_stale_pid_file(pid_file: Path, data_dir: Path) -> None:
    """Delete ``pid_file`` unless its PID is a live nx-27017 serving ``data_dir``.

    nx-27017 refuses to start while the PID in its PID file exists, also when that is a zombie
    or a reused PID; a real server of the same data is an error (two would share its files).
    """
    try:
        text = pid_file.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return
    pid = int(text) if text.isdigit() else None
    if pid is not None and serves(pid, data_dir):
        raise RuntimeError(
            f"nx-27017 (PID {pid}) already serves {data_dir}; stop it or remove {pid_file}"
        )
    log.warning("removing stale %s (PID %s is no nx-27017 serving %s)", pid_file, text, data_dir)
    pid_file.unlink(missing_ok=True)


def answers_ping(uri: str) -> bool:
    """Whether the MongoDB server at ``uri`` answers ``ping`` within a few hundred ms."""
    client: MongoClient[dict[str, object]] = MongoClient(
        uri, serverSelectionTimeoutMS=300, connectTimeoutMS=300
    )
    try:
        client.admin.command("ping")
    except PyMongoError:
        return False
    finally:
        client.close()
    return True


def terminate(process: subprocess.Popen[bytes] | None, timeout: float) -> None:
    """SIGTERM, then SIGKILL after ``timeout``; reaps the process."""
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class EmbeddedMongo:
    """An ``nx-27017`` child process serving the databases of ``data_dir`` on loopback."""

    def __init__(self, data_dir: Path, port: int | None = None, host: str = "127.0.0.1") -> None:
        self.data_dir = data_dir
        self.host = host
        self.port = port or free_port(host)
        self._process: subprocess.Popen[bytes] | None = None
        self._log_file: Path = data_dir / "nx-27017.log"
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._supervisor: threading.Thread | None = None

    @property
    def uri(self) -> str:
        """The connection string of the running server."""
        return f"mongodb://{self.host}:{self.port}/?directConnection=true"

    @property
    def pid_file(self) -> Path:
        """Where the server writes its PID (and removes it on a clean exit)."""
        return self.data_dir / "nx-27017.pid"

    @property
    def pid(self) -> int | None:
        """The PID of the current server process, if one was started."""
        process = self._process
        return None if process is None else process.pid

    def start(self, timeout: float = 30.0) -> EmbeddedMongo:
        """Start the server and wait until it answers ``ping``; raise if it does not."""
        self._stopping.clear()
        self._wait_ready(self._launch(), timeout)
        return self

    def _launch(self) -> subprocess.Popen[bytes]:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        remove_stale_pid_file(self.pid_file, self.data_dir)
        command = [
            sys.executable, "-c", _LAUNCH,
            "--data-dir", str(self.data_dir.resolve()), "--host", self.host, "-p", str(self.port),
            # Its own PID and log files: the defaults are global and allow one server only.
            "--pid-file", str(self.pid_file),
            "--log-file", str(self._log_file),
        ]  # fmt: skip
        env = {**os.environ, _PARENT_ENV: str(os.getpid())}
        with self._lock:  # no new server once stop() has begun
            if self._stopping.is_set():
                raise RuntimeError("nx-27017 is being stopped")
            self._process = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
                command,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                stdin=subprocess.DEVNULL,
            )
            return self._process

    def _wait_ready(self, process: subprocess.Popen[bytes], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not self._stopping.is_set():
            if process.poll() is not None:
                raise RuntimeError(
                    f"nx-27017 exited with {process.returncode}; see {self._log_file}"
                )
            if answers_ping(self.uri):
                log.info("embedded nx-27017 on %s, data in %s", self.uri, self.data_dir)
                return
            time.sleep(0.1)
        if self._stopping.is_set():
            raise RuntimeError("nx-27017 was stopped while starting")
        terminate(process, 10.0)
        raise RuntimeError(f"nx-27017 did not answer ping within {timeout} s")

    def supervise(self, poll_interval: float = 0.2) -> None:
        """Restart the server whenever it exits, until :meth:`stop`: same data, same port, so
        the clients reconnect by themselves. Each restart is logged and counted."""
        if self._supervisor is None:
            self._supervisor = threading.Thread(
                target=self._watch, args=(poll_interval,), name="nx-27017-supervisor", daemon=True
            )
            self._supervisor.start()

    def _watch(self, poll_interval: float) -> None:
        restarts = 0  # in a row
        ready_since: float | None = time.monotonic()
        while not self._stopping.wait(poll_interval):
            process = self._process
            code = None if process is None else process.poll()
            if process is not None and code is None:
                continue
            if ready_since is not None and time.monotonic() - ready_since >= STABLE_SECONDS:
                restarts = 0
            restarts += 1
            ready_since = None
            delay = backoff_delay(restarts, RESTART_BASE_SECONDS, RESTART_CAP_SECONDS, 0.0, 0.0)
            log.warning(
                "embedded nx-27017 exited with %s; restarting it in %.2f s on %s "
                "(restart %d in a row)",
                code,
                delay,
                self.uri,
                restarts,
            )
            if self._stopping.wait(delay):
                return
            EMBEDDED_DATABASE_RESTARTS.inc()
            try:
                self._wait_ready(self._launch(), 30.0)
            except (RuntimeError, OSError) as error:
                log.warning("embedded nx-27017 did not restart: %s", error)
                continue
            ready_since = time.monotonic()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop supervising first (a deliberate stop is no crash), then the server (SIGTERM,
        then SIGKILL after ``timeout``)."""
        with self._lock:
            self._stopping.set()
        supervisor, self._supervisor = self._supervisor, None
        if supervisor is not None:
            supervisor.join()
        with self._lock:
            process, self._process = self._process, None
        terminate(process, timeout)

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
