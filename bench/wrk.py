"""Closed-loop load with ``wrk``: a warm-up, then a fixed duration at N connections."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

LUA = Path(__file__).with_name("lua") / "post.lua"
INSTALL_HINT = "wrk is missing: install it with `sudo apt-get install -y wrk` (Debian/Ubuntu)"


@dataclass(frozen=True)
class LoadResult:
    """What one measured run gave."""

    requests: int
    seconds: float
    errors: int
    p50_ms: float
    p99_ms: float

    @property
    def rate(self) -> float:
        """Completed requests per second."""
        return self.requests / self.seconds if self.seconds else 0.0


def require_wrk() -> str:
    """The path of ``wrk``, or exit with how to install it."""
    path = shutil.which("wrk")
    if path is None:
        raise SystemExit(INSTALL_HINT)
    return path


def run_wrk(
    url: str,
    body: bytes,
    headers: dict[str, str],
    connections: int,
    seconds: float,
    threads: int = 2,
) -> LoadResult:
    """POST ``body`` to ``url`` for ``seconds`` with ``connections`` (wrk with post.lua)."""
    with tempfile.NamedTemporaryFile("wb", suffix=".json", delete=False) as file:
        file.write(body)
    auth = headers.get("Authorization", "")
    argv = [require_wrk(), "-t", str(min(threads, connections)), "-c", str(connections),
            "-d", f"{max(1, round(seconds))}s", "--timeout", "10s", "-s", str(LUA),
            url, "--", file.name, auth]  # fmt: skip
    try:
        done = subprocess.run(argv, capture_output=True, text=True, check=True)  # noqa: S603
    finally:
        Path(file.name).unlink(missing_ok=True)
    line = next(ln for ln in done.stdout.splitlines() if ln.startswith("BENCH "))
    data = json.loads(line.removeprefix("BENCH "))
    return LoadResult(
        requests=data["requests"],
        seconds=data["duration_us"] / 1e6,
        errors=data["socket_errors"] + data["status_errors"] + data["graphql_errors"],
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
    )
