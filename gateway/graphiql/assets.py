"""The GraphiQL page and its assets, served from ``gateway/graphiql/node_modules``."""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Final

from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.routing import BaseRoute, Route

from services.runtime.errors import ErrorCode, IntegraError
from services.runtime.http import error_response

MODULES: Final = Path(__file__).with_name("node_modules")
ASSETS_PATH: Final = "/graphql/assets"
#: Served name → file installed by ``npm ci`` (nothing else under node_modules is reachable).
ASSETS: Final = {
    "react.production.min.js": MODULES / "react/umd/react.production.min.js",
    "react-dom.production.min.js": MODULES / "react-dom/umd/react-dom.production.min.js",
    "graphiql.min.js": MODULES / "graphiql/graphiql.min.js",
    "graphiql.min.css": MODULES / "graphiql/graphiql.min.css",
}
INSTALL_HINT: Final = "GraphiQL's assets are not installed: run `make graphiql`."
#: The headers editor without a key in the URL: where to paste one.
PLACEHOLDER_HEADERS: Final = {"Authorization": "Bearer <API key or JWT>"}

WELCOME: Final = """# Integra's GraphQL API, with GraphiQL served by Integra itself.
#
# Every request needs a bearer token: in the Headers tab (below), replace
# <API key or JWT> in {"Authorization": "Bearer <API key or JWT>"} with yours.
# `integra up` prints a link that fills in its local admin key: /graphql#key=ik_...
# Run with Ctrl-Enter or the play button.

{
  shops(limit: 10) {
    totalCount
    items { id name score { sh band } }
  }
}
"""


def assets_installed() -> bool:
    """Whether every asset file is present (``make graphiql`` has run)."""
    return all(path.is_file() for path in ASSETS.values())


def ide_page() -> str:
    """The GraphiQL page. It never holds a secret: a key given in the URL's fragment
    (``/graphql#key=ik_…``, which no browser sends to a server) is moved by the page's script
    into the headers editor and cleared from the address bar."""
    settings = {"query": WELCOME, "headers": json.dumps(PLACEHOLDER_HEADERS, indent=2)}
    # No "<" at all inside the script element: it can neither end it nor open a comment.
    config = json.dumps(settings).replace("<", "\\u003c")
    return _PAGE.format(assets=html.escape(ASSETS_PATH), config=config)


def missing_assets_page() -> Response:
    """What ``/graphql`` shows in a browser when the assets were never installed."""
    return HTMLResponse(
        f"<!doctype html><title>GraphiQL unavailable</title><p>{html.escape(INSTALL_HINT)}</p>",
        status_code=503,
    )


async def asset(request: Request) -> Response:
    """One GraphiQL asset file (cached for a day; the names change with the versions)."""
    path = ASSETS.get(str(request.path_params["name"]))
    if path is None or not path.is_file():
        return error_response(IntegraError(ErrorCode.NOT_FOUND, "no such asset", "name"))
    return FileResponse(path, headers={"Cache-Control": "public, max-age=86400"})


def asset_routes() -> list[BaseRoute]:
    """``GET /graphql/assets/{name}``."""
    return [Route(ASSETS_PATH + "/{name}", asset, methods=["GET"])]


_PAGE: Final = """<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <title>Integra GraphiQL</title>
    <link rel="icon" href="data:," />
    <style>
      body {{ height: 100%; margin: 0; width: 100%; overflow: hidden; }}
      #graphiql {{ height: 100vh; }}
    </style>
    <link rel="stylesheet" href="{assets}/graphiql.min.css" />
    <script src="{assets}/react.production.min.js"></script>
    <script src="{assets}/react-dom.production.min.js"></script>
    <script src="{assets}/graphiql.min.js"></script>
  </head>
  <body>
    <div id="graphiql">Loading GraphiQL…</div>
    <script id="integra-graphiql-config" type="application/json">{config}</script>
    <script>
      const config = JSON.parse(
        document.getElementById("integra-graphiql-config").textContent
      );
      // A key in the fragment (#key=...) never reached a server: move it into the headers
      // and out of the address bar (and the history).
      const fragment = new URLSearchParams(window.location.hash.slice(1));
      const key = fragment.get("key");
      const headers = key
        ? JSON.stringify({{ Authorization: "Bearer " + key }}, null, 2)
        : config.headers;
      if (window.location.hash) {{
        history.replaceState(null, "", window.location.pathname + window.location.search);
      }}
      const url = window.location.origin + window.location.pathname;
      const fetcher = GraphiQL.createFetcher({{ url }});
      const root = ReactDOM.createRoot(document.getElementById("graphiql"));
      root.render(
        React.createElement(GraphiQL, {{
          fetcher,
          defaultQuery: config.query,
          headers: headers,
          shouldPersistHeaders: false,
          isHeadersEditorEnabled: true,
          defaultEditorToolsVisibility: "headers",
        }})
      );
    </script>
  </body>
</html>
"""
