"""Zero trust between components (issue 13): every service route needs a credential, each
service enforces the role table itself, and the audit trail names the authenticated caller.

The one-process stack serves each service's REST API under its prefix; the same middleware
and role table guard ``integra serve`` (checked at the end on a real process).
"""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from pydantic import SecretStr

from services.runtime.auth import Role
from services.runtime.service_tokens import key_id
from services.runtime.settings import IntegraSettings
from tests.conftest import TEST_SERVICE_KEY, GraphQLClient, bearer, signed_jwt, stack_client
from tests.e2e.processes import INTEGRA, clean_env
from tests.faults.cluster import cluster, eventually, ready

SERVICES = ("scoring", "risk", "kpi")
OPEN = ("/healthz", "/readyz", "/metrics")
KEY = "service-auth-test-key-of-at-least-32-bytes"
PREVIOUS_KEY = "the-previous-key-of-at-least-32-bytes"


def _operations(document: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(method, concrete path, required role) of every operation of an OpenAPI document."""
    found = []
    for template, operations in document["paths"].items():
        path = re.sub(r"\{[^}]+\}", "a1b2c3d4e5f6a1b2c3d4e5f6", template)
        for method, operation in operations.items():
            found.append((method.upper(), path, operation["x-integra-role"]))
    return found


@pytest.fixture
def keyed(settings: IntegraSettings) -> IntegraSettings:
    """The test settings with a known service key (and one previous key)."""
    return settings.model_copy(
        update={
            "service_token_key": SecretStr(KEY),
            "service_token_previous_keys": [SecretStr(PREVIOUS_KEY)],
        }
    )


async def _documents(client: httpx.AsyncClient) -> dict[str, dict[str, Any]]:
    admin = bearer(signed_jwt(Role.ADMIN))
    answers = {s: await client.get(f"/{s}/openapi.json", headers=admin) for s in SERVICES}
    assert all(a.status_code == 200 for a in answers.values())
    return {service: answer.json() for service, answer in answers.items()}


async def test_no_route_of_any_service_answers_without_a_credential(
    settings: IntegraSettings,
) -> None:
    async with stack_client(settings) as client:
        documents = await _documents(client)
        walked = 0
        for service, document in documents.items():
            assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
            for method, path, _ in _operations(document):
                answer = await client.request(method, f"/{service}{path}", json={})
                assert answer.status_code == 401, (method, service, path, answer.text)
                assert answer.json()["error"]["code"] == "UNAUTHENTICATED"
                assert answer.headers["www-authenticate"].startswith("Bearer")
                walked += 1
            unauthenticated = await client.get(f"/{service}/openapi.json")
            assert unauthenticated.status_code == 401
            for path in OPEN:
                assert (await client.get(f"/{service}{path}")).status_code in (200, 503)
        assert walked > 50


@pytest.mark.parametrize(
    ("caller", "refused"),
    [(Role.VIEWER, {Role.ANALYST, Role.ADMIN}), (Role.ANALYST, {Role.ADMIN})],
)
async def test_each_service_enforces_the_role_table_itself(
    settings: IntegraSettings, caller: Role, refused: set[Role]
) -> None:
    headers = bearer(signed_jwt(caller, sub=f"role-{caller.value}"))
    async with stack_client(settings) as client:
        documents = await _documents(client)
        checked = 0
        for service, document in documents.items():
            for method, path, role in _operations(document):
                if Role(role) not in refused:
                    continue
                answer = await client.request(method, f"/{service}{path}", json={}, headers=headers)
                assert answer.status_code == 403, (caller, method, service, path, answer.text)
                error = answer.json()["error"]
                assert error["code"] == "FORBIDDEN"
                assert role in error["message"]
                checked += 1
        assert checked > 5


def _token(key: str, audience: str, role: Role = Role.ADMIN, lifetime: float = 30) -> str:
    """A service token as a component would sign it (``lifetime`` < 0: an expired one)."""
    claims = {
        "iss": "integra",
        "aud": audience,
        "sub": "jwt:someone",
        "name": "someone",
        "role": role.value,
        "kind": "jwt",
        "exp": int(time.time() + lifetime),
    }
    return jwt.encode(claims, key, algorithm="HS256", headers={"kid": key_id(key)})


async def test_service_tokens_are_checked_for_key_audience_expiry_and_role(
    keyed: IntegraSettings,
) -> None:
    async with stack_client(keyed) as client:

        async def status(token: str, method: str = "GET", path: str = "/scoring/shops") -> int:
            answer = await client.request(method, path, headers=bearer(token), json={})
            return answer.status_code

        assert await status(_token(KEY, "scoring")) == 200
        assert await status(_token(PREVIOUS_KEY, "scoring")) == 200
        assert await status(_token("an-unknown-key-of-at-least-32-bytes!", "scoring")) == 401
        assert await status(_token(KEY, "risk")) == 401  # a token for another service
        assert await status(_token(KEY, "scoring", lifetime=-60)) == 401
        # Defence in depth: a VIEWER token cannot write, whatever the gateway checked.
        viewer = _token(KEY, "scoring", Role.VIEWER)
        assert await status(viewer, "POST", "/scoring/shops") == 403


async def test_history_names_the_authenticated_analyst_whatever_on_behalf_of_says(
    settings: IntegraSettings,
) -> None:
    analyst = bearer(signed_jwt(Role.ANALYST, sub="ana"))
    async with stack_client(settings, analyst) as client:
        gql = GraphQLClient(client)
        shop = await gql.data('mutation { createShop(input: {name: "Audit"}) { id } }')
        shop_id = shop["createShop"]["id"]
        created = await gql.data(
            """mutation($s: ID!) { createRisk(input: {shopId: $s, category: "DATA_QUALITY",
               title: "t", owner: "o", inherent: {likelihood: 3},
               changedBy: "The CEO"}) { id } }""",
            {"s": shop_id},
        )
        risk_id = created["createRisk"]["id"]
        answer = await gql.data(
            """mutation($r: ID!) { updateRisk(id: $r, input: {title: "u",
               onBehalfOf: "ADMIN boss"}) {
                 history { actor { clientId name role kind } onBehalfOf action } } }""",
            {"r": risk_id},
        )
        history = answer["updateRisk"]["history"]
        ana = {"clientId": "jwt:ana", "name": "ana", "role": "ANALYST", "kind": "JWT"}
        assert [h["actor"] for h in history] == [ana, ana]
        assert [h["onBehalfOf"] for h in history] == ["The CEO", "ADMIN boss"]
        assessment = await gql.data(
            """mutation($s: ID!) { recordAssessment(input: {shopId: $s, assessor: "Bob",
               criteria: {U: 1, I: 1, R: 1, C: 1, T: 1, L: 1, S: 1, M: 1, E: 0}}) {
                 assessor onBehalfOf actor { clientId role } } }""",
            {"s": shop_id},
        )
        assert assessment["recordAssessment"] == {
            "assessor": "Bob",
            "onBehalfOf": "Bob",
            "actor": {"clientId": "jwt:ana", "role": "ANALYST"},
        }


async def test_created_records_name_their_creator_and_built_ins_the_service(
    settings: IntegraSettings,
) -> None:
    boss = bearer(signed_jwt(Role.ADMIN, sub="boss"))
    who = "createdBy { clientId role kind }"
    boss_actor = {"clientId": "jwt:boss", "role": "ADMIN", "kind": "JWT"}
    async with stack_client(settings, boss) as client:
        gql = GraphQLClient(client)
        created = await gql.data(
            f"""mutation {{
              shop: createShop(input: {{name: "Made"}}) {{ id {who} }}
              profile: createWeightProfile(input: {{name: "mine", weights: {{U: 0.2, I: 0.1,
                R: 0.1, C: 0.1, T: 0.1, L: 0.1, S: 0.1, M: 0.2}}}}) {{ {who} }}
              rule: createMonitoringRule(input: {{kpiCode: "churn_rate", comparator: GT,
                threshold: 9, category: "DATA_QUALITY"}}) {{ {who} }}
              kpi: createCustomKpi(input: {{code: "orders_per_visit", name: "Orders per visit",
                level: CUSTOMER, unit: "ratio", direction: UP, formula: "orders / visits",
                inputs: [{{name: "orders", kind: COUNT}}, {{name: "visits", kind: COUNT}}]}})
                {{ {who} }}
            }}"""
        )
        assert {name: record["createdBy"] for name, record in created.items()} == {
            "shop": boss_actor, "profile": boss_actor, "rule": boss_actor, "kpi": boss_actor
        }  # fmt: skip
        target = await gql.data(
            """mutation($s: ID!) { setKpiTarget(shopId: $s, kpiCode: "churn_rate",
               input: {comparator: LTE, value: 4}) { setBy { clientId } } }""",
            {"s": created["shop"]["id"]},
        )
        assert target["setKpiTarget"]["setBy"] == {"clientId": "jwt:boss"}
        read = await gql.data(
            f"""query($s: ID!) {{ shop(id: $s) {{ {who} }}
                weightProfiles {{ builtIn {who} }} monitoringRules {{ builtIn {who} }}
                kpi(code: "churn_rate") {{ createdBy {{ clientId }} }}
                custom: kpi(code: "orders_per_visit") {{ createdBy {{ clientId }} }} }}""",
            {"s": created["shop"]["id"]},
        )
        assert read["shop"]["createdBy"] == boss_actor
        built_in = {"clientId": "service:integra", "role": None, "kind": "SERVICE"}
        for listed in (read["weightProfiles"], read["monitoringRules"]):
            assert {r["builtIn"]: r["createdBy"] for r in listed} == {
                True: built_in, False: boss_actor
            }  # fmt: skip
        assert read["kpi"]["createdBy"] is None
        assert read["custom"]["createdBy"] == {"clientId": "jwt:boss"}


async def test_escalations_are_recorded_as_the_kpi_service(settings: IntegraSettings) -> None:
    async with stack_client(settings, bearer(signed_jwt(Role.ANALYST, sub="ana"))) as client:
        gql = GraphQLClient(client)
        shop = await gql.data('mutation { createShop(input: {name: "Breach"}) { id } }')
        shop_id = shop["createShop"]["id"]
        await gql.data(
            """mutation($s: ID!) { recordMeasurement(input: {shopId: $s,
               kpiCode: "sla_compliance", periodStart: "2026-06-02T00:00:00Z",
               periodEnd: "2026-06-03T00:00:00Z",
               inputs: [{name: "within_sla", value: 90}, {name: "total", value: 100}]}) {
                 actor { clientId } } }""",
            {"s": shop_id},
        )

        async def escalated() -> bool:
            data = await gql.data(
                """query($s: ID!) { shop(id: $s) { risks { items {
                     history { actor { clientId kind } } } } } }""",
                {"s": shop_id},
            )
            items = data["shop"]["risks"]["items"]
            return bool(items) and all(
                h["actor"] == {"clientId": "service:kpi", "kind": "SERVICE"}
                for item in items
                for h in item["history"]
            )

        await eventually(escalated, 15, "escalated by service:kpi")


async def test_integra_serve_guards_its_routes_and_needs_a_service_key(
    mongo_uri: str, tmp_path: Path
) -> None:
    with cluster(tmp_path, mongo_uri, ("scoring",)) as running:
        url = running.url("scoring")
        async with httpx.AsyncClient(timeout=10) as client:
            await eventually(lambda: ready(client, url), 30, "scoring ready")
            assert (await client.get(f"{url}/shops")).status_code == 401
            signed = _token(TEST_SERVICE_KEY, "scoring", Role.VIEWER)
            assert (await client.get(f"{url}/shops", headers=bearer(signed))).status_code == 200
            admin = running.service_headers()
            assert (await client.get(f"{url}/shops", headers=admin)).status_code == 200


def test_integra_serve_without_a_service_key_says_what_is_missing(
    mongo_uri: str, tmp_path: Path
) -> None:
    env = clean_env(MONGODB_URI=mongo_uri, INTEGRA_DATA_DIR=str(tmp_path))
    del env["INTEGRA_SERVICE_TOKEN_KEY"]
    done = subprocess.run(
        [INTEGRA, "serve", "risk"], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode != 0
    assert "INTEGRA_SERVICE_TOKEN_KEY" in done.stderr
    assert "Traceback" not in done.stderr


PLATFORM_MEASUREMENT = """mutation($reason: String) { recordMeasurement(input: {
  shopId: "platform", kpiCode: "process_errors", reason: $reason,
  periodStart: "2026-06-02T00:00:00Z", periodEnd: "2026-06-03T00:00:00Z",
  inputs: [{name: "errors", value: 1}, {name: "operations", value: 1000}]}) {
    value actor { clientId } } }"""


@pytest.mark.parametrize(
    ("role", "reason", "allowed"),
    [
        (Role.ANALYST, "looks wrong", False),
        (Role.ADMIN, None, False),
        (Role.ADMIN, "backfill after an outage", True),
    ],
)
async def test_only_the_platform_and_an_admin_with_a_reason_record_into_the_platform_scope(
    settings: IntegraSettings, role: Role, reason: str | None, allowed: bool
) -> None:
    async with stack_client(settings, bearer(signed_jwt(role, sub="someone"))) as client:
        answer = await GraphQLClient(client)(PLATFORM_MEASUREMENT, {"reason": reason})
    if allowed:
        assert answer["data"]["recordMeasurement"]["actor"] == {"clientId": "jwt:someone"}
    else:
        assert answer["data"] is None
        assert answer["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        assert "platform scope" in answer["errors"][0]["message"]
