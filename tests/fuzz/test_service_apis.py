"""Schemathesis fuzzes every operation of each service's published OpenAPI document.

Pass condition for every example: no 5xx, the answer conforms to the document (status code,
content type, body schema), schema-breaking input is rejected, and nothing is logged at ERROR
(an unhandled exception). CI tries a bounded number of examples with a fixed seed;
``make reliability`` runs many more (``INTEGRA_FUZZ_EXAMPLES``).
"""

from __future__ import annotations

import pytest
import schemathesis
from starlette.applications import Starlette

from reliability.figures import record
from reliability.fuzz import fuzz_schema
from services.kpi.routes import kpi_routes
from services.risk.routes import risk_routes
from services.runtime.openapi import ApiRoute
from services.scoring.routes import scoring_routes

pytestmark = pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning")

SERVICES = ["scoring", "risk", "kpi"]


@pytest.mark.parametrize("service", SERVICES)
def test_every_operation_survives_fuzzing(
    service: str,
    stack: Starlette,
    known_records: dict[str, str],
    auth_headers: dict[str, str],
    fuzz_examples: int,
    fuzz_seed: int,
) -> None:
    schema = schemathesis.openapi.from_asgi(f"/{service}/openapi.json", stack, headers=auth_headers)
    figures = fuzz_schema(
        service,
        schema,
        examples=fuzz_examples,
        seed=fuzz_seed,
        known=known_records,
        headers=auth_headers,
    )
    record("fuzz", {**figures.as_dict(), "seed": fuzz_seed, "per_round": fuzz_examples})
    assert figures.operations, f"{service} publishes no operation"
    assert figures.failing == 0, figures.report()


@pytest.mark.parametrize(
    ("service", "routes"),
    [
        ("scoring", scoring_routes(lambda: None)),  # type: ignore[arg-type, return-value]
        ("risk", risk_routes(lambda: None)),  # type: ignore[arg-type, return-value]
        ("kpi", kpi_routes(lambda: None)),  # type: ignore[arg-type, return-value]
    ],
)
def test_every_route_is_documented(service: str, routes: list[object]) -> None:
    undocumented = [getattr(r, "path", r) for r in routes if not isinstance(r, ApiRoute)]
    assert not undocumented, f"{service}: routes without a contract: {undocumented}"
