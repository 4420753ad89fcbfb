"""The GraphiQL page and its assets, served from ``gateway/graphiql/node_modules``."""

from __future__ import annotations

import html
import ipaddress
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
_LOOPBACK_HOSTS: Final = frozenset({"localhost", "127.0.0.1", "[::1]", "::1"})

WELCOME: Final = """# Integra's GraphQL API, with GraphiQL served by Integra itself.
#
# Every request needs a bearer token: in the Headers tab, set
#   {"Authorization": "Bearer <API key or JWT>"}
# (on this machine, `integra up` fills in its local admin key).
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


def is_loopback_request(request: Request) -> bool:
    """Whether the request comes from this machine AND names it as host.

    Both are needed before anything secret is put in a page: the peer address proves the
    browser is local, the ``Host`` header rules out DNS rebinding by a foreign site.
    """
    client = request.client
    if client is None:
        return False
    try:
        peer_is_local = ipaddress.ip_address(client.host).is_loopback
    except ValueError:
        return False
    host = request.headers.get("host", "")
    hostname = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    return peer_is_local and hostname.lower() in _LOOPBACK_HOSTS


def ide_page(initial_headers: dict[str, str] | None = None) -> str:
    """The GraphiQL page; ``initial_headers`` prefill the headers editor."""
    settings = {
        "query": WELCOME,
        "headers": json.dumps(initial_headers, indent=2) if initial_headers else "",
    }
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
      const url = window.location.origin + window.location.pathname;
      const fetcher = GraphiQL.createFetcher({{ url }});
      const root = ReactDOM.createRoot(document.getElementById("graphiql"));
      root.render(
        React.createElement(GraphiQL, {{
          fetcher,
          defaultQuery: config.query,
          headers: config.headers || undefined,
          shouldPersistHeaders: false,
          isHeadersEditorEnabled: true,
          defaultEditorToolsVisibility: config.headers ? "headers" : true,
        }})
      );
    </script>
  </body>
</html>
"""


def local_admin_headers(request: Request, data_dir: Path) -> dict[str, str] | None:
    """The ``Authorization`` header with the local admin key of ``integra up``, for a page
    requested from this machine only (see :func:`is_loopback_request`); else ``None``."""
    key_file = data_dir / "admin-api-key"
    if not is_loopback_request(request) or not key_file.is_file():
        return None
    key = key_file.read_text(encoding="utf-8").strip()
    return {"Authorization": f"Bearer {key}"} if key else None
