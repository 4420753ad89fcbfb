"""The GraphiQL page: local asset URLs, and never a key (one comes only in the fragment)."""

from __future__ import annotations

import json
import re

from gateway.graphiql.assets import ASSETS, ide_page


def test_the_page_loads_every_asset_from_the_gateway_and_nothing_else() -> None:
    page = ide_page()
    sources = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert sorted(sources) == sorted(["data:,", *(f"/graphql/assets/{name}" for name in ASSETS)])
    assert "http" not in "".join(sources)


def test_the_page_holds_no_key_and_takes_one_only_from_the_fragment() -> None:
    page = ide_page()
    config = re.search(r'type="application/json">(.*?)</script>', page, re.S)
    assert config is not None
    assert json.loads(config.group(1)) == {"query": config_query(page)}
    assert "ik_" not in page.replace("#key=ik_", "")
    assert "new URLSearchParams(window.location.hash.slice(1))" in page
    assert "history.replaceState" in page


def config_query(page: str) -> str:
    """The welcome query of the page's configuration."""
    config = re.search(r'type="application/json">(.*?)</script>', page, re.S)
    assert config is not None
    query: str = json.loads(config.group(1))["query"]
    assert "<" not in config.group(1)  # it can neither end the script nor open a comment
    return query
