"""Target 2, the peer: a minimal Strawberry app with default settings answering the one-shop
query from memory (what a team would write first)."""

from __future__ import annotations

import enum
from typing import Any

import strawberry
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from strawberry.asgi import GraphQL

from bench.shop_data import load_shop


@strawberry.enum
class Band(enum.Enum):
    """Score bands."""

    EXCELLENT = "EXCELLENT"
    GOOD = "GOOD"
    NORMAL = "NORMAL"
    CRITICAL = "CRITICAL"


@strawberry.enum
class Criterion(enum.Enum):
    """The nine criteria."""

    U = "U"
    I = "I"  # noqa: E741 - the criterion's name in the domain
    R = "R"
    C = "C"
    T = "T"
    L = "L"
    S = "S"
    M = "M"
    E = "E"


@strawberry.type
class CriterionScore:
    """One criterion's value and band."""

    criterion: Criterion
    value: float
    band: Band | None


@strawberry.type
class Assessment:
    """A score."""

    sh: float
    band: Band
    criteria: list[CriterionScore]


@strawberry.type
class Shop:
    """A shop with its current score."""

    name: str
    score: Assessment | None


def _shop(data: dict[str, Any]) -> Shop:
    score = data["score"]
    return Shop(
        name=data["name"],
        score=Assessment(
            sh=score["sh"],
            band=Band(score["band"]),
            criteria=[
                CriterionScore(
                    criterion=Criterion(c["criterion"]),
                    value=c["value"],
                    band=Band(c["band"]) if c["band"] else None,
                )
                for c in score["criteria"]
            ],
        ),
    )


def create_app() -> Starlette:
    """``/graphql`` (Strawberry's ASGI view, default settings) and ``/healthz``."""
    data = load_shop()

    @strawberry.type
    class Query:
        @strawberry.field
        def shop(self, id: strawberry.ID) -> Shop | None:
            """The shop (one in memory)."""
            return _shop(data)

    async def healthz(_: Request) -> Response:
        return Response(b"{}", media_type="application/json")

    graphql = GraphQL(strawberry.Schema(query=Query))
    return Starlette(
        routes=[Route("/graphql", graphql, methods=["GET", "POST"]), Route("/healthz", healthz)]
    )
