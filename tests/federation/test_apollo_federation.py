"""A partner federates Integra with real Apollo tooling (npm packages in this folder).

``integra up`` runs as a real process; ``router.mjs`` fetches its SDL through
``_service { sdl }``, composes it with the partner subgraph (``partner.mjs``, which extends
``Shop`` with ``partnerRating``) using ``@apollo/composition``, and serves the supergraph with
``@apollo/gateway`` on ``@apollo/server``. Everything runs on loopback. Without Node.js (or
without ``npm ci`` having run here) the test fails and says so: it never passes silently.
"""

from __future__ import annotations

import json
import os
import selectors
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.processes import admin_headers, admin_key, integra_up

pytestmark = pytest.mark.slow

HERE = Path(__file__).parent
CRITERIA = {"U": 90, "I": 90, "R": 90, "C": 90, "T": 90, "L": 90, "S": 90, "M": 90, "E": 0}


def _require_node() -> str:
    node = shutil.which("node")
    if node is None or shutil.which("npm") is None:
        pytest.fail(
            "Node.js and npm are missing, so the Apollo federation proof cannot run: "
            "install them (Debian: apt-get install nodejs npm) and run `make tools`."
        )
    if not (HERE / "node_modules" / "@apollo" / "gateway").is_dir():
        pytest.fail(
            "the Apollo packages are not installed: run `make tools` (npm ci in tests/federation)."
        )
    return node


@pytest.fixture
def integra(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """``integra up`` on a free port with its own data directory: (base URL, data dir)."""
    with integra_up(tmp_path) as running:
        yield running


@pytest.fixture
def router(integra: tuple[str, Path], tmp_path: Path) -> Iterator[str]:
    """The partner's Apollo router over Integra and the partner subgraph: its URL."""
    node = _require_node()
    base, data_dir = integra
    env = {
        **os.environ,
        "APOLLO_TELEMETRY_DISABLED": "1",
        "INTEGRA_GRAPHQL_URL": f"{base}/graphql",
        "INTEGRA_TOKEN": admin_key(data_dir),
    }
    errors = (tmp_path / "router.err").open("w")
    process = subprocess.Popen(
        [node, "router.mjs"], cwd=HERE, env=env, stdout=subprocess.PIPE, stderr=errors
    )
    try:
        ready = _ready_line(process, deadline=time.monotonic() + 60)
        if ready is None:
            errors.flush()
            pytest.fail(f"the router did not start: {(tmp_path / 'router.err').read_text()}")
        yield json.loads(ready)["router"]
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
        errors.close()


def _ready_line(process: subprocess.Popen[bytes], deadline: float) -> str | None:
    """The JSON after ``READY`` on the router's stdout; ``None`` if it exits or times out."""
    assert process.stdout is not None
    fd = process.stdout.fileno()
    buffer = b""
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        while time.monotonic() < deadline:
            if not selector.select(timeout=max(0.0, deadline - time.monotonic())):
                return None
            chunk = os.read(fd, 65536)
            if not chunk:
                return None
            buffer += chunk
            for line in buffer.decode(errors="replace").splitlines():
                if line.startswith("READY "):
                    return line.removeprefix("READY ")
    return None


def _ask(url: str, query: str, variables: dict[str, Any] | None = None) -> Any:
    answer = httpx.post(url, json={"query": query, "variables": variables}, timeout=30).json()
    assert not answer.get("errors"), answer
    return answer["data"]


def test_a_partner_router_composes_integra_and_queries_across_both(
    router: str, integra: tuple[str, Path]
) -> None:
    created = _ask(router, 'mutation { createShop(input: {name: "Federated"}) { id } }')
    shop_id = created["createShop"]["id"]
    _ask(router, 'mutation { createShop(input: {name: "Unrated"}) { id } }')
    _ask(
        router,
        "mutation($i: RecordAssessmentInput!) { recordAssessment(input: $i) { id } }",
        {"i": {"shopId": shop_id, "assessor": "partner", "criteria": CRITERIA}},
    )
    rated = _ask(
        router, "mutation($s: ID!) { rateShop(shopId: $s, stars: 4) { id } }", {"s": shop_id}
    )
    assert rated == {"rateShop": {"id": shop_id}}

    # Integra's root field, then the partner's field on Integra's entity.
    spanning = _ask(
        router,
        "query($id: ID!) { shop(id: $id) { name score { band } partnerRating } }",
        {"id": shop_id},
    )
    assert spanning == {
        "shop": {"name": "Federated", "score": {"band": "EXCELLENT"}, "partnerRating": 4}
    }

    # The partner's root field, then Integra's fields through its _entities resolver.
    favourites = _ask(
        router,
        "{ partnerFavourites { id name score { band } risks { totalCount } partnerRating } }",
    )
    assert favourites == {
        "partnerFavourites": [
            {
                "id": shop_id,
                "name": "Federated",
                "score": {"band": "EXCELLENT"},
                "risks": {"totalCount": 0},
                "partnerRating": 4,
            }
        ]
    }

    # A list of Integra's shops, each extended by the partner (null where it has no rating).
    page = _ask(router, "{ shops(limit: 10) { items { name partnerRating } } }")
    assert page["shops"]["items"] == [
        {"name": "Federated", "partnerRating": 4},
        {"name": "Unrated", "partnerRating": None},
    ]

    # Integra itself still answers its own clients directly.
    base, data_dir = integra
    direct = httpx.post(
        f"{base}/graphql",
        json={"query": "{ shops { totalCount } }"},
        headers=admin_headers(data_dir),
        timeout=30,
    ).json()
    assert direct == {"data": {"shops": {"totalCount": 2}}}
