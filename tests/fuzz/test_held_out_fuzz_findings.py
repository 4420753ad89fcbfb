"""Regressions of what a held-out fuzz run found (issue 14, items 14–21), pinned with plain
requests through the APIs where each was seen."""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any

import httpx
import pytest

SHOP_MUTATION = "mutation($input: CreateShopInput!) { createShop(input: $input) { id name } }"
RISK_MUTATION = (
    "mutation($input: CreateRiskInput!) { createRisk(input: $input) { id description } }"
)
INDICATORS = "c1: 0.1, c: 0.1, churn: 0, pu: 1, d: 1, q1: 1, rt: 0, capex: 0, h: 0, cogs: 0, "
INDICATORS += "cac: 0, crc: 0"
PROFIT = INDICATORS + "}) { profit } }"
"""The end of a ``profit`` query after its ``reach``."""
WEIGHTS = dict.fromkeys("UIRCTLSM", 0.125)


async def send(
    http: httpx.AsyncClient, method: str, url: str, body: Any, **headers: str
) -> httpx.Response:
    """``body`` as JSON with ASCII escapes, so a lone surrogate travels as ``\\ud800``."""
    return await http.request(
        method,
        url,
        content=json.dumps(body).encode(),
        headers={"content-type": "application/json", **headers},
    )


async def graphql(http: httpx.AsyncClient, query: str, **variables: Any) -> dict[str, Any]:
    response = await send(http, "POST", "/graphql", {"query": query, "variables": variables})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def a_shop(http: httpx.AsyncClient) -> str:
    created = await send(http, "POST", "/scoring/shops", {"name": "Held-out shop"})
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


# --- item 14: lone surrogates and control characters --------------------------------------------


async def test_a_lone_surrogate_in_a_graphql_variable_is_a_validation_error(
    http: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    """It answered INTERNAL_ERROR and logged two tracebacks (the gateway could not encode it)."""
    shop = await a_shop(http)
    cases: list[tuple[str, dict[str, Any], str]] = [
        (SHOP_MUTATION, {"input": {"name": "a\ud800b"}}, "input.name"),
        ("query($c: String!) { kpi(code: $c) { code } }", {"c": "\udfff"}, "c"),
        ("query($n: String!) { weightProfile(name: $n) { name } }", {"n": "x\ud800"}, "n"),
        (
            RISK_MUTATION,
            {
                "input": {
                    "shopId": shop,
                    "category": "DATA_QUALITY",
                    "title": "t\ud800",
                    "owner": "o",
                    "inherent": {"likelihood": 2},
                }
            },
            "input.title",
        ),
    ]
    with caplog.at_level(logging.ERROR, logger="integra"):
        for query, variables, field in cases:
            answer = await graphql(http, query, **variables)
            [error] = answer["errors"]
            assert error["extensions"] == {"code": "VALIDATION_ERROR", "field": field}, error
            assert "UTF-8" in error["message"]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    shops = await graphql(http, "{ shops { totalCount } }")
    assert shops["data"]["shops"]["totalCount"] == 1


async def test_a_lone_surrogate_in_a_rest_body_names_its_field(http: httpx.AsyncClient) -> None:
    """The services said "request body is not valid JSON" (it is valid JSON) without a field."""
    response = await send(http, "POST", "/scoring/shops", {"name": "a\ud800"})
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"
    assert response.json()["error"]["field"] == "name"


@pytest.mark.parametrize("bad", ["a\x00b", "tab\there", "new\nline", "del\x7f", "c1\x85in"])
async def test_names_and_titles_refuse_control_characters(
    http: httpx.AsyncClient, bad: str
) -> None:
    """A NUL (or any control character) in a name, title or code was stored as given."""
    answer = await graphql(http, SHOP_MUTATION, input={"name": bad})
    [error] = answer["errors"]
    assert error["extensions"] == {"code": "VALIDATION_ERROR", "field": "name"}, error
    assert "control characters" in error["message"]
    rest = await send(http, "POST", "/scoring/shops", {"name": bad})
    assert rest.status_code == 422, rest.text
    assert rest.json()["error"]["field"] == "name"
    kpi = await send(
        http,
        "POST",
        "/kpi/catalogue",
        {
            "code": f"held_{bad}",
            "name": "Held",
            "level": "CUSTOMER",
            "unit": "ratio",
            "direction": "UP",
            "formula": "a / b",
            "inputs": {"a": "COUNT", "b": "COUNT"},
        },
    )
    assert kpi.status_code == 422, kpi.text
    assert kpi.json()["error"]["field"] == "code"
    assert (await graphql(http, "{ shops { totalCount } }"))["data"]["shops"]["totalCount"] == 0


async def test_long_texts_keep_tab_and_newline_but_refuse_other_controls(
    http: httpx.AsyncClient,
) -> None:
    shop = await a_shop(http)
    risk = {
        "shopId": shop,
        "category": "DATA_QUALITY",
        "title": "Feed",
        "owner": "ops",
        "inherent": {"likelihood": 2},
    }
    kept = await graphql(http, RISK_MUTATION, input={**risk, "description": "one\n\ttwo"})
    assert kept["data"]["createRisk"]["description"] == "one\n\ttwo", kept
    refused = await graphql(http, RISK_MUTATION, input={**risk, "description": "nul\x00"})
    [error] = refused["errors"]
    assert error["extensions"] == {"code": "VALIDATION_ERROR", "field": "description"}, error


# --- item 15: an overflowing Float literal ----------------------------------------------------


async def test_an_overflowing_float_literal_is_refused_before_running(
    http: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    """``reach: 1e999`` in the query text answered INTERNAL_ERROR."""
    with caplog.at_level(logging.ERROR, logger="integra"):
        answer = await graphql(http, "{ profit(input: {reach: 1e999, " + PROFIT)
        defaulted = await graphql(
            http, "query($r: Float = -2e400) { profit(input: {reach: $r, " + PROFIT
        )
    for result in (answer, defaulted):
        [error] = result["errors"]
        assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED", error
        assert "must be finite" in error["message"]
        assert result.get("data") is None
    assert not caplog.records
    finite = await graphql(http, "{ profit(input: {reach: 1e3, " + PROFIT)
    assert "errors" not in finite, finite


# --- item 16: deep nesting --------------------------------------------------------------------


async def test_deeply_nested_json_is_a_coded_4xx(http: httpx.AsyncClient) -> None:
    """A JSON body nested ~1 000 levels deep answered HTTP 500 on /graphql."""
    deep = "[" * 1000 + "]" * 1000
    bodies = [deep, '{"query": "{ __typename }", "variables": {"x": ' + deep + "}}"]
    for body in bodies:
        response = await http.post(
            "/graphql", content=body.encode(), headers={"content-type": "application/json"}
        )
        assert response.status_code == 400, response.text
        [error] = response.json()["errors"]
        assert error["extensions"] == {"code": "VALIDATION_ERROR", "field": "body"}, error
    get = await http.get(
        "/graphql",
        params={"query": "{ __typename }", "variables": '{"x": ' + deep + "}"},
        headers={"X-Integra-CSRF": "1"},
    )
    assert get.status_code == 400, get.text
    assert get.json()["errors"][0]["extensions"]["code"] == "VALIDATION_ERROR"
    malformed = await http.post(
        "/graphql", content=b"{", headers={"content-type": "application/json"}
    )
    assert malformed.status_code == 400
    assert malformed.json()["errors"][0]["extensions"]["code"] == "VALIDATION_ERROR"


# --- item 17: time zones of an updated weight profile -----------------------------------------


async def test_an_updated_weight_profile_keeps_a_time_zone_aware_updated_at(
    http: httpx.AsyncClient,
) -> None:
    """``$set`` on nx-27017 stored the date as text, read back without a time zone."""
    created = await send(http, "POST", "/scoring/profiles", {"name": "tz", "weights": WEIGHTS})
    assert created.status_code == 201, created.text
    updated = await send(http, "PUT", "/scoring/profiles/tz", {"weights": WEIGHTS})
    assert updated.status_code == 200, updated.text
    read = (await http.get("/scoring/profiles/tz")).json()
    gql = await graphql(http, '{ weightProfile(name: "tz") { updatedAt } }')
    for moment in (
        updated.json()["updatedAt"],
        read["updatedAt"],
        gql["data"]["weightProfile"]["updatedAt"],
    ):
        assert datetime.fromisoformat(moment).utcoffset() is not None, moment


# --- item 18: 405 -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("DELETE", "/scoring/shops", {"GET", "HEAD", "POST"}),
        ("PUT", "/risk/risks", {"GET", "HEAD", "POST"}),
        ("POST", "/kpi/catalogue/churn_rate", {"GET", "HEAD", "DELETE"}),
        ("PUT", "/graphql", {"GET", "HEAD", "POST"}),
    ],
)
async def test_method_not_allowed_names_the_allowed_methods(
    http: httpx.AsyncClient, method: str, path: str, allowed: set[str]
) -> None:
    """Every 405 lacked ``Allow`` and said VALIDATION_ERROR."""
    response = await http.request(method, path)
    assert response.status_code == 405, response.text
    assert set(response.headers["allow"].split(", ")) == allowed
    assert response.json()["error"]["code"] == "METHOD_NOT_ALLOWED"


# --- item 19: booleans are not numbers --------------------------------------------------------


async def test_booleans_do_not_pass_as_numbers(http: httpx.AsyncClient) -> None:
    """``PUT /kpi/targets/{shop}/{kpi}`` stored ``"value": false`` as 0.0."""
    shop = await a_shop(http)
    target = f"/kpi/targets/{shop}/churn_rate"
    for value in (False, True, "0.5"):
        refused = await send(http, "PUT", target, {"comparator": "LTE", "value": value})
        assert refused.status_code == 422, refused.text
        assert refused.json()["error"]["field"] == "value"
    assert (await http.get(target)).status_code == 404
    weights = {**WEIGHTS, "U": True}
    profile = await send(http, "POST", "/scoring/profiles", {"name": "b", "weights": weights})
    assert profile.status_code == 422, profile.text
    assert profile.json()["error"]["field"] == "weights.U"
    accepted = await send(http, "PUT", target, {"comparator": "LTE", "value": 1})
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["value"] == 1.0


# --- item 20: what the document allows is accepted --------------------------------------------


async def test_requests_that_match_the_document_are_accepted(http: httpx.AsyncClient) -> None:
    """``expectedVersion: 2.0`` (an integer in JSON Schema) and likelihood codes were refused
    or documented wrongly; fields documented nullable could not be cleared."""
    shop = await a_shop(http)
    risk = await send(
        http,
        "POST",
        "/risk/risks",
        {
            "shopId": shop,
            "category": "DATA_QUALITY",
            "title": "Feed",
            "owner": "ops",
            "inherent": {"likelihood": 2.0},
        },
    )
    assert risk.status_code == 201, risk.text
    path = f"/risk/risks/{risk.json()['id']}"
    versioned = await send(http, "PATCH", path, {"title": "Feed 2", "expectedVersion": 1.0})
    assert versioned.status_code == 200, versioned.text
    document = (await http.get("/risk/openapi.json")).json()["components"]["schemas"]
    update = document["RiskUpdate"]["properties"]
    assert update["expectedVersion"]["anyOf"][0] == {
        "type": "integer",
        "minimum": 0,
        "maximum": 2**53,
    }
    for name in ("title", "description", "owner", "inherent"):
        assert "anyOf" not in update[name], update[name]
        assert "default" not in update[name], update[name]
        cleared = await send(http, "PATCH", path, {name: None})
        assert cleared.status_code == 422, cleared.text
        assert cleared.json()["error"]["field"] == name
    assert "anyOf" in update["residual"]  # documented nullable, and null clears it:
    assert (await send(http, "PATCH", path, {"residual": None})).status_code == 200
    likelihood = document["AssessmentIn"]["properties"]["likelihood"]["anyOf"][0]
    assert (likelihood["minimum"], likelihood["maximum"]) == (1, 5)


# --- item 21: one log line per unexpected error; a nullable description --------------------------


async def test_create_risk_takes_a_null_description_as_none(http: httpx.AsyncClient) -> None:
    """``description: null`` (declared nullable) answered "Input should be a valid string"."""
    shop = await a_shop(http)
    answer = await graphql(
        http,
        RISK_MUTATION,
        input={
            "shopId": shop,
            "category": "DATA_QUALITY",
            "title": "Feed",
            "owner": "ops",
            "inherent": {"likelihood": 2},
            "description": None,
        },
    )
    assert "errors" not in answer, answer
    assert answer["data"]["createRisk"]["description"] == ""
