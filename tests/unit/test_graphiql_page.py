"""The GraphiQL page: local asset URLs, and the admin key only for this machine's browser."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from starlette.requests import Request

from gateway.graphiql.assets import ASSETS, ide_page, local_admin_headers


def _request(peer: str, host: str) -> Request:
    return Request(
        {
            "type": "http",
            "method": "GET",
            "path": "/graphql",
            "headers": [(b"host", host.encode())],
            "client": (peer, 50000),
        }
    )


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    (tmp_path / "admin-api-key").write_text("ik_local_admin\n", encoding="utf-8")
    return tmp_path


def test_the_page_loads_every_asset_from_the_gateway_and_nothing_else() -> None:
    page = ide_page()
    sources = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert sorted(sources) == sorted(["data:,", *(f"/graphql/assets/{name}" for name in ASSETS)])
    assert "http" not in "".join(sources)


def test_the_headers_editor_is_prefilled_and_cannot_break_out_of_the_page() -> None:
    page = ide_page({"Authorization": "Bearer </script><script>alert(1)"})
    config = re.search(r'type="application/json">(.*?)</script>', page, re.S)
    assert config is not None
    assert "<" not in config.group(1)
    headers = json.loads(json.loads(config.group(1))["headers"])
    assert headers == {"Authorization": "Bearer </script><script>alert(1)"}


@pytest.mark.parametrize("host", ["127.0.0.1:8000", "localhost:8000", "[::1]:8000", "localhost"])
def test_a_local_browser_gets_the_local_admin_key(data_dir: Path, host: str) -> None:
    headers = local_admin_headers(_request("127.0.0.1", host), data_dir)
    assert headers == {"Authorization": "Bearer ik_local_admin"}


@pytest.mark.parametrize(
    ("peer", "host"),
    [
        ("192.0.2.7", "127.0.0.1:8000"),  # another machine
        ("127.0.0.1", "attacker.example:8000"),  # DNS rebinding: a foreign name, a local peer
        ("127.0.0.1", ""),
        ("not-an-address", "localhost"),
    ],
)
def test_no_key_for_anyone_else(data_dir: Path, peer: str, host: str) -> None:
    assert local_admin_headers(_request(peer, host), data_dir) is None


def test_no_key_when_integra_up_wrote_none(tmp_path: Path) -> None:
    assert local_admin_headers(_request("127.0.0.1", "localhost:8000"), tmp_path) is None
