"""The gateway's in-process kpi client against the real kpi use cases (nx-27017): the GraphQL
caller is the service's caller, batches are validated as over HTTP, calls are counted under
the route they would take."""

from __future__ import annotations

import pytest

from gateway.kpi_in_process import InProcessKpiClient
from gateway.security.principal import RequestSecurity, serving
from services.kpi.service import KpiUseCases
from services.runtime.errors import ErrorCode, IntegraError
from tests.service.conftest import gateway_calls
from tests.service.test_kpi_service import ANALYST, sla


@pytest.fixture
def client(kpi_service: KpiUseCases) -> InProcessKpiClient:
    """The client over the kpi use cases, as the one-process stack builds it."""
    return InProcessKpiClient(lambda: kpi_service)


async def test_a_measurement_recorded_in_process_is_the_callers(
    client: InProcessKpiClient,
) -> None:
    before = gateway_calls("kpi", "/measurements", "success")
    with serving(RequestSecurity(ANALYST, None)):
        recorded = await client.record_measurement(sla(90), idempotency_key=None)
        [listed] = await client.measurements_by_id([recorded.id])
    assert listed.id == recorded.id
    assert listed.value == pytest.approx(90.0)
    assert recorded.actor.client_id == ANALYST.client_id
    # the record and the batch
    assert gateway_calls("kpi", "/measurements", "success") - before == 2


async def test_outside_a_request_the_gateway_reads_but_cannot_record(
    client: InProcessKpiClient,
) -> None:
    assert [k.code for k in await client.kpis(["churn_rate", "no_such_kpi"])] == ["churn_rate"]
    with pytest.raises(IntegraError) as refused:
        await client.record_measurement(sla(90), idempotency_key=None)
    assert refused.value.code is ErrorCode.FORBIDDEN
    with pytest.raises(IntegraError) as invalid:
        await client.measurements_by_id(["not-an-id"])
    assert (invalid.value.code, invalid.value.field) == (ErrorCode.VALIDATION_ERROR, "ids.0")
