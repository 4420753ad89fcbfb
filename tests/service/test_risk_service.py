"""RiskService without HTTP, against a real nx-27017: the contract the gateway will call in process.

Each test acts as an authenticated caller (``calling_as``), as the HTTP middleware or the
in-process client would set it; the models are built with ``model_validate`` as a client's
input is. The service enforces roles, versions and idempotency itself.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from services.risk import models
from services.risk.domain import RiskCategoryCode, RiskStatus
from services.risk.service import ROLES, RiskService
from services.runtime.auth import Principal, Role
from services.runtime.caller import calling_as
from services.runtime.errors import ErrorCode, IntegraError
from services.runtime.wire import Page

SHOP = "c" * 24
ANALYST = Principal("jwt:service-test", "service-test", Role.ANALYST, "jwt")
VIEWER = Principal("jwt:service-viewer", "service-viewer", Role.VIEWER, "jwt")


@pytest.fixture
def service(risk_service: RiskService) -> RiskService:
    """The risk use cases over a fresh database (tests/service/conftest.py)."""
    return risk_service


@pytest.fixture(autouse=True)
def as_analyst() -> Iterator[None]:
    """The caller of every test, unless it says otherwise."""
    with calling_as(ANALYST):
        yield


def new_risk(**extra: Any) -> models.RiskCreate:
    return models.RiskCreate.model_validate(
        {
            "shopId": SHOP,
            "category": "PERFORMANCE_UX",
            "title": "Slow checkout",
            "owner": "ann",
            "inherent": {"likelihood": 3, "impact": "MAJOR"},
            **extra,
        }
    )


async def test_a_risk_moves_along_its_lifecycle_with_the_caller_as_actor(
    service: RiskService,
) -> None:
    risk = await service.create_risk(new_risk())
    assert (risk.status, risk.version, risk.inherent.score) == (RiskStatus.IDENTIFIED, 1, 12)
    assert risk.allowed_transitions == [RiskStatus.ASSESSED]
    for status in (RiskStatus.ASSESSED, RiskStatus.MITIGATING, RiskStatus.MONITORING):
        change = models.StatusChange(status=status, reason=f"to {status}")
        risk = await service.change_status(risk.id, change)
    assert (risk.status, risk.version) == (RiskStatus.MONITORING, 4)
    assert [h.action for h in risk.history] == [
        models.HistoryAction.CREATED,
        *[models.HistoryAction.STATUS_CHANGED] * 3,
    ]
    assert {h.actor.client_id for h in risk.history} == {ANALYST.client_id}
    with pytest.raises(IntegraError) as refused:
        await service.change_status(
            risk.id, models.StatusChange(status=RiskStatus.IDENTIFIED, reason="back")
        )
    assert (refused.value.code, refused.value.field) == (ErrorCode.INVALID_TRANSITION, "status")
    assert (await service.get_risk(risk.id)).version == 4


async def test_mitigations_are_added_once_per_key_and_completed(service: RiskService) -> None:
    risk = await service.create_risk(new_risk())
    body = models.ActionCreate.model_validate({"text": "Add a CDN", "dueAt": "2020-01-01"})
    added = await service.add_action(risk.id, body, idempotency_key="cdn-1")
    again = await service.add_action(risk.id, body, idempotency_key="cdn-1")
    assert [a.text for a in again.actions] == ["Add a CDN"]
    assert again.version == added.version == 2
    [action] = added.actions
    assert action.overdue
    done = await service.update_action(risk.id, action.id, models.ActionUpdate(done=True))
    assert done.actions[0].done
    assert not done.actions[0].overdue
    assert done.history[-1].action is models.HistoryAction.ACTION_UPDATED
    other = models.ActionCreate(text="Something else")
    with pytest.raises(IntegraError) as reused:
        await service.add_action(risk.id, other, idempotency_key="cdn-1")
    assert (reused.value.code, reused.value.field) == (ErrorCode.CONFLICT, "idempotencyKey")


async def test_a_stale_expected_version_is_a_conflict_and_writes_nothing(
    service: RiskService,
) -> None:
    risk = await service.create_risk(new_risk())
    await service.update_risk(risk.id, models.RiskUpdate(title="Slower checkout"))
    stale = models.RiskUpdate(title="Lost update", expected_version=1)
    with pytest.raises(IntegraError) as conflict:
        await service.update_risk(risk.id, stale)
    assert (conflict.value.code, conflict.value.field) == (ErrorCode.CONFLICT, "expectedVersion")
    assert (await service.get_risk(risk.id)).title == "Slower checkout"


async def test_unknown_and_malformed_ids(service: RiskService) -> None:
    with pytest.raises(IntegraError) as missing:
        await service.get_risk("d" * 24)
    assert (missing.value.code, missing.value.field) == (ErrorCode.NOT_FOUND, "risk_id")
    with pytest.raises(IntegraError) as malformed:
        await service.get_risk("not-an-id")
    assert (malformed.value.code, malformed.value.field) == (ErrorCode.INVALID_ID, "risk_id")


async def test_a_domain_validation_error_names_the_request_field(service: RiskService) -> None:
    worse = new_risk(residual={"likelihood": "ALMOST_CERTAIN", "impact": "SEVERE"})
    with pytest.raises(IntegraError) as invalid:
        await service.create_risk(worse)
    assert (invalid.value.code, invalid.value.field) == (ErrorCode.VALIDATION_ERROR, "residual")
    rule = models.RuleCreate.model_validate(
        {"kpiCode": "sla_compliance", "comparator": "LT", "threshold": 90, "category": "NOPE"}
    )
    admin = Principal("jwt:admin", "admin", Role.ADMIN, "jwt")
    with calling_as(admin), pytest.raises(IntegraError) as bad_rule:
        await service.create_rule(rule)
    assert (bad_rule.value.code, bad_rule.value.field) == (ErrorCode.VALIDATION_ERROR, "category")
    page = await service.list_risks(models.RiskListQuery(shop_id=SHOP))
    assert isinstance(page, Page)
    assert page.total_count == 0


async def test_the_service_refuses_a_caller_without_the_role(service: RiskService) -> None:
    assert ROLES["create_risk"] is Role.ANALYST
    assert ROLES["create_rule"] is Role.ADMIN
    with calling_as(VIEWER):
        assert (await service.get_catalogue()).stages
        with pytest.raises(IntegraError) as forbidden:
            await service.create_risk(new_risk())
    assert (forbidden.value.code, forbidden.value.field) == (ErrorCode.FORBIDDEN, "role")
    rule = models.RuleCreate(kpi_code="sla_compliance", comparator="LT", threshold=90,
                             category="DATA_QUALITY")  # fmt: skip
    with pytest.raises(IntegraError) as not_admin:
        await service.create_rule(rule)
    assert not_admin.value.code is ErrorCode.FORBIDDEN


async def test_a_breach_escalates_once_whatever_its_deliveries_and_revisions(
    service: RiskService,
) -> None:
    def event(event_id: str, value: float) -> models.KpiMeasurementEvent:
        return models.KpiMeasurementEvent(
            event_id=event_id,
            shop_id=SHOP,
            kpi_code="team_engagement",
            value=value,
            measured_at=datetime(2026, 5, 1, tzinfo=UTC),
        )

    first = await service.kpi_event(event("m-1", 20.0))
    [escalated] = first.escalations
    assert escalated.category is RiskCategoryCode.PERSONNEL
    assert escalated.created_risk_id is not None
    assert not first.duplicate
    assert (await service.kpi_event(event("m-1", 20.0))).duplicate
    revision = await service.kpi_event(event("m-1:2", 10.0))
    assert revision.escalations[0].escalated_by_event == "m-1"
    risk = await service.get_risk(escalated.created_risk_id)
    assert [h.action for h in risk.history] == [models.HistoryAction.CREATED]
    assert risk.history[0].event_id == "m-1"
    page = await service.list_risks(models.RiskListQuery(shop_id=SHOP))
    assert isinstance(page, Page)
    assert [r.id for r in page.items] == [risk.id]


async def test_a_call_without_an_authenticated_caller_is_refused(service: RiskService) -> None:
    outside_any_request = contextvars.Context()
    call = asyncio.create_task(service.get_risk("d" * 24), context=outside_any_request)
    with pytest.raises(IntegraError) as refused:
        await call
    assert refused.value.code is ErrorCode.UNAUTHENTICATED
