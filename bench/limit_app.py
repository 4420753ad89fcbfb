"""Target 1, the limit: a bare Starlette endpoint answering the one-shop JSON from memory."""

from __future__ import annotations

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bench.shop_data import load_shop


def create_app() -> Starlette:
    """POST /graphql answers ``{"data": {"shop": ...}}`` without parsing the request."""
    body = orjson.dumps({"data": {"shop": load_shop()}})

    async def graphql(request: Request) -> Response:
        await request.body()
        return Response(body, media_type="application/json")

    async def healthz(_: Request) -> Response:
        return Response(b"{}", media_type="application/json")

    return Starlette(
        routes=[Route("/graphql", graphql, methods=["POST"]), Route("/healthz", healthz)]
    )
