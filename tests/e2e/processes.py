"""Real processes for end-to-end tests: the ``integra`` command, started and stopped."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import httpx

from services.runtime.embedded import free_port
from tests.conftest import TEST_SERVICE_KEY

INTEGRA = str(Path(sys.executable).with_name("integra"))


def clean_env(**overrides: str) -> dict[str, str]:
    """The environment of a child: no inherited Integra or MongoDB settings, then overrides."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("INTEGRA_") and k != "MONGODB_URI"
    }
    env["INTEGRA_SERVICE_TOKEN_KEY"] = TEST_SERVICE_KEY
    env.update(overrides)
    return env


def split_env(
    mongo_uri: str, ports: Mapping[str, int], prefix: str, **overrides: str
) -> dict[str, str]:
    """The environment of a split deployment (each component its own process over one
    database): the services' URLs from ``ports``, databases named ``<prefix><gateway port>``."""
    return clean_env(
        MONGODB_URI=mongo_uri,
        INTEGRA_DB_PREFIX=f"{prefix}{ports['gateway']}",
        INTEGRA_SCORING_URL=f"http://127.0.0.1:{ports['scoring']}",
        INTEGRA_RISK_URL=f"http://127.0.0.1:{ports['risk']}",
        INTEGRA_KPI_URL=f"http://127.0.0.1:{ports['kpi']}",
        **overrides,
    )


class IntegraProcess:
    """``integra <args>`` as a child process, with its output kept in a log file."""

    def __init__(self, args: list[str], env: Mapping[str, str], log: Path) -> None:
        self.log = log
        self._out = log.open("ab")
        self.process = subprocess.Popen(
            [INTEGRA, *args], env=dict(env), stdout=self._out, stderr=subprocess.STDOUT
        )

    def wait_ready(self, base_url: str, timeout: float = 60) -> None:
        """Wait until ``/readyz`` answers 200; fail with the log if the process dies first."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"process exited: {self.log.read_text()}")
            try:
                if httpx.get(f"{base_url}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"not ready in {timeout} s: {self.log.read_text()}")

    def interrupt(self, timeout: float = 30) -> int:
        """Ctrl-C: SIGINT, then wait for a clean exit."""
        self.process.send_signal(signal.SIGINT)
        try:
            return self.process.wait(timeout)
        finally:
            self._out.close()

    def kill(self) -> None:
        """Stop at once (cleanup)."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self._out.close()


@contextlib.contextmanager
def integra_up(workdir: Path, **env: str) -> Iterator[tuple[str, Path]]:
    """``integra up`` on a free port with its own data directory under ``workdir``, ready:
    (base URL, data dir). Interrupted (Ctrl-C) at the end, killed if it does not stop."""
    port = free_port()
    data_dir = workdir / "data"
    process = IntegraProcess(
        ["up"],
        clean_env(INTEGRA_PORT=str(port), INTEGRA_DATA_DIR=str(data_dir), **env),
        workdir / "integra.log",
    )
    try:
        base = f"http://127.0.0.1:{port}"
        process.wait_ready(base)
        yield base, data_dir
        process.interrupt()
    finally:
        process.kill()


def admin_key(data_dir: Path) -> str:
    """The local ADMIN key that ``integra up`` (or ``integra serve gateway`` with
    ``INTEGRA_DATA_DIR``) wrote to ``data_dir``."""
    return (data_dir / "admin-api-key").read_text(encoding="utf-8").strip()


def admin_headers(data_dir: Path) -> dict[str, str]:
    """The ``Authorization`` header with that key."""
    return {"Authorization": f"Bearer {admin_key(data_dir)}"}


def graphql(
    base_url: str,
    query: str,
    variables: dict[str, object] | None = None,
    headers: Mapping[str, str] | None = None,
) -> object:
    """POST one GraphQL operation; the ``data`` of an answer that must have no errors."""
    answer = httpx.post(
        f"{base_url}/graphql",
        json={"query": query, "variables": variables},
        headers=dict(headers or {}),
        timeout=30,
    ).json()
    assert not answer.get("errors"), answer
    return answer["data"]
