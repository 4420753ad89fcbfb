"""Fixtures: a real nx-27017 (or INTEGRA_TEST_MONGODB_URI) and the real apps over it.

The store tests and the e2e tests of storage behaviour run on SecantusDB too (a second
wire-protocol implementation, tests/servers.py): see :data:`BOTH_SERVERS`."""

from __future__ import annotations

import contextlib
import os
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest

from services.runtime.auth import Role
from services.runtime.settings import IntegraSettings
from services.stack import create_stack_app
from tests.servers import NX_27017, SERVERS, ServerPool

BOTH_SERVERS = (
    "tests/store/",
    "tests/e2e/test_concurrency.py",
    "tests/e2e/test_idempotency.py",
    "tests/e2e/test_scoring_graphql.py",
    "tests/e2e/test_risk_graphql.py",
    "tests/e2e/test_shop_deletion.py",
    "tests/e2e/test_kpi_graphql.py",
    "tests/e2e/test_breach_escalation.py",
    "tests/e2e/test_platform_kpis.py",
    "tests/e2e/test_operation_calls.py",
    "tests/e2e/test_shared_rate_limit.py",
    "tests/e2e/test_escalation_outage.py",
)
"""Test modules (or folders) that run once per server of :data:`tests.servers.SERVERS`, with
the server in the test id (``test_x[secantusdb]``): the store tests and the e2e tests whose
subject is storage behaviour (concurrency, idempotency, what is stored and read back, state
shared through the database, the outbox). The other tests — hostile input, authentication,
limits, the kpi service's delivery and the real-process tests of restarts, readiness and
supervision — run on nx-27017 only, to keep ``make test`` short (they passed on SecantusDB
0.7.0b3 too). tests/store/test_durability.py starts and kills its own nx-27017."""


def _on_both_servers(path: Path, root: Path) -> bool:
    relative = path.relative_to(root).as_posix() if path.is_relative_to(root) else ""
    return any(relative.startswith(prefix) for prefix in BOTH_SERVERS)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run the tests of :data:`BOTH_SERVERS` that use the database on every server (unless
    ``INTEGRA_TEST_MONGODB_URI`` names the one server of the run)."""
    if "mongo_server" not in metafunc.fixturenames or os.environ.get("INTEGRA_TEST_MONGODB_URI"):
        return
    if _on_both_servers(metafunc.definition.path, metafunc.config.rootpath):
        metafunc.parametrize("mongo_server", SERVERS, indirect=True)


@pytest.fixture(scope="session")
def mongo_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerPool]:
    """The session's database servers, each started on first use and once only."""
    pool = ServerPool(tmp_path_factory.mktemp("servers"))
    try:
        yield pool
    finally:
        pool.stop()


@pytest.fixture
def mongo_server(request: pytest.FixtureRequest) -> str:
    """The name of the test's database server: nx-27017 unless parametrized."""
    name: str = getattr(request, "param", NX_27017)
    return name


@pytest.fixture
def mongo_uri(mongo_server: str, mongo_servers: ServerPool) -> str:
    """The test's database server (started once per session): nx-27017 on a free port unless
    parametrized, or the given ``INTEGRA_TEST_MONGODB_URI``."""
    given = os.environ.get("INTEGRA_TEST_MONGODB_URI")
    if given:
        return given
    return mongo_servers.uri(mongo_server)


TEST_JWT_SECRET = "integra-test-secret-of-at-least-32-bytes"
"""The HS256 secret of the ``settings`` fixture; tokens signed with it are valid."""
TEST_SERVICE_KEY = "integra-test-service-key-of-at-least-32-bytes"
"""The key components sign their calls to each other with, in tests and their processes."""
TEST_RATE_LIMIT = 100_000
"""Requests per client and minute in tests (fuzzing sends many); tests/e2e/test_limits.py
checks the limit itself with a small one."""


@pytest.fixture
def settings(mongo_uri: str) -> IntegraSettings:
    """Settings for one test: its own databases (a unique prefix), nothing shared; JWTs
    signed with :data:`TEST_JWT_SECRET` are accepted."""
    return IntegraSettings(
        mongodb_uri=mongo_uri,
        db_prefix=f"t{uuid.uuid4().hex[:16]}",
        data_dir=Path("/nonexistent"),
        jwt_secret=TEST_JWT_SECRET,
        rate_limit_per_minute=TEST_RATE_LIMIT,
        service_token_key=TEST_SERVICE_KEY,
    )


def signed_jwt(role: Role | str, sub: str = "tester", lifetime: float = 3600, **claims: Any) -> str:
    """An HS256 JWT signed with the test secret (``lifetime`` < 0 makes an expired one)."""
    payload = {"sub": sub, "role": str(role), "exp": int(time.time() + lifetime), **claims}
    return jwt.encode(payload, TEST_JWT_SECRET, algorithm="HS256")


def bearer(token: str) -> dict[str, str]:
    """The ``Authorization`` header of ``token``."""
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def jwt_for() -> Callable[..., str]:
    """Signs a test JWT: ``jwt_for(Role.ANALYST, sub="ana")``."""
    return signed_jwt


@pytest.fixture
def viewer() -> dict[str, str]:
    """Headers of a VIEWER (read only)."""
    return bearer(signed_jwt(Role.VIEWER, sub="test-viewer"))


@pytest.fixture
def analyst() -> dict[str, str]:
    """Headers of an ANALYST (writes assessments, risks, measurements)."""
    return bearer(signed_jwt(Role.ANALYST, sub="test-analyst"))


@pytest.fixture
def admin() -> dict[str, str]:
    """Headers of an ADMIN (what the ``http`` fixture sends by default)."""
    return bearer(signed_jwt(Role.ADMIN, sub="test-admin"))


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


@contextlib.asynccontextmanager
async def stack_client(
    settings: IntegraSettings, headers: Mapping[str, str] | None = None
) -> AsyncIterator[httpx.AsyncClient]:
    """A started one-process stack over ``settings`` and a client for it sending ``headers``."""
    app = create_stack_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://integra", headers=dict(headers or {})
        ) as client:
            yield client


@pytest.fixture
async def http(
    settings: IntegraSettings, admin: dict[str, str]
) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client for the one-process stack (gateway + services) over the test's server,
    sending an ADMIN credential on every request (pass other ``headers=`` to act as someone
    else)."""
    async with stack_client(settings, admin) as client:
        yield client


@pytest.fixture
def gql(http: httpx.AsyncClient) -> GraphQLClient:
    """A GraphQL client for the stack."""
    return GraphQLClient(http)
