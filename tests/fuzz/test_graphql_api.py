"""Schemathesis fuzzes every query and mutation field of the gateway's GraphQL schema.

Pass condition for every example: no 5xx, a well-formed GraphQL answer, and nothing logged at
ERROR (an unexpected resolver error, which the client sees masked as ``INTERNAL_ERROR``).
"""

from __future__ import annotations

import pytest
import schemathesis
from starlette.applications import Starlette

from reliability.figures import record
from reliability.fuzz import GRAPHQL_CHECKS, fuzz_schema

pytestmark = pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning")


def test_every_graphql_field_survives_fuzzing(
    stack: Starlette,
    known_records: dict[str, str],
    auth_headers: dict[str, str],
    fuzz_examples: int,
    fuzz_seed: int,
) -> None:
    schema = schemathesis.graphql.from_asgi("/graphql", stack, headers=auth_headers)
    figures = fuzz_schema(
        "gateway",
        schema,
        examples=fuzz_examples,
        seed=fuzz_seed,
        headers=auth_headers,
        checks=GRAPHQL_CHECKS,
    )
    record("fuzz", {**figures.as_dict(), "seed": fuzz_seed, "per_round": fuzz_examples})
    assert len(figures.operations) > 20, "the schema lost its fields"
    assert figures.failing == 0, figures.report()
