"""Scoring end to end: GraphQL through the gateway into the scoring service and nx-27017."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import GraphQLClient

CREATE_SHOP = (
    "mutation($input: CreateShopInput!) { createShop(input: $input) { id name url segment } }"
)
RECORD = """
mutation($input: RecordAssessmentInput!) {
  recordAssessment(input: $input) {
    id sh shRounded band
    criteria { criterion value band weight derived }
    advice { gains { criterion gain } critical externalInfluence externalFlagged }
    interactivity { product communicative }
    relevance { searchEngines { name share rating } catalogues { name } }
    profile { name weights { criterion weight } }
  }
}
"""
COUNTS = "{ shops(limit: 1) { totalCount } ranking(limit: 1) { totalCount } }"

WORKED: dict[str, Any] = {
    "assessor": "Ann Auditor",
    "criteria": {"U": 70, "C": 50, "T": 88, "L": 75, "S": 65, "M": 70, "E": 5},
    "interactivity": {"product": [20, 20, 10, 10, 10, 8, 5], "communicative": [50, 10, 10, 5, 0]},
    "relevance": {
        "searchEngines": [
            {"name": "Google", "share": 0.7, "rating": 80},
            {"name": "Bing", "share": 0.2, "rating": 60},
            {"name": "DuckDuckGo", "share": 0.1, "rating": 40},
        ],
        "catalogues": [
            {"name": "ShopCompare", "share": 0.5, "rating": 70},
            {"name": "PriceList", "share": 0.5, "rating": 50},
        ],
    },
}
DIRECT = {"U": 80, "I": 80, "R": 80, "C": 80, "T": 80, "L": 80, "S": 80, "M": 80, "E": 0}


async def create_shop(gql: GraphQLClient, name: str, **extra: Any) -> str:
    data = await gql.data(CREATE_SHOP, {"input": {"name": name, **extra}})
    shop_id: str = data["createShop"]["id"]
    return shop_id


async def record(gql: GraphQLClient, shop_id: str, **fields: Any) -> Any:
    data = await gql.data(RECORD, {"input": {"shopId": shop_id, **fields}})
    return data["recordAssessment"]


async def test_worked_example_through_graphql(gql: GraphQLClient) -> None:
    shop_id = await create_shop(gql, "Northwind", url="https://northwind.example")
    assessment = await record(gql, shop_id, **WORKED)
    assert assessment["shRounded"] == 67.3
    assert assessment["sh"] == pytest.approx(67.3314285714, abs=1e-9)
    assert assessment["band"] == "NORMAL"
    by_code = {c["criterion"]: c for c in assessment["criteria"]}
    assert by_code["I"]["value"] == pytest.approx(81.0)
    assert [code for code, c in by_code.items() if c["derived"]] == ["I", "R"]
    assert by_code["E"]["band"] is None
    assert by_code["E"]["weight"] == 1
    assert by_code["C"]["band"] == "CRITICAL"
    gains = [(g["criterion"], round(g["gain"], 2)) for g in assessment["advice"]["gains"]]
    assert gains[:3] == [("R", 7.43), ("M", 6.0), ("S", 3.5)]
    assert assessment["advice"]["critical"] == ["C"]
    assert assessment["advice"]["externalFlagged"] is True
    assert assessment["interactivity"]["product"] == [20, 20, 10, 10, 10, 8, 5]
    assert [s["name"] for s in assessment["relevance"]["searchEngines"]] == [
        "Google",
        "Bing",
        "DuckDuckGo",
    ]
    assert assessment["profile"]["name"] == "sherdani-default"

    shop = await gql.data(
        "query($id: ID!) { shop(id: $id) { name url score { id sh band } advice { critical } "
        "assessments { totalCount items { id } } } }",
        {"id": shop_id},
    )
    assert shop["shop"]["score"]["id"] == assessment["id"]
    assert shop["shop"]["advice"]["critical"] == ["C"]
    assert shop["shop"]["assessments"]["totalCount"] == 1
    assert shop["shop"]["url"] == "https://northwind.example/"


async def test_history_is_kept_and_current_score_is_the_latest(gql: GraphQLClient) -> None:
    shop_id = await create_shop(gql, "Evolving")
    first = await record(gql, shop_id, assessor="a", criteria=DIRECT)
    second = await record(gql, shop_id, assessor="b", criteria={**DIRECT, "E": 30})
    data = await gql.data(
        "query($id: ID!) { shop(id: $id) { score { id sh } "
        "assessments(limit: 10) { totalCount items { id assessor sh } } } }",
        {"id": shop_id},
    )
    shop = data["shop"]
    assert shop["score"]["id"] == second["id"]
    assert shop["score"]["sh"] == pytest.approx(50.0)
    assert [a["id"] for a in shop["assessments"]["items"]] == [second["id"], first["id"]]
    assert shop["assessments"]["totalCount"] == 2


async def test_histories_of_many_shops_are_paged_per_shop(gql: GraphQLClient) -> None:
    recorded: dict[str, list[str]] = {}
    for name, count in (("Three", 3), ("One", 1), ("None", 0)):
        shop_id = await create_shop(gql, name)
        recorded[shop_id] = [
            (await record(gql, shop_id, assessor=f"a{i}", criteria=DIRECT))["id"]
            for i in range(count)
        ]
    data = await gql.data(
        "{ shops(limit: 10, sort: NAME) { items { id "
        "assessments(limit: 1, offset: 1) { totalCount limit offset items { id } } } } }"
    )
    for shop in data["shops"]["items"]:
        newest_first = list(reversed(recorded[shop["id"]]))
        page = shop["assessments"]
        assert page["totalCount"] == len(newest_first)
        assert (page["limit"], page["offset"]) == (1, 1)
        assert [a["id"] for a in page["items"]] == newest_first[1:2]


async def test_ranking_orders_shops_by_current_sh_with_the_matrix(gql: GraphQLClient) -> None:
    ids = {}
    for name, value in (("Low", 40), ("High", 90), ("Mid", 70)):
        ids[name] = await create_shop(gql, name)
        await record(
            gql, ids[name], assessor="x", criteria={**dict.fromkeys(DIRECT, value), "E": 0}
        )
    await create_shop(gql, "Unassessed")
    data = await gql.data(
        "{ ranking { totalCount items { rank shopName band shop { id } } "
        "matrix { criterion values } } }"
    )
    ranking = data["ranking"]
    assert [e["shopName"] for e in ranking["items"]] == ["High", "Mid", "Low"]
    assert [e["rank"] for e in ranking["items"]] == [1, 2, 3]
    assert [e["band"] for e in ranking["items"]] == ["EXCELLENT", "GOOD", "CRITICAL"]
    assert ranking["items"][0]["shop"]["id"] == ids["High"]
    assert ranking["totalCount"] == 3
    matrix = {row["criterion"]: row["values"] for row in ranking["matrix"]}
    assert matrix["U"] == [90, 70, 40]
    assert matrix["E"] == [0, 0, 0]
    second_page = await gql.data("{ ranking(limit: 1, offset: 1) { items { rank shopName } } }")
    assert second_page["ranking"]["items"] == [{"rank": 2, "shopName": "Mid"}]


async def test_shops_are_listed_paginated_and_sorted(gql: GraphQLClient) -> None:
    for name in ("bravo", "Alpha", "charlie"):
        await create_shop(gql, name)
    query = "query($o: SortOrder!) { shops(limit: 2, order: $o) { totalCount items { name } } }"
    ascending = await gql.data(query, {"o": "ASC"})
    assert [s["name"] for s in ascending["shops"]["items"]] == ["Alpha", "bravo"]
    assert ascending["shops"]["totalCount"] == 3
    descending = await gql.data(query, {"o": "DESC"})
    assert [s["name"] for s in descending["shops"]["items"]] == ["charlie", "bravo"]


async def test_update_and_delete_a_shop(gql: GraphQLClient) -> None:
    shop_id = await create_shop(gql, "Old name", segment="B2C toys")
    updated = await gql.data(
        'mutation($id: ID!) { updateShop(id: $id, input: {name: "New name", segment: null}) '
        "{ name segment } }",
        {"id": shop_id},
    )
    assert updated["updateShop"] == {"name": "New name", "segment": None}
    await record(gql, shop_id, assessor="x", criteria=DIRECT)
    deleted = await gql.data(
        "mutation($id: ID!) { deleteShop(id: $id) { id deleted } }", {"id": shop_id}
    )
    assert deleted["deleteShop"]["deleted"] is True
    after = await gql.data(COUNTS + "", None)
    assert after["shops"]["totalCount"] == 0
    assert after["ranking"]["totalCount"] == 0
    assert (await gql.data("query($id: ID!) { shop(id: $id) { id } }", {"id": shop_id}))[
        "shop"
    ] is None


async def test_custom_profile_is_recorded_and_later_changes_do_not_rewrite(
    gql: GraphQLClient,
) -> None:
    weights = {**dict.fromkeys("UIRCTLS", 0.0), "M": 1.0}
    await gql.data(
        'mutation($w: WeightsInput!) { createWeightProfile(input: {name: "Marketing-Only", '
        "weights: $w}) { name builtIn } }",
        {"w": weights},
    )
    shop_id = await create_shop(gql, "Profiled")
    assessment = await record(
        gql, shop_id, assessor="x", profile="marketing-only", criteria={**DIRECT, "M": 60, "E": 10}
    )
    assert assessment["sh"] == pytest.approx(50.0)
    await gql.data(
        'mutation($w: WeightsInput!) { updateWeightProfile(name: "marketing-only", '
        "input: {weights: $w}) { name } }",
        {"w": {**dict.fromkeys("UIRCTLS", 0.0), "U": 1.0, "M": 0.0}},
    )
    again = await gql.data(
        "query($id: ID!) { assessment(id: $id) { sh profile { weights { criterion weight } } } }",
        {"id": assessment["id"]},
    )
    weights_then = {w["criterion"]: w["weight"] for w in again["assessment"]["profile"]["weights"]}
    assert weights_then["M"] == 1.0
    assert again["assessment"]["sh"] == pytest.approx(50.0)
    profiles = await gql.data("{ weightProfiles { name builtIn } }")
    assert profiles["weightProfiles"][0] == {"name": "sherdani-default", "builtIn": True}


async def test_built_in_profile_cannot_change(gql: GraphQLClient) -> None:
    error = await gql.error(
        'mutation { deleteWeightProfile(name: "sherdani-default") { deleted } }'
    )
    assert error["extensions"] == {"code": "CONFLICT", "field": "name"}


# --- bad input: a clear error, a stable code, the field named, nothing written --------------


async def counts(gql: GraphQLClient) -> tuple[int, int]:
    data = await gql.data(COUNTS)
    return data["shops"]["totalCount"], data["ranking"]["totalCount"]


@pytest.mark.parametrize(
    ("change", "code", "field"),
    [
        ({"criteria": {**WORKED["criteria"], "U": 101}}, "VALIDATION_ERROR", "criteria.U"),
        ({"criteria": {**WORKED["criteria"], "T": -1}}, "VALIDATION_ERROR", "criteria.T"),
        (
            {"interactivity": {"product": [1, 2, 3], "communicative": [0, 0, 0, 0, 0]}},
            "VALIDATION_ERROR",
            "interactivity.product",
        ),
        (
            {"relevance": {"searchEngines": [{"name": "G", "share": 0.5, "rating": 80}]}},
            "VALIDATION_ERROR",
            "relevance.searchEngines",
        ),
        ({"criteria": {**WORKED["criteria"], "I": 50}}, "VALIDATION_ERROR", "interactivity"),
        ({"profile": "no-such-profile"}, "NOT_FOUND", "profile"),
        ({"assessor": "   "}, "VALIDATION_ERROR", "assessor"),
    ],
)
async def test_invalid_assessment_is_rejected_and_nothing_is_written(
    gql: GraphQLClient, change: dict[str, Any], code: str, field: str
) -> None:
    shop_id = await create_shop(gql, "Target")
    error = await gql.error(RECORD, {"input": {"shopId": shop_id, **WORKED, **change}})
    assert error["extensions"]["code"] == code
    assert error["extensions"]["field"] == field
    assert "Traceback" not in error["message"]
    assert await counts(gql) == (1, 0)


async def test_unknown_and_malformed_shop_ids(gql: GraphQLClient) -> None:
    unknown = await gql.error(RECORD, {"input": {"shopId": "0" * 24, **WORKED}})
    assert unknown["extensions"]["code"] == "NOT_FOUND"
    malformed = await gql.error(RECORD, {"input": {"shopId": '{"$gt": ""}', **WORKED}})
    assert malformed["extensions"] == {"code": "INVALID_ID", "field": "input.shopId"}
    bad_get = await gql.error('{ shop(id: "abc") { id } }')
    assert bad_get["extensions"]["code"] == "INVALID_ID"
    assert await counts(gql) == (0, 0)


async def test_duplicate_name_ignoring_case_is_a_conflict(gql: GraphQLClient) -> None:
    await create_shop(gql, "Acme Store")
    error = await gql.error(CREATE_SHOP, {"input": {"name": "ACME store"}})
    assert error["extensions"] == {"code": "CONFLICT", "field": "name"}
    other = await create_shop(gql, "Other")
    rename = await gql.error(
        'mutation($id: ID!) { updateShop(id: $id, input: {name: "acme STORE"}) { id } }',
        {"id": other},
    )
    assert rename["extensions"]["code"] == "CONFLICT"
    assert await counts(gql) == (2, 0)


@pytest.mark.parametrize(
    ("shop", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"name": "ok", "url": "ftp://files.example"}, "url"),
        ({"name": "ok", "url": "javascript:alert(1)"}, "url"),
    ],
)
async def test_invalid_shop_is_rejected(
    gql: GraphQLClient, shop: dict[str, Any], field: str
) -> None:
    error = await gql.error(CREATE_SHOP, {"input": shop})
    assert error["extensions"] == {"code": "VALIDATION_ERROR", "field": field}
    assert await counts(gql) == (0, 0)


async def test_weights_not_summing_to_one_are_rejected(gql: GraphQLClient) -> None:
    error = await gql.error(
        'mutation($w: WeightsInput!) { createWeightProfile(input: {name: "bad", weights: $w}) '
        "{ name } }",
        {"w": dict.fromkeys("UIRCTLSM", 0.1)},
    )
    assert error["extensions"] == {"code": "VALIDATION_ERROR", "field": "weights"}
    assert "sum to 1" in error["message"]
    profiles = await gql.data("{ weightProfiles { name } }")
    assert [p["name"] for p in profiles["weightProfiles"]] == ["sherdani-default"]


async def test_operator_shaped_names_are_stored_literally(gql: GraphQLClient) -> None:
    names = ['{"$where": "sleep(1000)"}', "$gt", "a.b.$c"]
    for name in names:
        await create_shop(gql, name)
    data = await gql.data("{ shops(limit: 10) { totalCount items { name } } }")
    assert sorted(s["name"] for s in data["shops"]["items"]) == sorted(names)


async def test_graphql_syntax_errors_have_a_code(gql: GraphQLClient) -> None:
    error = await gql.error("{ shops { ")
    assert error["extensions"]["code"] == "GRAPHQL_PARSE_FAILED"
    unknown = await gql.error("{ nope }")
    assert unknown["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


# --- federation ------------------------------------------------------------------------------


async def test_shop_and_assessment_entities_resolve_through_entities(gql: GraphQLClient) -> None:
    shop_id = await create_shop(gql, "Federated")
    assessment = await record(gql, shop_id, assessor="x", criteria=DIRECT)
    data = await gql.data(
        "query($r: [_Any!]!) { _entities(representations: $r) { "
        "... on Shop { id name score { band } } ... on Assessment { id sh } } }",
        {
            "r": [
                {"__typename": "Shop", "id": shop_id},
                {"__typename": "Assessment", "id": assessment["id"]},
                {"__typename": "Shop", "id": "f" * 24},
            ]
        },
    )
    first, second, missing = data["_entities"]
    assert first == {"id": shop_id, "name": "Federated", "score": {"band": "GOOD"}}
    assert second["sh"] == pytest.approx(80)
    assert missing is None


async def test_service_sdl_declares_federation_2_and_shop_key(gql: GraphQLClient) -> None:
    sdl = (await gql.data("{ _service { sdl } }"))["_service"]["sdl"]
    assert '@link(url: "https://specs.apollo.dev/federation/v2.9"' in sdl
    assert 'type Shop @key(fields: "id")' in sdl


# --- batching and metrics --------------------------------------------------------------------


def metric_value(text: str, name: str, **labels: str) -> float:
    total = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                total += sample.value
    return total


async def test_fifty_shops_with_scores_cost_one_call_per_service_level(
    gql: GraphQLClient, http: httpx.AsyncClient
) -> None:
    for index in range(50):
        shop_id = await create_shop(gql, f"Shop {index:02}")
        await record(gql, shop_id, assessor="x", criteria=DIRECT)
    before = (await http.get("/metrics")).text
    data = await gql.data(
        "{ shops(limit: 50) { items { name score { sh } advice { critical } "
        "assessments(limit: 2) { totalCount items { sh } } } } }"
    )
    after = (await http.get("/metrics")).text
    assert len(data["shops"]["items"]) == 50
    assert all(s["score"]["sh"] == pytest.approx(80) for s in data["shops"]["items"])

    def calls(route: str, text: str) -> float:
        return metric_value(text, "gateway_service_calls_total", service="scoring", route=route)

    assert calls("/shops", after) - calls("/shops", before) == 1
    assert calls("/scores", after) - calls("/scores", before) == 0  # the page brings them
    assert calls("/histories", after) - calls("/histories", before) == 1
    assert all(s["assessments"]["totalCount"] == 1 for s in data["shops"]["items"])


async def test_metrics_use_route_templates_and_count_operations(
    gql: GraphQLClient, http: httpx.AsyncClient
) -> None:
    shop_id = await create_shop(gql, "Measured")
    await gql.data(
        'mutation($id: ID!) { updateShop(id: $id, input: {name: "Remeasured"}) { id } }',
        {"id": shop_id},
    )
    direct = await http.patch(f"/scoring/shops/{shop_id}", json={"name": "Direct"})
    assert direct.status_code == 200
    text = (await http.get("/metrics")).text
    assert shop_id not in text
    assert (  # the gateway's in-process call, under the route it serves over HTTP
        metric_value(
            text, "gateway_service_calls_total", service="scoring", route="/shops/{shop_id}"
        )
        >= 1
    )
    assert (
        metric_value(
            text,
            "http_server_request_duration_seconds_count",
            service="scoring",
            http_route="/shops/{shop_id}",
            http_request_method="PATCH",
            http_response_status_code="200",
        )
        >= 1
    )
    assert (
        metric_value(text, "graphql_operations_total", operation_type="mutation", outcome="success")
        >= 1
    )
    assert (
        metric_value(
            text,
            "db_client_operation_duration_seconds_count",
            service="scoring",
            db_system_name="mongodb",
            db_operation_name="insert",
            error_type="",
        )
        >= 1
    )
    assert 'le="0.5"' in text


async def test_health_and_readiness(http: httpx.AsyncClient) -> None:
    assert (await http.get("/healthz")).json() == {"status": "ok"}
    ready = await http.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": True}
    assert ready.json()["services"] == {"scoring": True, "risk": True, "kpi": True}
    direct = await http.get("/scoring/readyz")
    assert direct.json()["checks"] == {"database": True}


async def test_service_http_errors_are_json_with_codes(http: httpx.AsyncClient) -> None:
    unknown_route = await http.get("/scoring/nowhere")
    assert unknown_route.status_code == 404
    assert unknown_route.json()["error"]["code"] == "NOT_FOUND"
    malformed = await http.post(
        "/scoring/shops", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert malformed.status_code == 422
    assert malformed.json()["error"] == {
        "code": "VALIDATION_ERROR",
        "message": "request body is not valid JSON",
        "field": "body",
    }
    injected = await http.post("/scoring/shops", json={"name": "x", "$where": "1"})
    assert injected.status_code == 422
    assert injected.json()["error"]["field"] == "$where"
    too_big = await http.post("/scoring/shops", content=b"x" * 2_000_000)
    assert too_big.status_code == 413
    assert too_big.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"
    bad_id = await http.get("/scoring/shops/not-an-id")
    assert bad_id.json()["error"] == {
        "code": "INVALID_ID",
        "message": "shop_id must be 24 lowercase hexadecimal digits",
        "field": "shop_id",
    }
    listed = await http.get("/scoring/shops")
    assert listed.json()["totalCount"] == 0


SUMMARY_FIELDS = (
    "__typename id shopId sh shRounded band createdAt criteria { criterion name value band }"
)


def scoring_reads(text: str) -> float:
    """MongoDB ``find`` commands the scoring service sent so far."""
    return metric_value(
        text,
        "db_client_operation_duration_seconds_count",
        service="scoring",
        db_operation_name="find",
    )


async def test_scores_from_the_shops_summary_equal_the_assessment_and_read_it_not(
    gql: GraphQLClient, http: httpx.AsyncClient
) -> None:
    """``score { sh band criteria {…} }`` on a shop or a page of shops is answered from the
    shop's own summary of its current assessment: the same values as the assessment, one
    ``find`` (the shops) instead of two, and nothing at all for a shop without a score."""
    assessed = await create_shop(gql, "Summarised")
    await record(gql, assessed, assessor="first", criteria=DIRECT)
    current = await record(gql, assessed, **WORKED)  # I and R derived; the newer one counts
    unassessed = await create_shop(gql, "Not yet")
    full = await gql.data(
        f"query($id: ID!) {{ assessment(id: $id) {{ {SUMMARY_FIELDS} }} }}", {"id": current["id"]}
    )

    before = (await http.get("/metrics")).text
    one = await gql.data(
        f"query($id: ID!) {{ shop(id: $id) {{ name score {{ {SUMMARY_FIELDS} }} }} }}",
        {"id": assessed},
    )
    after_one = (await http.get("/metrics")).text
    page = await gql.data(
        f"{{ shops(limit: 10) {{ items {{ id score {{ ...S }} }} }} }} "
        f"fragment S on Assessment {{ {SUMMARY_FIELDS} }}"
    )
    after_page = (await http.get("/metrics")).text

    assert one["shop"]["score"] == full["assessment"]
    by_id = {s["id"]: s["score"] for s in page["shops"]["items"]}
    assert by_id == {assessed: full["assessment"], unassessed: None}
    assert scoring_reads(after_one) - scoring_reads(before) == 1
    assert scoring_reads(after_page) - scoring_reads(after_one) == 1
    assert metric_value(after_page, "gateway_service_calls_total", route="/scores") == 0

    nothing = await gql.data(
        "query($id: ID!) { shop(id: $id) { score { sh } advice { critical } } }",
        {"id": unassessed},
    )
    assert nothing["shop"] == {"score": None, "advice": None}


async def test_a_score_selection_beyond_the_summary_reads_the_assessment(
    gql: GraphQLClient,
) -> None:
    """Weights, sources, the assessor or advice are not in the summary: a selection asking
    for any of them (here through a fragment, and on the list) gets the assessment's own."""
    shop_id = await create_shop(gql, "Detailed")
    current = await record(gql, shop_id, **WORKED)
    detail = "assessor sh criteria { criterion weight derived } profile { name }"
    full = await gql.data(
        f"query($id: ID!) {{ assessment(id: $id) {{ {detail} }} }}", {"id": current["id"]}
    )
    fragment = f"fragment D on Assessment {{ {detail} }}"
    one = await gql.data(
        f"query($id: ID!) {{ shop(id: $id) {{ score {{ ...D }} }} }} {fragment}", {"id": shop_id}
    )
    page = await gql.data(f"{{ shops(limit: 5) {{ items {{ score {{ ...D }} }} }} }} {fragment}")
    inline = await gql.data(
        "query($id: ID!) { shop(id: $id) { score { sh ... on Assessment { assessor } } } }",
        {"id": shop_id},
    )

    assert one["shop"]["score"] == full["assessment"]
    assert page["shops"]["items"] == [{"score": full["assessment"]}]
    assert inline["shop"]["score"]["assessor"] == WORKED["assessor"]
    derived = {c["criterion"]: c["derived"] for c in full["assessment"]["criteria"]}
    assert (derived["I"], derived["R"], derived["U"]) == (True, True, False)
