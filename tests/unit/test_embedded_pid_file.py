"""Stale PID files of the embedded nx-27017: removed unless a live nx-27017 serves the same
data directory (it refused to start while the PID in its file existed, zombie or reused)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.runtime.embedded import EmbeddedMongo, remove_stale_pid_file, serves


def _pid_file(directory: Path, content: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "nx-27017.pid"
    path.write_text(content)
    return path


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedMongo]:
    """A real nx-27017 serving its own data directory."""
    with EmbeddedMongo(tmp_path_factory.mktemp("served") / "db") as running:
        yield running


def test_no_pid_file_is_nothing_to_do(tmp_path: Path) -> None:
    remove_stale_pid_file(tmp_path / "nx-27017.pid", tmp_path)


@pytest.mark.parametrize("content", ["", "not a pid", "-1", "99999999"])
def test_a_pid_file_without_a_live_pid_is_removed(tmp_path: Path, content: str) -> None:
    path = _pid_file(tmp_path, content)
    remove_stale_pid_file(path, tmp_path)
    assert not path.exists()


def test_the_pid_of_an_ended_process_is_stale(tmp_path: Path) -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    path = _pid_file(tmp_path, str(child.pid))
    remove_stale_pid_file(path, tmp_path)
    assert not path.exists()


def test_the_pid_of_a_zombie_is_stale(tmp_path: Path) -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        deadline = time.monotonic() + 10
        stat = Path(f"/proc/{child.pid}/stat")
        while stat.read_text().rsplit(")", 1)[1].split()[0] != "Z":
            assert time.monotonic() < deadline, "the child did not end"
            time.sleep(0.05)
        assert not serves(child.pid, tmp_path)
        path = _pid_file(tmp_path, str(child.pid))
        remove_stale_pid_file(path, tmp_path)
        assert not path.exists()
    finally:
        child.wait()


def test_the_pid_of_another_program_is_stale(tmp_path: Path) -> None:
    """A reused PID: here this test process, alive but no nx-27017."""
    assert not serves(os.getpid(), tmp_path)
    path = _pid_file(tmp_path, str(os.getpid()))
    remove_stale_pid_file(path, tmp_path)
    assert not path.exists()


def test_an_nx_27017_of_another_data_directory_is_stale(
    tmp_path: Path, server: EmbeddedMongo
) -> None:
    assert server.pid is not None
    assert not serves(server.pid, tmp_path)
    path = _pid_file(tmp_path, str(server.pid))
    remove_stale_pid_file(path, tmp_path)
    assert not path.exists()


def test_the_nx_27017_serving_the_data_directory_is_kept(server: EmbeddedMongo) -> None:
    assert server.pid is not None
    assert server.pid_file.read_text().strip() == str(server.pid)
    assert serves(server.pid, server.data_dir)
    with pytest.raises(RuntimeError, match="already serves"):
        remove_stale_pid_file(server.pid_file, server.data_dir)
    assert server.pid_file.exists()


def test_start_over_a_stale_pid_file(tmp_path: Path) -> None:
    """What failed with "nx-27017 exited with 1": a PID file naming a live non-nx process."""
    _pid_file(tmp_path / "db", str(os.getpid()))
    with EmbeddedMongo(tmp_path / "db") as started:
        assert started.pid_file.read_text().strip() == str(started.pid)
