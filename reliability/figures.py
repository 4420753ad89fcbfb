"""Figures of reliability runs, appended as JSON lines to the file ``INTEGRA_RELIABILITY_FIGURES``
names (when set), so ``make reliability`` can write them into ``docs/reliability.md``."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

ENV = "INTEGRA_RELIABILITY_FIGURES"


def record(kind: str, data: dict[str, Any]) -> None:
    """Append one figure record (``kind``: fuzz, hostile, soak) if a figures file is set."""
    target = os.environ.get(ENV)
    if not target:
        return
    with Path(target).open("a", encoding="utf-8") as out:
        out.write(json.dumps({"kind": kind, **data}) + "\n")


def read(path: Path) -> list[dict[str, Any]]:
    """Every record of a figures file (none when it does not exist)."""
    if not path.exists():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]
