"""The data every target serves: one shop with its score, as the one-shop query answers it.

The limit and peer apps read it from the JSON file named by ``BENCH_SHOP_FILE`` (written by
the benchmark from Integra's own answer), so all three serve byte-for-byte the same shape.
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


def load_shop() -> dict[str, Any]:
    """The ``shop`` object of the one-shop answer (``{"name", "score": {...}}``)."""
    shop: dict[str, Any] = json.loads(Path(os.environ[SHOP_FILE_VARIABLE]).read_text())
    return shop
