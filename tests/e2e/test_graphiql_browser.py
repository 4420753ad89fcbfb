"""GraphiQL in a real headless Chromium, on a real ``integra up``, with no internet.

The page, React, ReactDOM and GraphiQL all come from the gateway; every request the
browser makes is checked to stay on loopback (anything else is blocked and fails the test).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Request, Route, sync_playwright

from gateway.graphiql.assets import INSTALL_HINT, assets_installed
from tests.e2e.processes import admin_headers, admin_key, integra_up

pytestmark = pytest.mark.slow

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-quic",
    "--disable-sync",
]
LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}
QUERY = "{ shops(limit: 5) { totalCount items { name } } }"


@pytest.fixture
def integra(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """``integra up`` (development mode) on a free port: (base URL, data dir)."""
    if not Path(CHROMIUM).is_file() and shutil.which("chromium") is None:
        pytest.fail("Debian's chromium is missing: run `make tools` (apt-get install chromium).")
    if not assets_installed():
        pytest.fail(INSTALL_HINT)
    with integra_up(tmp_path) as running:
        yield running


def test_graphiql_runs_a_query_with_only_local_assets(integra: tuple[str, Path]) -> None:
    base, data_dir = integra
    created = httpx.post(
        f"{base}/graphql",
        json={"query": 'mutation { createShop(input: {name: "Seen In GraphiQL"}) { id } }'},
        headers=admin_headers(data_dir),
        timeout=30,
    )
    assert not created.json().get("errors"), created.text
    requested: list[str] = []
    sent_credentials: list[str | None] = []
    left_loopback: list[str] = []

    def record(request: Request) -> None:
        requested.append(request.url)
        if request.method == "POST":
            sent_credentials.append(request.headers.get("authorization"))

    def guard(route: Route) -> None:
        url = route.request.url
        scheme, host = urlsplit(url).scheme, urlsplit(url).hostname or ""
        if scheme in {"data", "blob", "about"} or host in LOOPBACK:
            route.continue_()
        else:
            left_loopback.append(url)
            route.abort()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.on("request", record)
            page.route("**/*", guard)
            # GraphiQL loads the schema (an introspection POST) before it is ready to run.
            with page.expect_response(lambda r: r.request.method == "POST", timeout=20_000):
                page.goto(f"{base}/graphql#key={admin_key(data_dir)}")
            address = page.evaluate("() => window.location.href")
            page.wait_for_selector(".graphiql-query-editor .CodeMirror", timeout=20_000)
            page.evaluate(
                "q => document.querySelector('.graphiql-query-editor .CodeMirror')"
                ".CodeMirror.setValue(q)",
                QUERY,
            )
            with page.expect_response(lambda r: r.request.method == "POST", timeout=20_000):
                page.click(".graphiql-execute-button")
            page.wait_for_function(
                "() => document.querySelector('.result-window .CodeMirror')"
                "?.CodeMirror.getValue().trim().length > 0",
                timeout=20_000,
            )
            result = page.evaluate(
                "() => document.querySelector('.result-window .CodeMirror').CodeMirror.getValue()"
            )
        finally:
            browser.close()

    assert '"name": "Seen In GraphiQL"' in result, result
    assert '"totalCount": 1' in result
    assert '"errors"' not in result
    assert left_loopback == []
    # The key came in the URL's fragment: the page moved it into the headers editor and
    # out of the address bar, and the page itself never held it.
    assert address == f"{base}/graphql"
    page_html = httpx.get(f"{base}/graphql", headers={"Accept": "text/html"}, timeout=30).text
    assert "GraphiQL" in page_html
    assert admin_key(data_dir) not in page_html
    assert "ik_" not in page_html.replace("#key=ik_", "")
    assert sent_credentials
    assert set(sent_credentials) == {admin_headers(data_dir)["Authorization"]}
    hosts = {urlsplit(url).hostname for url in requested}
    assert hosts == {"127.0.0.1"}
    assert f"{base}/graphql/assets/graphiql.min.js" in requested
