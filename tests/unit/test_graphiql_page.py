"""The GraphiQL page: local asset URLs, and never a key (one comes only in the fragment)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
import pytest

from gateway.app import create_app
from gateway.graphiql.assets import ASSETS, PLACEHOLDER_HEADERS, assets_installed, ide_page
from services.runtime.settings import IntegraSettings

LOCAL_KEY = "ik_0123456789abcdef_the-local-admin-secret"


def page_config(page: str) -> dict[str, str]:
    """The JSON configuration embedded in the page (``<`` never occurs in it)."""
    config = re.search(r'type="application/json">(.*?)</script>', page, re.S)
    assert config is not None
    assert "<" not in config.group(1)  # it can neither end the script nor open a comment
    parsed: dict[str, str] = json.loads(config.group(1))
    return parsed


def test_the_page_loads_every_asset_from_the_gateway_and_nothing_else() -> None:
    page = ide_page()
    sources = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert sorted(sources) == sorted(["data:,", *(f"/graphql/assets/{name}" for name in ASSETS)])
    assert "http" not in "".join(sources)


def test_the_page_holds_no_key_and_takes_one_only_from_the_fragment() -> None:
    page = ide_page()
    config = page_config(page)
    assert set(config) == {"query", "headers"}
    # Without a key in the fragment, the headers editor says where to paste one.
    assert json.loads(config["headers"]) == PLACEHOLDER_HEADERS
    assert "Bearer <API key or JWT>" in config["query"]
    assert "ik_" not in page.replace("#key=ik_", "")
    assert "new URLSearchParams(window.location.hash.slice(1))" in page
    assert "history.replaceState" in page


@pytest.mark.parametrize("host", ["127.0.0.1:8000", "localhost:8000", "[::1]:8000"])
async def test_get_graphql_from_this_machine_never_serves_the_local_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, host: str
) -> None:
    """Even a loopback browser naming a loopback host gets a page without the data dir's key."""
    monkeypatch.delenv("MONGODB_URI", raising=False)
    (tmp_path / "admin-api-key").write_text(LOCAL_KEY + "\n", encoding="utf-8")
    settings = IntegraSettings(
        data_dir=tmp_path, environment="development", service_token_key="k" * 40
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
        async with httpx.AsyncClient(transport=transport, base_url=f"http://{host}") as client:
            page = await client.get("/graphql", headers={"Accept": "text/html"})
    assert page.headers["content-type"].startswith("text/html")
    assert page.status_code == (200 if assets_installed() else 503)
    assert LOCAL_KEY not in page.text
    assert "the-local-admin-secret" not in page.text
