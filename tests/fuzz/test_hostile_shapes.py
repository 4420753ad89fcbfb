"""A hypothesis fuzzer of the input shapes a held-out run found (issue 14): lone surrogates and
control characters in every kind of string argument, Float literals past a double's range, and
JSON nested deeper than any request needs. Each example must be refused (or stored) with a
stable client code, never a 5xx, an INTERNAL_ERROR or an ERROR in the log; a bounded number of
examples with a fixed seed keeps the run short."""

from __future__ import annotations

import json
import logging

import httpx
import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from reliability.fuzz import UNEXPECTED_CODES

EXAMPLES = 25
SURROGATES = st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)
CONTROLS = st.characters(codec=None, categories=["Cc"])
HOSTILE_TEXT = st.builds(
    lambda head, bad, tail: head + bad + tail,
    st.text(max_size=5),
    st.one_of(SURROGATES, CONTROLS),
    st.text(max_size=5),
)
"""A short text with at least one lone surrogate or control character."""
STRING_OPERATIONS = [
    "mutation($s: String!) { createShop(input: {name: $s}) { id } }",
    "query($s: String!) { kpi(code: $s) { code } }",
    "query($s: String!) { weightProfile(name: $s) { name } }",
    "query($s: String) { measurements(kpiCode: $s) { totalCount } }",
    "query($s: String) { risks(filter: {owner: $s}) { totalCount } }",
    'mutation($s: String!) { createRisk(input: {shopId: "platform", category: "DATA_QUALITY", '
    'title: $s, owner: "o", inherent: {likelihood: 2}}) { id } }',
    'mutation($s: String!) { setKpiTarget(shopId: "platform", kpiCode: $s, '
    "input: {comparator: GTE, value: 1}) { value } }",
]
"""Operations taking a string argument of each kind (names, codes, titles, filters)."""
INDICATORS = "c1: 0.1, c: 0.1, churn: 0, pu: 1, d: 1, q1: 1, rt: 0, capex: 0, h: 0, cogs: 0, "
INDICATORS += "cac: 0, crc: 0"

pytestmark = pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning")


def _check_graphql(response: httpx.Response) -> None:
    assert response.status_code < 500, response.text
    for error in response.json().get("errors") or []:
        code = (error.get("extensions") or {}).get("code")
        assert code is not None, error
        assert code not in UNEXPECTED_CODES, error


async def _post(http: httpx.AsyncClient, url: str, body: object) -> httpx.Response:
    return await http.post(
        url, content=json.dumps(body).encode(), headers={"content-type": "application/json"}
    )


@pytest.fixture
def errors_logged(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.ERROR, logger="integra")
    return caplog


async def test_hostile_strings_in_every_kind_of_argument(
    http: httpx.AsyncClient, errors_logged: pytest.LogCaptureFixture
) -> None:
    examples: list[str] = []

    @seed(20261214)
    @settings(max_examples=EXAMPLES, database=None, suppress_health_check=list(HealthCheck))
    @given(HOSTILE_TEXT)
    def collect(text: str) -> None:
        examples.append(text)

    collect()
    for index, text in enumerate(examples):
        query = STRING_OPERATIONS[index % len(STRING_OPERATIONS)]
        _check_graphql(await _post(http, "/graphql", {"query": query, "variables": {"s": text}}))
        rest = await _post(http, "/scoring/shops", {"name": text})
        assert rest.status_code in (201, 422), rest.text
    assert not errors_logged.records, [r.getMessage() for r in errors_logged.records]


async def test_out_of_range_float_literals(
    http: httpx.AsyncClient, errors_logged: pytest.LogCaptureFixture
) -> None:
    exponents: list[int] = []

    @seed(20261214)
    @settings(max_examples=EXAMPLES, database=None)
    @given(st.integers(min_value=309, max_value=100_000))
    def collect(exponent: int) -> None:
        exponents.append(exponent)

    collect()
    for exponent in exponents:
        literal = f"{'-' if exponent % 2 else ''}1e{exponent}"
        query = "{ profit(input: {reach: " + literal + ", " + INDICATORS + "}) { profit } }"
        response = await _post(http, "/graphql", {"query": query})
        _check_graphql(response)
        assert response.json().get("errors"), response.text
    assert not errors_logged.records, [r.getMessage() for r in errors_logged.records]


@pytest.mark.parametrize("depth", [65, 500, 1000, 5000])
async def test_deep_nesting_is_a_client_error_everywhere(
    http: httpx.AsyncClient, errors_logged: pytest.LogCaptureFixture, depth: int
) -> None:
    nested = "[" * depth + "]" * depth
    bodies = {
        "/graphql": nested,
        "/scoring/shops": '{"name": ' + nested + "}",
        "/kpi/measurements": '{"inputs": {"a": ' + nested + "}}",
    }
    for url, body in bodies.items():
        response = await http.post(
            url, content=body.encode(), headers={"content-type": "application/json"}
        )
        assert 400 <= response.status_code < 500, (url, response.text)
    assert not errors_logged.records, [r.getMessage() for r in errors_logged.records]
