"""Idempotency keys on creating mutations: a retried request never creates a duplicate.

A retry with the same key answers the record the first attempt created (same id) and stores
nothing more; concurrent duplicates create one record; the same key with a different request
is a CONFLICT naming ``idempotencyKey`` and writes nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx

from services.runtime.auth import Role
from tests.conftest import GraphQLClient
from tests.e2e.test_scoring_graphql import create_shop

CREATE_SHOP = (
    "mutation($input: CreateShopInput!, $key: String) "
    "{ createShop(input: $input, idempotencyKey: $key) { id name version } }"
)
SHOP_COUNT = "{ shops(limit: 100) { totalCount } }"
RECORD = (
    "mutation($input: RecordAssessmentInput!, $key: String) "
    "{ recordAssessment(input: $input, idempotencyKey: $key) { id sh } }"
)
HISTORY = "query($id: ID!) { shop(id: $id) { assessments { totalCount } score { id } } }"
CREATE_RISK = (
    "mutation($input: CreateRiskInput!, $key: String) "
    "{ createRisk(input: $input, idempotencyKey: $key) { id version } }"
)
RISKS = "query($id: ID!) { shop(id: $id) { risks { totalCount } } }"
ADD_ACTION = (
    "mutation($id: ID!, $input: AddMitigationActionInput!, $key: String) "
    "{ addMitigationAction(riskId: $id, input: $input, idempotencyKey: $key) "
    "{ version actions { id text } } }"
)
CREATE_RULE = (
    "mutation($input: CreateMonitoringRuleInput!, $key: String) "
    "{ createMonitoringRule(input: $input, idempotencyKey: $key) { id } }"
)
RULES = "{ monitoringRules { id } }"
CREATE_PROFILE = (
    "mutation($input: CreateWeightProfileInput!, $key: String) "
    "{ createWeightProfile(input: $input, idempotencyKey: $key) { name } }"
)
CRITERIA = {"U": 80, "I": 70, "R": 60, "C": 75, "T": 90, "L": 65, "S": 85, "M": 70, "E": 10}
WEIGHTS = {"U": 0.2, "I": 0.1, "R": 0.1, "C": 0.1, "T": 0.1, "L": 0.1, "S": 0.2, "M": 0.1}


async def _shop_count(gql: GraphQLClient) -> int:
    count: int = (await gql.data(SHOP_COUNT))["shops"]["totalCount"]
    return count


def _conflict(answer: Any) -> None:
    assert answer["extensions"] == {"code": "CONFLICT", "field": "idempotencyKey"}, answer


async def test_retried_create_shop_answers_the_same_shop(gql: GraphQLClient) -> None:
    variables = {"input": {"name": "Retry Shop"}, "key": "create-shop-1"}
    first = (await gql.data(CREATE_SHOP, variables))["createShop"]
    again = (await gql.data(CREATE_SHOP, variables))["createShop"]
    assert again == first
    assert await _shop_count(gql) == 1

    other_body = await gql.error(
        CREATE_SHOP, {"input": {"name": "Another Shop"}, "key": "create-shop-1"}
    )
    _conflict(other_body)
    assert await _shop_count(gql) == 1

    # Without a key the name rule still answers a duplicate with a CONFLICT on name.
    duplicate = await gql.error(CREATE_SHOP, {"input": {"name": "Retry Shop"}})
    assert duplicate["extensions"] == {"code": "CONFLICT", "field": "name"}


async def test_concurrent_duplicates_create_one_record(gql: GraphQLClient) -> None:
    variables = {"input": {"name": "Raced Shop"}, "key": "raced"}
    answers = await asyncio.gather(*(gql.data(CREATE_SHOP, variables) for _ in range(8)))
    assert len({a["createShop"]["id"] for a in answers}) == 1
    assert await _shop_count(gql) == 1

    shop_id = answers[0]["createShop"]["id"]
    assessment = {"input": {"shopId": shop_id, "assessor": "A", "criteria": CRITERIA}}
    recorded = await asyncio.gather(
        *(gql.data(RECORD, {**assessment, "key": "assess-1"}) for _ in range(6))
    )
    assert len({r["recordAssessment"]["id"] for r in recorded}) == 1
    history = (await gql.data(HISTORY, {"id": shop_id}))["shop"]
    assert history["assessments"]["totalCount"] == 1
    assert history["score"]["id"] == recorded[0]["recordAssessment"]["id"]

    changed = {**assessment["input"], "note": "other"}
    _conflict(await gql.error(RECORD, {"input": changed, "key": "assess-1"}))
    history = (await gql.data(HISTORY, {"id": shop_id}))["shop"]
    assert history["assessments"]["totalCount"] == 1


async def test_risks_actions_and_rules_are_created_once_per_key(gql: GraphQLClient) -> None:
    shop_id = await create_shop(gql, "Risky Shop")
    risk_input = {
        "shopId": shop_id,
        "category": "PERFORMANCE_UX",
        "title": "slow",
        "owner": "O",
        "inherent": {"likelihood": 2},
        "changedBy": "t",
    }
    risks = await asyncio.gather(
        *(gql.data(CREATE_RISK, {"input": risk_input, "key": "risk-1"}) for _ in range(5))
    )
    risk_ids = {r["createRisk"]["id"] for r in risks}
    assert len(risk_ids) == 1
    assert (await gql.data(RISKS, {"id": shop_id}))["shop"]["risks"]["totalCount"] == 1
    risk_id = risk_ids.pop()

    action = {"id": risk_id, "input": {"text": "add a CDN", "changedBy": "t"}, "key": "act-1"}
    added = await asyncio.gather(*(gql.data(ADD_ACTION, action) for _ in range(5)))
    assert {len(a["addMitigationAction"]["actions"]) for a in added} == {1}
    retried = (await gql.data(ADD_ACTION, action))["addMitigationAction"]
    assert retried["version"] == 2
    assert [a["text"] for a in retried["actions"]] == ["add a CDN"]
    other = {**action, "input": {"text": "something else", "changedBy": "t"}}
    _conflict(await gql.error(ADD_ACTION, other))

    before = len((await gql.data(RULES))["monitoringRules"])
    rule = {
        "kpiCode": "churn_rate",
        "comparator": "LT",
        "threshold": 1.5,
        "category": "PERFORMANCE_UX",
    }
    first = await gql.data(CREATE_RULE, {"input": rule, "key": "rule-1"})
    again = await gql.data(CREATE_RULE, {"input": rule, "key": "rule-1"})
    assert first == again
    assert len((await gql.data(RULES))["monitoringRules"]) == before + 1


async def test_weight_profile_retry_and_bad_keys(gql: GraphQLClient) -> None:
    profile = {"input": {"name": "retail", "weights": WEIGHTS}, "key": "profile-1"}
    first = await gql.data(CREATE_PROFILE, profile)
    assert await gql.data(CREATE_PROFILE, profile) == first
    name_taken = await gql.error(CREATE_PROFILE, {**profile, "key": "profile-2"})
    assert name_taken["extensions"] == {"code": "CONFLICT", "field": "name"}
    # The same key for another profile is another request: refused, nothing created.
    other = {"input": {"name": "other", "weights": WEIGHTS}, "key": "profile-1"}
    _conflict(await gql.error(CREATE_PROFILE, other))
    names = [p["name"] for p in (await gql.data("{ weightProfiles { name } }"))["weightProfiles"]]
    assert "other" not in names

    for bad in ("x" * 129, "", " padded", "tab\there", "ключ"):
        error = await gql.error(CREATE_SHOP, {"input": {"name": "Never"}, "key": bad})
        assert error["extensions"]["code"] == "VALIDATION_ERROR", bad
        assert error["extensions"]["field"] == "idempotencyKey"
    assert await _shop_count(gql) == 0


async def test_recorded_measurement_retry_answers_the_same_measurement(
    http: httpx.AsyncClient,
) -> None:
    body = {
        "shopId": "b" * 24,
        "kpiCode": "sla_compliance",
        "periodStart": "2026-10-01T00:00:00Z",
        "periodEnd": "2026-10-02T00:00:00Z",
        "inputs": {"within_sla": 99, "total": 100},
    }
    headers = {"Idempotency-Key": "measure-1"}
    answers = await asyncio.gather(
        *(http.post("/kpi/measurements", json=body, headers=headers) for _ in range(5))
    )
    assert {a.status_code for a in answers} == {201}, [a.text for a in answers]
    assert len({a.json()["id"] for a in answers}) == 1

    replacement = {**body, "inputs": {"within_sla": 98, "total": 100}, "replace": True}
    replacement["reason"] = "corrected count"
    replace_headers = {"Idempotency-Key": "measure-2"}
    replaced = [
        await http.post("/kpi/measurements", json=replacement, headers=replace_headers)
        for _ in range(3)
    ]
    assert {r.json()["revision"] for r in replaced} == {2}, [r.text for r in replaced]

    listed = await http.get("/kpi/measurements", params={"shopId": "b" * 24})
    assert listed.json()["totalCount"] == 1
    assert listed.json()["items"][0]["revision"] == 2

    conflict = await http.post(
        "/kpi/measurements", json={**body, "inputs": {"within_sla": 1, "total": 2}}, headers=headers
    )
    assert conflict.status_code == 409
    assert conflict.json()["error"]["field"] == "idempotencyKey"


async def test_record_measurement_mutation_retry_answers_the_same_measurement(
    gql: GraphQLClient,
) -> None:
    shop_id = await create_shop(gql, "Measured Shop")
    mutation = (
        "mutation($input: RecordMeasurementInput!, $key: String) "
        "{ recordMeasurement(input: $input, idempotencyKey: $key) { id revision } }"
    )
    measurement = {
        "shopId": shop_id,
        "kpiCode": "sla_compliance",
        "periodStart": "2026-10-05T00:00:00Z",
        "periodEnd": "2026-10-06T00:00:00Z",
        "inputs": [{"name": "within_sla", "value": 97}, {"name": "total", "value": 100}],
    }
    answers = await asyncio.gather(
        *(gql.data(mutation, {"input": measurement, "key": "gql-measure"}) for _ in range(4))
    )
    assert len({a["recordMeasurement"]["id"] for a in answers}) == 1
    assert {a["recordMeasurement"]["revision"] for a in answers} == {1}
    changed = {**measurement, "periodEnd": "2026-10-07T00:00:00Z"}
    _conflict(await gql.error(mutation, {"input": changed, "key": "gql-measure"}))


async def test_keys_are_scoped_to_the_caller(
    http: httpx.AsyncClient, analyst: dict[str, str], jwt_for: Callable[..., str]
) -> None:
    """Two clients choosing the same key create two records; neither sees the other's."""
    other = {"Authorization": f"Bearer {jwt_for(Role.ANALYST, sub='someone-else')}"}
    ids = []
    for headers, name in ((analyst, "Mine"), (other, "Theirs"), (analyst, "Mine")):
        answer = await http.post(
            "/graphql",
            json={"query": CREATE_SHOP, "variables": {"input": {"name": name}, "key": "k-1"}},
            headers=headers,
        )
        assert not answer.json().get("errors"), answer.json()
        ids.append(answer.json()["data"]["createShop"]["id"])
    assert ids[0] == ids[2]  # the first caller's retry
    assert ids[1] != ids[0]  # the other caller's own record
