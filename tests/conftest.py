"""Fixtures: a real nx-27017 (or INTEGRA_TEST_MONGODB_URI) and the real apps over it."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.runtime.embedded import EmbeddedMongo
from services.runtime.settings import IntegraSettings
from services.stack import create_stack_app


@pytest.fixture(scope="session")
def mongo_uri(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One database server for the session: nx-27017 on a free port, or the given URI."""
    given = os.environ.get("INTEGRA_TEST_MONGODB_URI")
    if given:
        yield given
        return
    with EmbeddedMongo(tmp_path_factory.mktemp("nx-27017")) as server:
        yield server.uri


@pytest.fixture
def settings(mongo_uri: str) -> IntegraSettings:
    """Settings for one test: its own databases (a unique prefix), nothing shared."""
    return IntegraSettings(
        mongodb_uri=mongo_uri,
        db_prefix=f"t{uuid.uuid4().hex[:16]}",
        data_dir=Path("/nonexistent"),
    )


class GraphQLClient:
    """Posts GraphQL operations to the stack, as a front-end would."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def __call__(self, query: str, variables: dict[str, Any] | None = None) -> Any:
        """The whole response (``data`` and ``errors``)."""
        response = await self.http.post("/graphql", json={"query": query, "variables": variables})
        assert response.status_code == 200, response.text
        return response.json()

    async def data(self, query: str, variables: dict[str, Any] | None = None) -> Any:
        """The ``data`` of a response that must have no errors."""
        answer = await self(query, variables)
        assert not answer.get("errors"), answer["errors"]
        return answer["data"]

    async def error(self, query: str, variables: dict[str, Any] | None = None) -> Any:
        """The single error of a response that must fail."""
        answer = await self(query, variables)
        assert answer.get("errors"), answer
        assert len(answer["errors"]) == 1, answer["errors"]
        return answer["errors"][0]


@pytest.fixture
async def http(settings: IntegraSettings) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client for the one-process stack (gateway + services) over nx-27017."""
    app = create_stack_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://integra") as client:
            yield client


@pytest.fixture
def gql(http: httpx.AsyncClient) -> GraphQLClient:
    """A GraphQL client for the stack."""
    return GraphQLClient(http)
