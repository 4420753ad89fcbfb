"""Integra as separate real processes, each on a fixed port, so a test can kill and restart
one of them (fault injection), and the headers every GraphQL request of such tests sends."""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from services.runtime.embedded import free_port
from tests.conftest import TEST_JWT_SECRET, bearer, signed_jwt
from tests.e2e.processes import IntegraProcess, admin_headers, clean_env

COMPONENTS = ("scoring", "risk", "kpi", "gateway")


@dataclass
class Cluster:
    """``integra serve <component>`` processes sharing one database prefix and data dir."""

    logs: Path
    mongo_uri: str
    prefix: str
    env: Mapping[str, str] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=lambda: {c: free_port() for c in COMPONENTS})
    processes: dict[str, IntegraProcess] = field(default_factory=dict)

    @property
    def data_dir(self) -> Path:
        """The data directory every process is given (the admin key lives there)."""
        return self.logs / "data"

    @staticmethod
    def service_headers() -> dict[str, str]:
        """An ADMIN JWT every process of the cluster accepts (the services' REST APIs need a
        credential like the gateway)."""
        return bearer(signed_jwt("ADMIN", sub="cluster-test"))

    def url(self, component: str) -> str:
        """The base URL of a component."""
        return f"http://127.0.0.1:{self.ports[component]}"

    def start(self, component: str, wait: bool = True) -> None:
        """Start ``integra serve component`` on its port (the same one after a restart)."""
        env = clean_env(
            MONGODB_URI=self.mongo_uri,
            INTEGRA_DB_PREFIX=self.prefix,
            INTEGRA_DATA_DIR=str(self.data_dir),
            INTEGRA_PORT=str(self.ports[component]),
            INTEGRA_SCORING_URL=self.url("scoring"),
            INTEGRA_RISK_URL=self.url("risk"),
            INTEGRA_KPI_URL=self.url("kpi"),
            # One load client is one rate-limit client: the faults are the subject here.
            INTEGRA_RATE_LIMIT_PER_MINUTE="0",
            INTEGRA_JWT_SECRET=TEST_JWT_SECRET,
            **self.env,
        )
        self.processes[component] = IntegraProcess(
            ["serve", component], env, self.logs / f"{component}.log"
        )
        if wait:
            self.wait_serving(component)

    def wait_serving(self, component: str, timeout: float = 60) -> None:
        """Wait until the component answers ``/healthz`` (its dependencies may be down)."""
        process = self.processes[component]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.process.poll() is not None:
                raise AssertionError(f"{component} exited: {process.log.read_text()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url(component)}/healthz", timeout=2).status_code == 200:
                    return
            time.sleep(0.2)
        raise AssertionError(f"{component} not serving in {timeout} s: {process.log.read_text()}")

    def kill(self, component: str) -> None:
        """SIGKILL a component, as a crash would."""
        self.processes.pop(component).kill()

    def stop_all(self) -> None:
        """Kill every process still running (cleanup)."""
        for component in list(self.processes):
            self.kill(component)

    def headers(self) -> dict[str, str]:
        """Headers of a GraphQL request to the gateway."""
        return admin_headers(self.data_dir)


@contextlib.contextmanager
def cluster(
    logs: Path, mongo_uri: str, components: tuple[str, ...], **env: str
) -> Iterator[Cluster]:
    """Start ``components`` (in order) and kill them all at the end."""
    running = Cluster(logs, mongo_uri, f"f{free_port()}", env)
    try:
        for component in components:
            running.start(component)
        yield running
    finally:
        running.stop_all()


async def ready(client: httpx.AsyncClient, url: str) -> bool:
    """Whether ``url``'s ``/readyz`` answers 200 now."""
    try:
        return (await client.get(f"{url}/readyz", timeout=2)).status_code == 200
    except httpx.HTTPError:
        return False


def readiness(
    client: httpx.AsyncClient, urls: list[str], expected: bool
) -> Callable[[], Awaitable[bool]]:
    """A predicate: every one of ``urls`` is ready (``expected``) or none is (not ``expected``)."""

    async def check() -> bool:
        states = [await ready(client, url) for url in urls]
        return all(states) if expected else not any(states)

    return check


async def eventually(
    check: Callable[[], Awaitable[bool]], within: float, what: str, interval: float = 0.2
) -> None:
    """Poll the async predicate ``check`` until it is true; fail naming ``what`` after
    ``within`` seconds (a deadline for recovery, not a performance assertion)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if await check():
            return
        await asyncio.sleep(interval)
    raise AssertionError(f"not {what} within {within} s")


def metric(text: str, name: str, labels: str = "") -> float:
    """The value of one sample of a Prometheus text exposition (0 if absent)."""
    pattern = re.escape(name) + (r"\{" + re.escape(labels) + r"\}" if labels else "") + r" (\S+)"
    match = re.search(rf"^{pattern}$", text, re.MULTILINE)
    return float(match.group(1)) if match else 0.0
