"""GraphiQL in a real headless Chromium, on a real ``integra up``, with no internet.

The page, React, ReactDOM and GraphiQL all come from the gateway; every request the
browser makes is checked to stay on loopback (anything else is blocked and fails the test).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Request, Response, Route, sync_playwright

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


@dataclass
class Visit:
    """What the browser did and showed while GraphiQL ran one query."""

    served_html: str = ""  # the page exactly as the browser received it
    address: str = ""  # the address bar once the page's script ran
    editors: list[str] = field(default_factory=list)  # every editor's text (headers too)
    result: str = ""
    requested: list[str] = field(default_factory=list)
    sent_credentials: list[str | None] = field(default_factory=list)
    left_loopback: list[str] = field(default_factory=list)

    def record(self, request: Request) -> None:
        """Keep every URL and the Authorization header of every POST."""
        self.requested.append(request.url)
        if request.method == "POST":
            self.sent_credentials.append(request.headers.get("authorization"))

    def guard(self, route: Route) -> None:
        """Let loopback through; block (and note) anything else."""
        url = route.request.url
        scheme, host = urlsplit(url).scheme, urlsplit(url).hostname or ""
        if scheme in {"data", "blob", "about"} or host in LOOPBACK:
            route.continue_()
        else:
            self.left_loopback.append(url)
            route.abort()


def _is_post(response: Response) -> bool:
    return response.request.method == "POST"


def visit(address: str) -> Visit:
    """Open ``address`` in headless Chromium and run :data:`QUERY` from GraphiQL."""
    seen = Visit()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.on("request", seen.record)
            page.route("**/*", seen.guard)
            # GraphiQL loads the schema (an introspection POST) before it is ready to run.
            with page.expect_response(_is_post, timeout=20_000):
                served = page.goto(address)
            assert served is not None
            seen.served_html = served.text()
            seen.address = page.evaluate("() => window.location.href")
            seen.editors = page.evaluate(
                "() => Array.from(document.querySelectorAll('.CodeMirror'))"
                ".map(e => e.CodeMirror.getValue())"
            )
            page.wait_for_selector(".graphiql-query-editor .CodeMirror", timeout=20_000)
            page.evaluate(
                "q => document.querySelector('.graphiql-query-editor .CodeMirror')"
                ".CodeMirror.setValue(q)",
                QUERY,
            )
            with page.expect_response(_is_post, timeout=20_000):
                page.click(".graphiql-execute-button")
            page.wait_for_function(
                "() => document.querySelector('.result-window .CodeMirror')"
                "?.CodeMirror.getValue().trim().length > 0",
                timeout=20_000,
            )
            seen.result = page.evaluate(
                "() => document.querySelector('.result-window .CodeMirror').CodeMirror.getValue()"
            )
        finally:
            browser.close()
    return seen


def assert_holds_no_key(html: str, key: str) -> None:
    """A GraphiQL page without the local key (nor any other ``ik_`` key)."""
    assert "GraphiQL" in html
    assert key not in html
    assert "ik_" not in html.replace("#key=ik_", "")


def test_graphiql_runs_a_query_with_the_key_of_the_fragment(integra: tuple[str, Path]) -> None:
    base, data_dir = integra
    key = admin_key(data_dir)
    created = httpx.post(
        f"{base}/graphql",
        json={"query": 'mutation { createShop(input: {name: "Seen In GraphiQL"}) { id } }'},
        headers=admin_headers(data_dir),
        timeout=30,
    )
    assert not created.json().get("errors"), created.text

    # `integra up` printed the link once, for the terminal; no log record carries the key.
    output = (data_dir.parent / "integra.log").read_text(encoding="utf-8").splitlines()
    link = f"{base}/graphql#key={key}"
    assert [line for line in output if key in line] == [
        f"GraphiQL with the local ADMIN key: {link}"
    ]

    seen = visit(link)

    assert '"name": "Seen In GraphiQL"' in seen.result, seen.result
    assert '"totalCount": 1' in seen.result
    assert '"errors"' not in seen.result
    assert seen.left_loopback == []
    # The key came in the URL's fragment (never sent to the server): the page moved it into
    # the headers editor, sent it, and cleared it from the address bar.
    assert seen.address == f"{base}/graphql"
    assert any(f"Bearer {key}" in text for text in seen.editors), seen.editors
    assert seen.sent_credentials
    assert set(seen.sent_credentials) == {f"Bearer {key}"}
    page_html = httpx.get(f"{base}/graphql", headers={"Accept": "text/html"}, timeout=30).text
    assert_holds_no_key(seen.served_html, key)
    assert_holds_no_key(page_html, key)
    assert {urlsplit(url).hostname for url in seen.requested} == {"127.0.0.1"}
    assert f"{base}/graphql/assets/graphiql.min.js" in seen.requested


def test_without_a_key_graphiql_says_where_to_paste_one(integra: tuple[str, Path]) -> None:
    base, data_dir = integra
    seen = visit(f"{base}/graphql")
    assert seen.address == f"{base}/graphql"
    assert any('"Bearer <API key or JWT>"' in text for text in seen.editors), seen.editors
    assert_holds_no_key(seen.served_html, admin_key(data_dir))
    assert "UNAUTHENTICATED" in seen.result, seen.result
    assert admin_key(data_dir) not in "".join(c or "" for c in seen.sent_credentials)
    assert seen.left_loopback == []
