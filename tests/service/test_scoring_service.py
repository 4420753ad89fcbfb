"""ScoringService without HTTP, against a real nx-27017: the contract the gateway will call in
process (one use case per method of :class:`gateway.scoring_client.ScoringClient`).

Each test acts as an authenticated caller (``calling_as``), as the HTTP middleware or the
in-process client would set it; the models are built with ``model_validate`` as a client's
input is. The service enforces roles and idempotency itself.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Iterator
from typing import Any

import pytest

from gateway.scoring_client import ScoringClient
from gateway.scoring_in_process import InProcessScoringClient
from gateway.security.principal import RequestSecurity, serving
from services.runtime.auth import Principal, Role
from services.runtime.caller import calling_as
from services.runtime.errors import ErrorCode, IntegraError
from services.runtime.openapi import ApiRoute
from services.runtime.wire import PageQuery
from services.scoring import models
from services.scoring.domain import Band, Criterion
from services.scoring.routes import scoring_routes
from services.scoring.service import ROLES, ScoringService

ANALYST = Principal("jwt:scoring-analyst", "scoring-analyst", Role.ANALYST, "jwt")
VIEWER = Principal("jwt:scoring-viewer", "scoring-viewer", Role.VIEWER, "jwt")
ADMIN = Principal("jwt:scoring-admin", "scoring-admin", Role.ADMIN, "jwt")
UNKNOWN = "d" * 24


@pytest.fixture
def service(scoring_service: ScoringService) -> ScoringService:
    """The scoring use cases over a fresh database (tests/service/conftest.py)."""
    return scoring_service


@pytest.fixture(autouse=True)
def as_analyst() -> Iterator[None]:
    """The caller of every test, unless it says otherwise."""
    with calling_as(ANALYST):
        yield


def new_shop(name: str = "Books & Co", **extra: Any) -> models.ShopCreate:
    return models.ShopCreate.model_validate({"name": name, "url": "https://books.example", **extra})


def flat(value: float, **extra: Any) -> models.AssessmentCreate:
    """An assessment giving every weighted criterion ``value`` and ``E`` = 0 (so SH = value)."""
    criteria = dict.fromkeys("UIRCTLSM", value) | {"E": 0}
    return models.AssessmentCreate.model_validate({"criteria": criteria, **extra})


def worked_example() -> models.AssessmentCreate:
    """The worked example of domain.md §2.7: I and R derived from their components."""
    return models.AssessmentCreate.model_validate(
        {
            "onBehalfOf": "Ann Auditor",
            "criteria": {"U": 70, "C": 50, "T": 88, "L": 75, "S": 65, "M": 70, "E": 5},
            "interactivity": {"product": [20, 20, 10, 10, 10, 8, 5],
                              "communicative": [50, 10, 10, 5, 0]},
            "relevance": {
                "searchEngines": [{"name": "A", "share": 0.7, "rating": 80},
                                  {"name": "B", "share": 0.2, "rating": 60},
                                  {"name": "C", "share": 0.1, "rating": 40}],
                "catalogues": [{"name": "X", "share": 0.5, "rating": 70},
                               {"name": "Y", "share": 0.5, "rating": 50}],
            },
        }
    )  # fmt: skip


async def refused(call: Any) -> IntegraError:
    with pytest.raises(IntegraError) as error:
        await call
    return error.value


async def test_shops_are_assessed_and_ranked_with_the_callers_actor(
    service: ScoringService,
) -> None:
    worked = await service.create_shop(new_shop("Worked"))
    flat_shop = await service.create_shop(new_shop("Flat"))
    assert worked.created_by.client_id == ANALYST.client_id
    assert (worked.version, worked.score_summary) == (1, None)
    assessment = await service.record_assessment(worked.id, worked_example())
    assert assessment.sh == pytest.approx(67.3314285714, abs=1e-9)
    assert (assessment.sh_rounded, assessment.band) == (67.3, Band.NORMAL)
    derived = {c.criterion for c in assessment.criteria if c.derived}
    assert derived == {Criterion.I, Criterion.R}
    assert [(g.criterion, g.gain) for g in assessment.advice.gains[:2]] == [
        (Criterion.R, 7.43),
        (Criterion.M, 6.0),
    ]
    assert (assessment.actor.client_id, assessment.on_behalf_of) == (
        ANALYST.client_id,
        "Ann Auditor",
    )
    await service.record_assessment(flat_shop.id, flat(80))
    ranking = await service.ranking(PageQuery())
    assert [(e.rank, e.shop_name, e.sh_rounded, e.band) for e in ranking.items] == [
        (1, "Flat", 80.0, Band.GOOD),
        (2, "Worked", 67.3, Band.NORMAL),
    ]
    assert ranking.total_count == 2
    matrix = {row.criterion: row.values for row in ranking.matrix}
    assert matrix[Criterion.I] == pytest.approx([80.0, 81.0])
    shop = await service.get_shop(worked.id)
    assert shop.score_summary is not None
    assert (shop.score_summary.assessment_id, shop.version) == (assessment.id, 2)
    [current] = (await service.current_scores(models.ShopIdsQuery(shop_ids=[worked.id]))).items
    assert current == assessment


async def test_pages_and_batches_of_shops_and_assessments(service: ScoringService) -> None:
    shop = await service.create_shop(new_shop())
    first = await service.record_assessment(shop.id, flat(60))
    second = await service.record_assessment(shop.id, flat(90))
    page = await service.shop_page(models.ShopListQuery(with_score=True))
    [listed] = page.items
    assert (page.total_count, listed.current_score) == (1, second)
    batch = await service.shop_batch(models.ShopListQuery(ids=[UNKNOWN, shop.id]))
    assert [s.id for s in batch.items] == [shop.id]
    assert batch.items[0].current_score is None
    assert await service.list_shops(models.ShopListQuery(ids=[shop.id])) == batch
    history = await service.shop_history(shop.id, PageQuery(limit=1))
    assert ([a.id for a in history.items], history.total_count) == ([second.id], 2)
    [histories] = (
        await service.histories(models.HistoriesQuery(shop_ids=[shop.id], offset=1))
    ).items
    assert [a.id for a in histories.items] == [first.id]
    found = await service.assessments(models.IdsQuery(ids=[first.id, UNKNOWN]))
    assert found.items == [first]
    wrong = await refused(service.shop_page(models.ShopListQuery(ids=[shop.id])))
    assert (wrong.code, wrong.field) == (ErrorCode.VALIDATION_ERROR, "ids")


async def test_the_service_refuses_a_caller_without_the_role(service: ScoringService) -> None:
    assert ROLES["create_shop"] is ROLES["record_assessment"] is Role.ANALYST
    assert ROLES["create_profile"] is ROLES["delete_profile"] is Role.ADMIN
    assert ROLES["ranking"] is ROLES["shop_page"] is Role.VIEWER
    with calling_as(VIEWER):
        assert (await service.ranking(PageQuery())).items == []
        forbidden = await refused(service.create_shop(new_shop()))
    assert (forbidden.code, forbidden.field) == (ErrorCode.FORBIDDEN, "role")
    assert (await service.shop_page(models.ShopListQuery())).total_count == 0
    weights = dict.fromkeys("UIRCTLSM", 0.125)
    profile = models.ProfileCreate.model_validate({"name": "flat", "weights": weights})
    assert (await refused(service.create_profile(profile))).code is ErrorCode.FORBIDDEN


async def test_every_route_declares_the_role_its_use_case_enforces() -> None:
    routes = [r for r in scoring_routes(lambda: None) if isinstance(r, ApiRoute)]  # type: ignore[arg-type, return-value]
    declared = {(r.path, r.contract.method): r.contract.role for r in routes}
    assert declared[("/shops", "post")] is ROLES["create_shop"]
    assert declared[("/shops/{shop_id}/assessments", "post")] is ROLES["record_assessment"]
    assert declared[("/profiles/{name}", "put")] is ROLES["update_profile"] is Role.ADMIN
    assert declared[("/histories", "get")] is ROLES["histories"]


async def test_a_call_without_an_authenticated_caller_is_refused(
    service: ScoringService,
) -> None:
    outside_any_request = contextvars.Context()
    call = asyncio.create_task(service.get_shop(UNKNOWN), context=outside_any_request)
    assert (await refused(call)).code is ErrorCode.UNAUTHENTICATED


async def test_unknown_and_malformed_records(service: ScoringService) -> None:
    missing = await refused(service.get_shop(UNKNOWN))
    assert (missing.code, missing.field) == (ErrorCode.NOT_FOUND, "id")
    malformed = await refused(service.get_shop("not-an-id"))
    assert (malformed.code, malformed.field) == (ErrorCode.INVALID_ID, "shop_id")
    assert (await refused(service.get_assessment(UNKNOWN))).code is ErrorCode.NOT_FOUND
    assert (await refused(service.record_assessment(UNKNOWN, flat(50)))).code is (
        ErrorCode.NOT_FOUND
    )
    shop = await service.create_shop(new_shop())
    no_profile = await refused(service.record_assessment(shop.id, flat(50, profile="nope")))
    assert (no_profile.code, no_profile.field) == (ErrorCode.NOT_FOUND, "profile")
    assert (await refused(service.get_profile("nope"))).code is ErrorCode.NOT_FOUND


async def test_a_retried_key_answers_the_first_record(service: ScoringService) -> None:
    shop = await service.create_shop(new_shop(), idempotency_key="shop-1")
    again = await service.create_shop(new_shop(), idempotency_key="shop-1")
    assert again == shop
    assert (await service.shop_page(models.ShopListQuery())).total_count == 1
    reused = await refused(service.create_shop(new_shop("Other"), idempotency_key="shop-1"))
    assert (reused.code, reused.field) == (ErrorCode.CONFLICT, "idempotencyKey")
    scored = await service.record_assessment(shop.id, flat(70), idempotency_key="a-1")
    retried = await service.record_assessment(shop.id, flat(70), idempotency_key="a-1")
    assert retried == scored
    assert (await service.shop_history(shop.id, PageQuery())).total_count == 1
    bad = await refused(service.create_shop(new_shop("Third"), idempotency_key=" x"))
    assert (bad.code, bad.field) == (ErrorCode.VALIDATION_ERROR, "idempotencyKey")


async def test_shop_changes_versions_and_deletion(service: ScoringService) -> None:
    shop = await service.create_shop(new_shop())
    changed = await service.update_shop(
        shop.id, models.ShopUpdate.model_validate({"url": None, "expectedVersion": 1})
    )
    assert (changed.url, changed.version) == (None, 2)
    stale = models.ShopUpdate.model_validate({"segment": "books", "expectedVersion": 1})
    conflict = await refused(service.update_shop(shop.id, stale))
    assert (conflict.code, conflict.field) == (ErrorCode.CONFLICT, "expectedVersion")
    unnamed = models.ShopUpdate.model_construct(name=None)  # refused by the model, and here
    cleared = await refused(service.update_shop(shop.id, unnamed))
    assert (cleared.code, cleared.field) == (ErrorCode.VALIDATION_ERROR, "name")
    deleted = await service.delete_shop(shop.id)
    assert (deleted.id, deleted.deleted) == (shop.id, True)
    assert (await refused(service.get_shop(shop.id))).code is ErrorCode.NOT_FOUND
    assert (await refused(service.delete_shop(shop.id))).code is ErrorCode.NOT_FOUND


async def test_admins_manage_custom_profiles(service: ScoringService) -> None:
    weights = dict.fromkeys("UIRCTLSM", 0.125)
    body = models.ProfileCreate.model_validate({"name": "Flat", "weights": weights})
    with calling_as(ADMIN):
        profile = await service.create_profile(body, idempotency_key="p-1")
        assert await service.create_profile(body, idempotency_key="p-1") == profile
        unbalanced = models.ProfileUpdate.model_validate({"weights": weights | {"U": 0.5}})
        invalid = await refused(service.update_profile("flat", unbalanced))
        built_in = await refused(service.delete_profile("sherdani-default"))
    assert (profile.name, profile.created_by.client_id) == ("flat", ADMIN.client_id)
    assert (invalid.code, invalid.field) == (ErrorCode.VALIDATION_ERROR, "weights")
    assert (built_in.code, built_in.field) == (ErrorCode.CONFLICT, "name")
    shop = await service.create_shop(new_shop())
    scored = await service.record_assessment(shop.id, flat(40, profile="flat"))
    assert (scored.profile.name, scored.band) == ("flat", Band.CRITICAL)
    assert [p.name for p in await service.list_profiles()] == ["sherdani-default", "flat"]
    with calling_as(ADMIN):
        assert (await service.delete_profile("flat")).deleted
    assert (await service.get_assessment(scored.id)).profile.weights.U == 0.125


async def test_the_gateways_client_is_served_by_the_use_cases(service: ScoringService) -> None:
    """The gateway's in-process client, as the GraphQL caller (an analyst) calls it."""
    client: ScoringClient = InProcessScoringClient(lambda: service)  # mypy: the Protocol is met
    with serving(RequestSecurity(ANALYST, None)):
        await served_by_the_use_cases(client)


async def served_by_the_use_cases(client: ScoringClient) -> None:
    shop = await client.create_shop(new_shop(), "k-1")
    scored = await client.record_assessment(shop.id, flat(75), None)
    [with_score] = await client.shops_by_id([shop.id, UNKNOWN], with_score=True)
    assert with_score.current_score == scored
    assert await client.current_scores([shop.id]) == await client.assessments([scored.id])
    assert (await client.ranking(PageQuery())).items[0].sh == 75
    invalid = await refused(client.assessments(["nope"]))
    assert (invalid.code, invalid.field) == (ErrorCode.VALIDATION_ERROR, "ids.0")
    await client.delete_shop(shop.id)
    assert await client.shops_by_id([shop.id], with_score=False) == []
