"""The gateway's in-process risk client against the real risk use cases (nx-27017): the same
contract as over HTTP (validation, caller, roles, errors, metrics) without HTTP."""

from __future__ import annotations

import pytest

from gateway.in_process import InProcessCalls
from gateway.risk_in_process import InProcessRiskClient
from gateway.security.principal import RequestSecurity, serving
from services.risk.routes import OPERATIONS
from services.risk.service import RiskService
from services.runtime.auth import Principal, Role
from services.runtime.errors import ErrorCode, IntegraError
from tests.service.conftest import gateway_calls
from tests.service.test_risk_service import new_risk

ANALYST = Principal("jwt:in-process", "in-process analyst", Role.ANALYST, "jwt")


@pytest.fixture
def client(risk_service: RiskService) -> InProcessRiskClient:
    """The client over the risk use cases, as the one-process stack builds it."""
    return InProcessRiskClient(lambda: risk_service)


async def test_the_graphql_caller_is_the_actor_and_the_call_is_counted_under_its_route(
    client: InProcessRiskClient,
) -> None:
    before = gateway_calls("risk", "/risks", "success")
    with serving(RequestSecurity(ANALYST, None)):
        risk = await client.create_risk(new_risk(), idempotency_key=None)
        [listed] = await client.risks_by_id([risk.id])
    assert listed.id == risk.id
    assert {(h.actor.client_id, h.actor.name) for h in risk.history} == {
        ("jwt:in-process", "in-process analyst")
    }
    # the create and the batch: both on /risks
    assert gateway_calls("risk", "/risks", "success") - before == 2


async def test_outside_a_request_the_gateway_reads_but_cannot_write(
    client: InProcessRiskClient,
) -> None:
    assert len((await client.catalogue()).groups) == 5
    before = gateway_calls("risk", "/risks", "http_4xx")
    with pytest.raises(IntegraError) as refused:
        await client.create_risk(new_risk(), idempotency_key=None)
    assert refused.value.code is ErrorCode.FORBIDDEN
    assert gateway_calls("risk", "/risks", "http_4xx") - before == 1


async def test_a_query_built_unchecked_is_validated_as_over_http(
    client: InProcessRiskClient,
) -> None:
    with pytest.raises(IntegraError) as invalid:
        await client.risks_by_id(["not-an-id"])
    assert invalid.value.code is ErrorCode.VALIDATION_ERROR
    assert invalid.value.field == "ids.0"  # as the HTTP route names it
    with pytest.raises(IntegraError) as missing:
        await client.rule("no_such_rule")
    assert missing.value.code is ErrorCode.NOT_FOUND


async def test_an_unexpected_failure_is_an_internal_error_without_its_text() -> None:
    async def list_risks() -> None:  # a use case that fails in a way no rule names
        raise RuntimeError("password=hunter2")

    call = InProcessCalls("risk", OPERATIONS)
    before = gateway_calls("risk", "/risks", "http_5xx")
    with pytest.raises(IntegraError) as failed:
        await call(list_risks)
    assert (failed.value.code, failed.value.message) == (ErrorCode.INTERNAL_ERROR, "internal error")
    assert failed.value.__cause__ is None
    assert failed.value.__suppress_context__  # the original text is not chained either
    assert gateway_calls("risk", "/risks", "http_5xx") - before == 1
