"""Peak resident memory and CPU time of a target's processes, read from ``/proc`` while it is
loaded. CPU time per request is robust on a shared machine, where throughput is not."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Sequence
from pathlib import Path

from bench.servers import Server


def _rss_kb(pid: int) -> int:
    with contextlib.suppress(OSError, ValueError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (``/proc/<pid>/stat`` fields 14 and 15)."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / _TICKS
    return 0.0


def is_database(pid: int) -> bool:
    """Whether a process is an nx-27017 server."""
    with contextlib.suppress(OSError):
        return b"nx_27017" in Path(f"/proc/{pid}/cmdline").read_bytes()
    return False


class PeakRss:
    """Samples the summed RSS of the servers' process groups; database processes apart.

    Use as a context manager around the measured phase; ``app_mb`` and ``db_mb`` are the
    largest sums seen (sampled every ``interval`` seconds).
    """

    def __init__(self, servers: Sequence[Server], interval: float = 0.2) -> None:
        self.servers = servers
        self.interval = interval
        self.app_kb = 0
        self.db_kb = 0
        self.app_cpu = 0.0
        self.db_cpu = 0.0
        self._cpu_start: dict[int, float] = {}
        self._cpu_last: dict[int, float] = {}
        self._database: set[int] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def sample(self) -> None:
        """Take one sample now."""
        app = db = 0
        for server in self.servers:
            for pid in server.pids():
                cpu = cpu_seconds(pid)
                self._cpu_start.setdefault(pid, cpu)
                self._cpu_last[pid] = cpu
                if is_database(pid):
                    self._database.add(pid)
                    db += _rss_kb(pid)
                else:
                    app += _rss_kb(pid)
        self.app_kb = max(self.app_kb, app)
        self.db_kb = max(self.db_kb, db)
        used = {pid: self._cpu_last[pid] - start for pid, start in self._cpu_start.items()}
        self.db_cpu = sum(v for pid, v in used.items() if pid in self._database)
        self.app_cpu = sum(v for pid, v in used.items() if pid not in self._database)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    @property
    def app_mb(self) -> float:
        """Peak of the application processes, in MiB."""
        return self.app_kb / 1024

    @property
    def db_mb(self) -> float:
        """Peak of the database processes (nx-27017), in MiB."""
        return self.db_kb / 1024

    def __enter__(self) -> PeakRss:
        self.sample()
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()
