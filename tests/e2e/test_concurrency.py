"""Concurrent writers through GraphQL: every update is applied or cleanly rejected, none lost.

Risks and shops carry a ``version``; each change is a compare-and-set on it. N writers that
all name the same ``expectedVersion`` end with one applied and N-1 CONFLICTs on
``expectedVersion``; N writers without it are all applied, one after another.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from tests.conftest import GraphQLClient
from tests.e2e.test_scoring_graphql import create_shop

N = 8

RISK = "id version title owner description nextReviewAt actions { id text } history { action }"
CREATE_RISK = f"mutation($input: CreateRiskInput!) {{ createRisk(input: $input) {{ {RISK} }} }}"
UPDATE_RISK = (
    "mutation($id: ID!, $input: UpdateRiskInput!) "
    f"{{ updateRisk(id: $id, input: $input) {{ {RISK} }} }}"
)
ADD_ACTION = (
    "mutation($id: ID!, $input: AddMitigationActionInput!) "
    f"{{ addMitigationAction(riskId: $id, input: $input) {{ {RISK} }} }}"
)
STATUS = (
    "mutation($id: ID!, $input: ChangeRiskStatusInput!) "
    f"{{ changeRiskStatus(id: $id, input: $input) {{ {RISK} status }} }}"
)
GET_RISK = f"query($id: ID!) {{ risk(id: $id) {{ {RISK} }} }}"
UPDATE_SHOP = (
    "mutation($id: ID!, $input: UpdateShopInput!) "
    "{ updateShop(id: $id, input: $input) { id name segment version } }"
)
GET_SHOP = "query($id: ID!) { shop(id: $id) { name segment version } }"


async def _risk(gql: GraphQLClient) -> dict[str, Any]:
    shop_id = await create_shop(gql, "Concurrent Shop")
    data = await gql.data(
        CREATE_RISK,
        {
            "input": {
                "shopId": shop_id,
                "category": "PERFORMANCE_UX",
                "title": "slow checkout",
                "owner": "Olga",
                "inherent": {"likelihood": 2},
                "changedBy": "tester",
            }
        },
    )
    risk: dict[str, Any] = data["createRisk"]
    return risk


def _split(answers: list[Any], field: str) -> tuple[list[Any], list[Any]]:
    applied = [a["data"][field] for a in answers if not a.get("errors")]
    rejected = [e for a in answers for e in a.get("errors") or []]
    return applied, rejected


async def test_conflicting_updates_with_the_same_expected_version_apply_once(
    gql: GraphQLClient,
) -> None:
    risk = await _risk(gql)
    assert risk["version"] == 1
    answers = await asyncio.gather(
        *(
            gql(
                UPDATE_RISK,
                {
                    "id": risk["id"],
                    "input": {"title": f"title {i}", "changedBy": f"w{i}", "expectedVersion": 1},
                },
            )
            for i in range(N)
        )
    )
    applied, rejected = _split(answers, "updateRisk")
    assert len(applied) == 1
    assert len(rejected) == N - 1
    assert {e["extensions"]["code"] for e in rejected} == {"CONFLICT"}
    assert {e["extensions"]["field"] for e in rejected} == {"expectedVersion"}

    stored = (await gql.data(GET_RISK, {"id": risk["id"]}))["risk"]
    assert stored["version"] == 2
    assert stored["title"] == applied[0]["title"]
    assert [h["action"] for h in stored["history"]] == ["CREATED", "UPDATED"]


async def test_concurrent_writers_without_expected_version_all_apply(gql: GraphQLClient) -> None:
    risk = await _risk(gql)
    updates: list[dict[str, Any]] = [
        {"title": "new title"},
        {"owner": "Nils New"},
        {"description": "a longer description"},
        {"nextReviewAt": "2031-01-31"},
    ]
    writes = [
        gql(UPDATE_RISK, {"id": risk["id"], "input": {**u, "changedBy": "w"}}) for u in updates
    ]
    writes += [
        gql(ADD_ACTION, {"id": risk["id"], "input": {"text": f"action {i}", "changedBy": "w"}})
        for i in range(N - len(updates))
    ]
    answers = await asyncio.gather(*writes)
    assert all(not a.get("errors") for a in answers), [a.get("errors") for a in answers]
    versions = sorted(
        (a["data"].get("updateRisk") or a["data"]["addMitigationAction"])["version"]
        for a in answers
    )
    assert versions == list(range(2, N + 2))

    stored = (await gql.data(GET_RISK, {"id": risk["id"]}))["risk"]
    assert stored["version"] == N + 1
    assert len(stored["history"]) == N + 1
    assert stored["title"] == "new title"
    assert stored["owner"] == "Nils New"
    assert stored["description"] == "a longer description"
    assert stored["nextReviewAt"] == "2031-01-31"
    assert sorted(a["text"] for a in stored["actions"]) == [
        f"action {i}" for i in range(N - len(updates))
    ]


async def test_stale_expected_version_writes_nothing_on_status_and_actions(
    gql: GraphQLClient,
) -> None:
    risk = await _risk(gql)
    await gql.data(UPDATE_RISK, {"id": risk["id"], "input": {"owner": "B", "changedBy": "w"}})
    stale_status = await gql.error(
        STATUS,
        {
            "id": risk["id"],
            "input": {
                "status": "ASSESSED",
                "reason": "reviewed",
                "changedBy": "w",
                "expectedVersion": 1,
            },
        },
    )
    stale_action = await gql.error(
        ADD_ACTION,
        {"id": risk["id"], "input": {"text": "x", "changedBy": "w", "expectedVersion": 1}},
    )
    for error in (stale_status, stale_action):
        assert error["extensions"] == {"code": "CONFLICT", "field": "expectedVersion"}
    stored = (await gql.data(GET_RISK, {"id": risk["id"]}))["risk"]
    assert stored["version"] == 2
    assert stored["actions"] == []

    current = await gql.data(
        ADD_ACTION,
        {"id": risk["id"], "input": {"text": "y", "changedBy": "w", "expectedVersion": 2}},
    )
    assert current["addMitigationAction"]["version"] == 3


async def test_shop_updates_with_the_same_expected_version_apply_once(gql: GraphQLClient) -> None:
    shop_id = await create_shop(gql, "Versioned Shop")
    shop = (await gql.data(GET_SHOP, {"id": shop_id}))["shop"]
    answers = await asyncio.gather(
        *(
            gql(
                UPDATE_SHOP,
                {
                    "id": shop_id,
                    "input": {"segment": f"segment {i}", "expectedVersion": shop["version"]},
                },
            )
            for i in range(N)
        )
    )
    applied, rejected = _split(answers, "updateShop")
    assert len(applied) == 1
    assert [e["extensions"] for e in rejected] == [
        {"code": "CONFLICT", "field": "expectedVersion"}
    ] * (N - 1)
    stored = (await gql.data(GET_SHOP, {"id": shop_id}))["shop"]
    assert stored == {
        "name": "Versioned Shop",
        "segment": applied[0]["segment"],
        "version": shop["version"] + 1,
    }

    answers = await asyncio.gather(
        *(gql(UPDATE_SHOP, {"id": shop_id, "input": {"name": f"Shop {i}"}}) for i in range(N))
    )
    applied, rejected = _split(answers, "updateShop")
    assert rejected == []
    assert sorted(a["version"] for a in applied) == list(
        range(shop["version"] + 2, shop["version"] + N + 2)
    )


async def test_concurrent_breach_events_of_one_category_create_one_risk(
    http: httpx.AsyncClient,
) -> None:
    shop = "d" * 24
    events = [
        {
            "eventId": f"breach-{i}",
            "shopId": shop,
            "kpiCode": "sla_compliance",
            "value": 80 + i,
            "measuredAt": f"2026-11-{i + 1:02d}T00:00:00Z",
        }
        for i in range(N)
    ]
    answers = await asyncio.gather(*(http.post("/risk/escalations", json=e) for e in events))
    assert {a.status_code for a in answers} == {200}, [a.text for a in answers]

    listed = await http.get("/risk/risks", params={"shopId": shop, "limit": 100})
    risks = listed.json()["items"]
    assert sorted(r["category"] for r in risks) == ["PERFORMANCE_UX", "VENDOR_RELIABILITY"]
    for risk in risks:
        applied = [h["eventId"] for h in risk["history"]]
        assert sorted(applied) == [f"breach-{i}" for i in range(N)]
        assert risk["version"] == N
