"""Target 2, the peer: a minimal Strawberry app with default settings answering the one-shop
query and the list of 50 from memory (what a team would write first)."""

from __future__ import annotations

import enum
from typing import Any

import strawberry
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from strawberry.asgi import GraphQL

from bench.shop_data import load_list, load_shop


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
class KpiStatus:
    """A KPI's latest value and its status against the target."""

    kpi_code: str
    value: float | None
    status: str | None


@strawberry.type
class Shop:
    """A shop with its current score and KPI statuses."""

    id: strawberry.ID
    name: str
    score: Assessment | None
    kpis: list[KpiStatus]


@strawberry.type
class ShopPage:
    """A page of shops."""

    total_count: int
    items: list[Shop]


def _assessment(score: dict[str, Any] | None) -> Assessment | None:
    if score is None:
        return None
    return Assessment(
        sh=score["sh"],
        band=Band(score["band"]),
        criteria=[
            CriterionScore(
                criterion=Criterion(c["criterion"]),
                value=c["value"],
                band=Band(c["band"]) if c["band"] else None,
            )
            for c in score.get("criteria", [])
        ],
    )


def _shop(data: dict[str, Any], shop_id: str = "") -> Shop:
    return Shop(
        id=strawberry.ID(data.get("id", shop_id)),
        name=data["name"],
        score=_assessment(data["score"]),
        kpis=[
            KpiStatus(kpi_code=k["kpiCode"], value=k["value"], status=k["status"])
            for k in data.get("kpis", [])
        ],
    )


def create_app() -> Starlette:
    """``/graphql`` (Strawberry's ASGI view, default settings) and ``/healthz``."""
    one = load_shop()
    page = load_list()

    @strawberry.type
    class Query:
        @strawberry.field
        def shop(self, id: strawberry.ID) -> Shop | None:
            """The shop (one in memory)."""
            return _shop(one, id)

        @strawberry.field
        def shops(self, limit: int) -> ShopPage:
            """The first ``limit`` shops (built from memory on every request)."""
            return ShopPage(
                total_count=page["totalCount"],
                items=[_shop(item) for item in page["items"][:limit]],
            )

    async def healthz(_: Request) -> Response:
        return Response(b"{}", media_type="application/json")

    graphql = GraphQL(strawberry.Schema(query=Query))
    return Starlette(
        routes=[Route("/graphql", graphql, methods=["GET", "POST"]), Route("/healthz", healthz)]
    )
