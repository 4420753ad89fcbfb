"""KpiUseCases without HTTP, against a real nx-27017: the contract the gateway will call in process.

Each test acts as an authenticated caller (``calling_as``), as the HTTP middleware or the
in-process client would set it; the models are built with ``model_validate`` as a client's
input is. The use cases enforce roles, the scope's writers and idempotency themselves.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Iterator
from typing import Any

import pytest

from services.kpi import models
from services.kpi.domain import TargetStatus
from services.kpi.service import ROLES, KpiUseCases
from services.runtime.auth import Principal, Role
from services.runtime.caller import calling_as
from services.runtime.errors import ErrorCode, IntegraError

SHOP = "c" * 24
ANALYST = Principal("jwt:kpi-service-test", "kpi-service-test", Role.ANALYST, "jwt")
VIEWER = Principal("jwt:kpi-service-viewer", "kpi-service-viewer", Role.VIEWER, "jwt")
ADMIN = Principal("jwt:kpi-service-admin", "kpi-service-admin", Role.ADMIN, "jwt")


@pytest.fixture
def service(kpi_service: KpiUseCases) -> KpiUseCases:
    """The kpi use cases over a fresh database (tests/service/conftest.py)."""
    return kpi_service


@pytest.fixture(autouse=True)
def as_analyst() -> Iterator[None]:
    """The caller of every test, unless it says otherwise."""
    with calling_as(ANALYST):
        yield


def sla(within: int, total: int = 100, day: int = 1, **extra: Any) -> models.MeasurementCreate:
    """An ``sla_compliance`` measurement of :data:`SHOP` for one day of May 2026."""
    return models.MeasurementCreate.model_validate(
        {
            "shopId": SHOP,
            "kpiCode": "sla_compliance",
            "periodStart": f"2026-05-{day:02d}T00:00:00Z",
            "periodEnd": f"2026-05-{day + 1:02d}T00:00:00Z",
            "inputs": {"within_sla": within, "total": total},
            **extra,
        }
    )


async def test_a_measurement_is_recorded_with_its_value_and_the_caller_as_actor(
    service: KpiUseCases,
) -> None:
    recorded = await service.record_measurement(sla(90))
    assert recorded.value == pytest.approx(90.0)
    assert recorded.revision == 1
    assert recorded.actor.client_id == ANALYST.client_id
    assert recorded.escalation.event_id == recorded.id
    page = await service.measurements(models.MeasurementListQuery(shop_id=SHOP))
    assert [m.id for m in page.items] == [recorded.id]
    assert page.items[0].value == pytest.approx(90.0)
    assert page.total_count == 1
    batch = await service.measurements_by_id([recorded.id, "d" * 24])
    assert [m.id for m in batch.items] == [recorded.id]
    assert (await service.get_measurement(recorded.id)).inputs == {"within_sla": 90, "total": 100}


async def test_a_replacement_needs_a_reason_and_keeps_the_revision_before(
    service: KpiUseCases,
) -> None:
    first = await service.record_measurement(sla(90))
    with pytest.raises(IntegraError) as duplicate:
        await service.record_measurement(sla(80))
    assert (duplicate.value.code, duplicate.value.field) == (ErrorCode.CONFLICT, "periodStart")
    with pytest.raises(IntegraError) as no_reason:
        await service.record_measurement(sla(80, replace=True))
    assert (no_reason.value.code, no_reason.value.field) == (ErrorCode.VALIDATION_ERROR, "reason")
    replaced = await service.record_measurement(sla(80, replace=True, reason="recount"))
    assert (replaced.id, replaced.revision) == (first.id, 2)
    assert replaced.value == pytest.approx(80.0)
    assert [h.value for h in replaced.history] == [pytest.approx(90.0)]


async def test_a_retried_key_answers_the_first_measurement_and_records_nothing_more(
    service: KpiUseCases,
) -> None:
    first = await service.record_measurement(sla(90), "sla-may-1")
    again = await service.record_measurement(sla(90), "sla-may-1")
    assert (again.id, again.revision) == (first.id, 1)
    with pytest.raises(IntegraError) as reused:
        await service.record_measurement(sla(70, day=2), "sla-may-1")
    assert (reused.value.code, reused.value.field) == (ErrorCode.CONFLICT, "idempotencyKey")
    page = await service.measurements(models.MeasurementListQuery(shop_id=SHOP))
    assert page.total_count == 1


async def test_domain_errors_name_the_request_fields(service: KpiUseCases) -> None:
    with pytest.raises(IntegraError) as part:
        await service.record_measurement(sla(120))
    assert part.value.code is ErrorCode.VALIDATION_ERROR
    backwards = sla(90, periodEnd="2026-04-30T00:00:00Z")
    with pytest.raises(IntegraError) as period:
        await service.record_measurement(backwards)
    assert (period.value.code, period.value.field) == (ErrorCode.VALIDATION_ERROR, "periodEnd")
    with pytest.raises(IntegraError) as unknown:
        await service.record_measurement(sla(90, kpiCode="no_such_kpi"))
    assert (unknown.value.code, unknown.value.field) == (ErrorCode.NOT_FOUND, "kpiCode")
    with pytest.raises(IntegraError) as malformed:
        await service.get_measurement("not-an-id")
    assert (malformed.value.code, malformed.value.field) == (ErrorCode.INVALID_ID, "measurement_id")
    with pytest.raises(IntegraError) as bad_scope:
        await service.get_target("nope", "sla_compliance")
    assert (bad_scope.value.code, bad_scope.value.field) == (ErrorCode.INVALID_ID, "shopId")


async def test_a_scope_target_is_applied_while_in_force_then_the_default(
    service: KpiUseCases,
) -> None:
    await service.record_measurement(sla(97))
    [shop] = (await service.latest(models.LatestQuery(shop_ids=[SHOP]))).items
    [kpi] = shop.kpis
    assert kpi.target is not None
    assert (kpi.target.source, kpi.target.value) == (models.TargetSource.DEFAULT, 95)
    assert kpi.status is TargetStatus.MET
    body = models.TargetPut.model_validate({"comparator": "GTE", "value": 99})
    target = await service.set_target(SHOP, "sla_compliance", body)
    assert target.set_by.client_id == ANALYST.client_id
    [shop] = (await service.latest(models.LatestQuery(shop_ids=[SHOP]))).items
    [kpi] = shop.kpis
    assert kpi.target is not None
    assert (kpi.target.source, kpi.target.value) == (models.TargetSource.SHOP, 99)
    assert kpi.status is TargetStatus.AT_RISK
    june = models.TargetPut.model_validate(
        {"comparator": "GTE", "value": 99, "periodStart": "2026-06-01T00:00:00Z",
         "periodEnd": "2026-07-01T00:00:00Z"}
    )  # fmt: skip
    await service.set_target(SHOP, "sla_compliance", june)
    [shop] = (await service.latest(models.LatestQuery(shop_ids=[SHOP]))).items
    assert shop.kpis[0].target is not None
    assert shop.kpis[0].target.source is models.TargetSource.DEFAULT
    targets = await service.targets(models.TargetListQuery(shop_id=SHOP))
    assert [t.kpi_code for t in targets.items] == ["sla_compliance"]
    deleted = await service.delete_target(SHOP, "sla_compliance")
    assert deleted.id == f"{SHOP}/sla_compliance"
    with pytest.raises(IntegraError) as gone:
        await service.get_target(SHOP, "sla_compliance")
    assert (gone.value.code, gone.value.field) == (ErrorCode.NOT_FOUND, "kpiCode")


async def test_series_roll_up_each_scope_of_the_batch(service: KpiUseCases) -> None:
    await service.record_measurement(sla(90, day=1))
    await service.record_measurement(sla(70, day=2))
    query = models.SeriesBatchQuery.model_validate(
        {"shopIds": [SHOP, "d" * 24], "kpiCode": "sla_compliance", "grain": "MONTH"}
    )
    mine, other = (await service.series(query)).items
    [point] = mine.points
    assert point.value == pytest.approx(80.0)
    assert point.count == 2
    assert other.points == []


async def test_custom_kpis_are_created_by_an_admin_and_listed_in_order(
    service: KpiUseCases,
) -> None:
    body = models.CustomKpiCreate.model_validate(
        {"code": "orders_per_visit", "name": "orders per visit", "level": "OPERATIONAL",
         "unit": "ratio", "direction": "UP", "formula": "orders / visits",
         "inputs": {"orders": "COUNT", "visits": "COUNT"}}
    )  # fmt: skip
    with pytest.raises(IntegraError) as not_admin:
        await service.create_kpi(body)
    assert not_admin.value.code is ErrorCode.FORBIDDEN
    with calling_as(ADMIN):
        created = await service.create_kpi(body)
    assert created.created_by is not None
    assert (created.built_in, created.created_by.client_id) == (False, ADMIN.client_id)
    batch = await service.kpis(["orders_per_visit", "no_such_kpi", "sla_compliance"])
    assert [k.code for k in batch.items] == ["orders_per_visit", "sla_compliance"]
    page = await service.catalogue(models.CatalogueQuery(offset=0, limit=100))
    assert page.items[-1].code == "orders_per_visit"
    with calling_as(ADMIN):
        assert (await service.delete_kpi("orders_per_visit")).deleted
    with pytest.raises(IntegraError) as missing:
        await service.get_kpi("orders_per_visit")
    assert (missing.value.code, missing.value.field) == (ErrorCode.NOT_FOUND, "code")


async def test_the_use_cases_refuse_a_caller_without_the_role(service: KpiUseCases) -> None:
    assert ROLES["record_measurement"] is Role.ANALYST
    assert ROLES["create_kpi"] is Role.ADMIN
    assert ROLES["profit"] is Role.VIEWER
    with calling_as(VIEWER):
        assert (await service.get_kpi("sla_compliance")).built_in
        with pytest.raises(IntegraError) as forbidden:
            await service.record_measurement(sla(90))
        body = models.TargetPut.model_validate({"comparator": "GTE", "value": 99})
        with pytest.raises(IntegraError) as no_target:
            await service.set_target(SHOP, "sla_compliance", body)
    assert (forbidden.value.code, forbidden.value.field) == (ErrorCode.FORBIDDEN, "role")
    assert no_target.value.code is ErrorCode.FORBIDDEN
    assert (await service.measurements(models.MeasurementListQuery())).total_count == 0


async def test_only_the_platform_or_an_admin_with_a_reason_records_into_platform(
    service: KpiUseCases,
) -> None:
    with pytest.raises(IntegraError) as refused:
        await service.record_measurement(sla(90, shopId="platform"))
    assert (refused.value.code, refused.value.field) == (ErrorCode.FORBIDDEN, "shopId")
    with calling_as(ADMIN):
        recorded = await service.record_measurement(sla(90, shopId="platform", reason="import"))
    assert (recorded.shop_id, recorded.actor.client_id) == ("platform", ADMIN.client_id)


async def test_a_deleted_shop_is_not_found_before_any_rule_is_checked(
    service: KpiUseCases,
) -> None:
    await service.record_measurement(sla(90))
    with calling_as(ADMIN):
        purged = await service.purge_shop(SHOP)
    assert purged.deleted["measurements"] == 1
    with pytest.raises(IntegraError) as gone:
        await service.record_measurement(sla(120, replace=True))  # a part above its whole
    assert (gone.value.code, gone.value.field) == (ErrorCode.NOT_FOUND, "shopId")
    assert (await service.measurements(models.MeasurementListQuery(shop_id=SHOP))).total_count == 0


async def test_the_profit_model_is_a_computation_any_viewer_may_ask(
    service: KpiUseCases,
) -> None:
    indicators = models.ProfitIndicatorsIn.model_validate(
        {"reach": 1000, "c1": 0.5, "c": 0.2, "churn": 10, "pu": 50, "d": 2, "q1": 10, "rt": 5,
         "capex": 100, "h": 1, "cogs": 10, "cac": 5, "crc": 2}
    )  # fmt: skip
    with calling_as(VIEWER):
        answer = await service.profit(indicators)
    assert answer.indicators == indicators


async def test_a_call_without_an_authenticated_caller_is_refused(service: KpiUseCases) -> None:
    outside_any_request = contextvars.Context()
    call = asyncio.create_task(service.latest(models.LatestQuery(shop_ids=[SHOP])),
                               context=outside_any_request)  # fmt: skip
    with pytest.raises(IntegraError) as refused:
        await call
    assert refused.value.code is ErrorCode.UNAUTHENTICATED
