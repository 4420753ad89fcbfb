"""``.pre-commit-config.yaml`` runs the project's own tools, offline: local hooks whose entry
is a program of the venv ``make`` creates."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
#: The venv of the tests stands for the ``.venv`` that ``make`` creates.
VENV_BIN = Path(sys.executable).parent


def _hooks() -> list[dict[str, Any]]:
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text(encoding="utf-8"))
    assert [repo["repo"] for repo in config["repos"]] == ["local"]
    hooks: list[dict[str, Any]] = config["repos"][0]["hooks"]
    return hooks


def test_hooks_are_the_lint_of_make_lint() -> None:
    entries = [hook["entry"] for hook in _hooks()]
    assert entries == [".venv/bin/ruff check", ".venv/bin/ruff format --check", ".venv/bin/mypy ."]


def test_every_hook_is_a_system_program_of_the_venv() -> None:
    for hook in _hooks():
        assert hook["language"] == "system", hook["id"]
        program = shlex.split(hook["entry"])[0]
        assert program.startswith(".venv/bin/"), hook["id"]
        assert (VENV_BIN / Path(program).name).is_file(), f"{program} is not installed by make"
