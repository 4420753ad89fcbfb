"""The data the limit and the peer serve, as Integra answered it.

The one-shop answer is in the JSON file named by ``BENCH_SHOP_FILE`` and the list of 50 in the
one named by ``BENCH_LIST_FILE`` (both written by the benchmark from Integra's own answers),
so the limit, the peer and Integra serve the same data.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

ONE_SHOP_QUERY = (
    "query($id: ID!) { shop(id: $id) { name score { sh band criteria { criterion value band } } } }"
)
SHOP_FILE_VARIABLE = "BENCH_SHOP_FILE"
LIST_FILE_VARIABLE = "BENCH_LIST_FILE"


def _load(variable: str) -> dict[str, Any]:
    answer: dict[str, Any] = json.loads(Path(os.environ[variable]).read_text())
    return answer


def load_shop() -> dict[str, Any]:
    """The ``shop`` object of the one-shop answer (``{"name", "score": {...}}``)."""
    return _load(SHOP_FILE_VARIABLE)


def load_list() -> dict[str, Any]:
    """The ``shops`` object of the list answer (``{"totalCount", "items": [...]}``)."""
    return _load(LIST_FILE_VARIABLE)
