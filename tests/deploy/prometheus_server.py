"""A real Prometheus server (Debian's ``prometheus`` binary) for end-to-end tests.

The scrape configuration is derived from the project's ``deploy/prometheus/prometheus.yml``:
same jobs and rule files, every Integra job's targets replaced by the process under test, and
short scrape and evaluation intervals so a test sees results within seconds.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
import yaml

from services.runtime.embedded import free_port

ROOT = Path(__file__).resolve().parents[2]
PROJECT_CONFIG = ROOT / "deploy" / "prometheus" / "prometheus.yml"
INSTALL_HINT = (
    "the `prometheus` server binary is not on PATH: run deploy/install-promtool.sh (`make "
    "tools`), which installs Debian's `prometheus` package (/usr/bin/prometheus and promtool)"
)

T = TypeVar("T")


def prometheus_binary() -> str:
    """The ``prometheus`` executable; the calling test fails (never skips) when it is missing."""
    path = shutil.which("prometheus")
    if path is None:
        pytest.fail(INSTALL_HINT, pytrace=False)
    return path


def scrape_config(target: str, interval: str = "1s") -> dict[str, Any]:
    """The project's Prometheus configuration, pointed at ``target`` (``host:port``).

    Every job named ``integra`` or ``integra-…`` scrapes only ``target``; rule files become
    absolute paths (the generated file lives elsewhere); the global scrape and evaluation
    intervals become ``interval``. Rule groups with their own interval keep it.
    """
    config: dict[str, Any] = yaml.safe_load(PROJECT_CONFIG.read_text())
    config["global"] = {
        **config.get("global", {}),
        "scrape_interval": interval,
        "evaluation_interval": interval,
    }
    config["rule_files"] = [
        str(path)
        for pattern in config.get("rule_files", [])
        for path in sorted(PROJECT_CONFIG.parent.glob(pattern))
    ]
    jobs = [job for job in config["scrape_configs"] if job["job_name"].startswith("integra")]
    assert jobs, f"{PROJECT_CONFIG} has no scrape job named integra or integra-*"
    for job in jobs:
        static = job.get("static_configs", [])
        labels = {k: v for c in static for k, v in c.get("labels", {}).items()}
        job["static_configs"] = [{"targets": [target], "labels": labels}]
    config["scrape_configs"] = jobs
    return config


def eventually(check: Callable[[], T | None], what: str, timeout: float = 30.0) -> T:
    """Poll ``check`` until it answers something other than ``None``; fail naming ``what``."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result is not None:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.25)


class PrometheusServer:
    """``prometheus`` on a free loopback port with its own storage, as a child process."""

    def __init__(self, config: dict[str, Any], workdir: Path) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self.config_path = workdir / "prometheus.yml"
        self.config_path.write_text(yaml.safe_dump(config, sort_keys=False))
        self.log = workdir / "prometheus.log"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._out = self.log.open("ab")
        self.process = subprocess.Popen(
            [
                prometheus_binary(),
                f"--config.file={self.config_path}",
                f"--storage.tsdb.path={workdir / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--log.level=warn",
            ],
            stdout=self._out,
            stderr=subprocess.STDOUT,
        )

    def wait_ready(self, timeout: float = 30.0) -> None:
        """Wait for ``/-/ready``; fail with the server's log if it exits first."""

        def ready() -> bool | None:
            if self.process.poll() is not None:
                raise AssertionError(f"prometheus exited: {self.log.read_text()}")
            try:
                return httpx.get(f"{self.url}/-/ready", timeout=2).status_code == 200 or None
            except httpx.HTTPError:
                return None

        eventually(ready, "prometheus to be ready", timeout)

    def query(self, promql: str) -> list[dict[str, Any]]:
        """The result vector of an instant query (``metric`` labels and ``value`` pairs)."""
        response = httpx.get(f"{self.url}/api/v1/query", params={"query": promql}, timeout=10)
        body = response.json()
        assert response.status_code == 200, body
        assert body["status"] == "success", body
        assert body["data"]["resultType"] == "vector", body
        result: list[dict[str, Any]] = body["data"]["result"]
        return result

    def values(self, promql: str, label: str) -> dict[str, float]:
        """An instant query's values by the value of ``label``."""
        return {
            sample["metric"].get(label, ""): float(sample["value"][1])
            for sample in self.query(promql)
        }

    def targets(self) -> list[dict[str, Any]]:
        """The active scrape targets (job, health, last error)."""
        response = httpx.get(f"{self.url}/api/v1/targets", timeout=10)
        active: list[dict[str, Any]] = response.json()["data"]["activeTargets"]
        return active

    def stop(self) -> None:
        """Terminate the server and wait for it."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._out.close()
