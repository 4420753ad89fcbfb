"""The ``integra`` command as an operator runs it: ``--version``, ``--host``/``--port``, plain
output of the one-shot commands and one-line errors instead of tracebacks.

Every child gets ``PYTHONPATH`` set to this checkout, so that the code under test is the one
run (the console script would otherwise import the editable install's copy).
"""

from __future__ import annotations

import importlib.metadata
import json
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from services.runtime.embedded import free_port
from tests.e2e.processes import INTEGRA, IntegraProcess, clean_env

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


def _env(**overrides: str) -> dict[str, str]:
    """A clean child environment that runs this checkout's code."""
    return clean_env(PYTHONPATH=str(ROOT), **overrides)


def _integra(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """``integra <args>`` to its end, its output kept."""
    return subprocess.run(
        [INTEGRA, *args], env=_env(**env), capture_output=True, text=True, timeout=60, check=False
    )


def _assert_one_line_failure(result: subprocess.CompletedProcess[str], expected: str) -> None:
    """Exit code 1, nothing on stdout, and exactly ``expected`` as the one line on stderr."""
    assert result.returncode == 1, result
    assert result.stdout == ""
    assert result.stderr.splitlines() == [expected], result.stderr


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """``integra up --port N`` with INTEGRA_PORT naming another port: (base URL, data dir)."""
    workdir = tmp_path_factory.mktemp("cli-up")
    port, ignored_port = free_port(), free_port()
    data_dir = workdir / "data"
    process = IntegraProcess(
        ["up", "--host", "127.0.0.1", "--port", str(port)],
        _env(INTEGRA_PORT=str(ignored_port), INTEGRA_DATA_DIR=str(data_dir)),
        workdir / "up.log",
    )
    try:
        base = f"http://127.0.0.1:{port}"
        process.wait_ready(base)
        yield base, data_dir
        assert process.interrupt() == 0
    finally:
        process.kill()


def test_version_prints_the_installed_version() -> None:
    result = _integra("--version")
    assert result.returncode == 0, result
    assert result.stdout == f"integra {importlib.metadata.version('integra')}\n"


def test_seed_against_a_closed_port_is_one_line_without_traceback() -> None:
    url = f"http://127.0.0.1:{free_port()}/graphql"
    result = _integra("seed", "--url", url)
    _assert_one_line_failure(result, f"integra seed: cannot reach {url} (connection refused)")


def test_an_invalid_setting_names_its_variable() -> None:
    result = _integra("seed", INTEGRA_PORT="eighty")
    _assert_one_line_failure(
        result,
        "integra seed: invalid setting INTEGRA_PORT: Input should be a valid integer, "
        "unable to parse string as an integer",
    )


def test_create_api_key_without_its_mongodb_is_one_line() -> None:
    result = _integra(
        "create-api-key",
        "--name",
        "ops",
        MONGODB_URI=f"mongodb://127.0.0.1:{free_port()}/?directConnection=true",
        INTEGRA_MONGO_TIMEOUT_MS="200",
    )
    _assert_one_line_failure(
        result,
        "integra create-api-key: cannot reach the MongoDB of MONGODB_URI within 200 ms "
        "(INTEGRA_MONGO_TIMEOUT_MS): ServerSelectionTimeoutError",
    )


_WITH_DEFAULT_SIGINT = (
    "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); "
    "os.execv(sys.argv[1], sys.argv[1:])"
)


def test_ctrl_c_during_seed_is_one_line_and_exit_130() -> None:
    """A server that accepts the connection and never answers: seed waits until Ctrl-C."""
    with socket.create_server(("127.0.0.1", 0)) as silent:
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/graphql"
        # Ctrl-C given back its default before the exec: a test run in the background (a CI
        # runner's, ``cmd &``) starts with SIGINT ignored, and a child inherits that.
        command = [INTEGRA, "seed", "--url", url, "--api-key", "ik_unused"]
        seed = subprocess.Popen(
            [sys.executable, "-c", _WITH_DEFAULT_SIGINT, *command],
            env=_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        silent.settimeout(30)
        connection, _ = silent.accept()  # seed's request is on its way: main() is running
        with connection:
            seed.send_signal(signal.SIGINT)
            stdout, stderr = seed.communicate(timeout=30)
    assert (seed.returncode, stdout) == (130, "")
    assert stderr.splitlines() == ["integra seed: interrupted"]


@pytest.mark.parametrize("port", ["0", "65536", "http"])
def test_a_port_outside_1_to_65535_is_a_usage_error(port: str) -> None:
    result = _integra("up", "--port", port)
    assert result.returncode == 2
    assert "integra up: error: argument --port:" in result.stderr.splitlines()[-1]


def test_up_listens_on_the_port_of_the_flag(stack: tuple[str, Path]) -> None:
    base, _ = stack
    assert httpx.get(f"{base}/healthz", timeout=5).status_code == 200


def test_seed_prints_plain_lines_for_a_person(stack: tuple[str, Path]) -> None:
    base, data_dir = stack
    result = _integra("seed", "--url", f"{base}/graphql", INTEGRA_DATA_DIR=str(data_dir))
    assert result.returncode == 0, result
    assert result.stdout == f"seeded 5 demo shops at {base}/graphql\n"
    progress = result.stderr.splitlines()
    assert progress, "seed says what it did"
    assert all(not line.startswith("{") for line in progress), "no JSON log lines"
    assert all(line.startswith(("created shop ", "assessed ")) for line in progress), progress


def test_seed_with_a_wrong_key_says_so(stack: tuple[str, Path]) -> None:
    base, _ = stack
    url = f"{base}/graphql"
    result = _integra("seed", "--url", url, "--api-key", "ik_not-a-key")
    [line] = result.stderr.splitlines()
    assert result.returncode == 1, result
    assert line.startswith(f"integra seed: {url} refused the request (HTTP 401 Unauthorized, ")
    assert "UNAUTHENTICATED" in line
    hint = "; pass a valid key with --api-key (default: INTEGRA_DATA_DIR/admin-api-key)"
    assert line.endswith(hint)


def test_seed_against_a_non_graphql_answer_is_one_line(stack: tuple[str, Path]) -> None:
    base, _ = stack
    url = f"{base}/healthz"  # answers GET only
    result = _integra("seed", "--url", url, "--api-key", "ik_unused")
    [line] = result.stderr.splitlines()
    assert result.returncode == 1, result
    assert line.startswith(f"integra seed: {url} refused the request (HTTP 405 ")


def test_the_server_keeps_json_logs(stack: tuple[str, Path]) -> None:
    _, data_dir = stack
    log = data_dir.parent / "up.log"
    started = [line for line in log.read_text().splitlines() if "GraphQL (GraphiQL)" in line]
    assert json.loads(started[0])["level"] == "info"


def test_serve_listens_on_the_port_of_the_flag(mongo_uri: str, tmp_path: Path) -> None:
    port, ignored_port = free_port(), free_port()
    scoring = IntegraProcess(
        ["serve", "scoring", "--port", str(port)],
        _env(
            MONGODB_URI=mongo_uri,
            INTEGRA_PORT=str(ignored_port),
            INTEGRA_DB_PREFIX=f"cli{port}",
        ),
        tmp_path / "scoring.log",
    )
    try:
        scoring.wait_ready(f"http://127.0.0.1:{port}")
        assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200
        assert scoring.interrupt() == 0
    finally:
        scoring.kill()
