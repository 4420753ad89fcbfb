"""The scoring queries and mutations: each checks its arguments, calls the typed scoring
client (through the request's DataLoaders for reads by id) and answers the GraphQL types."""

from __future__ import annotations

import strawberry

from gateway.context import Info
from gateway.idempotency import IdempotencyKey, scoped_key
from gateway.types.common import DeletePayload, page_args, request_model
from gateway.types.ranking import Ranking
from gateway.types.scores import ShopSort, SortOrder, WeightProfile
from gateway.types.scoring import Assessment, Shop, ShopPage, needs_full_scores
from gateway.types.scoring_inputs import (
    CreateShopInput,
    CreateWeightProfileInput,
    RecordAssessmentInput,
    UpdateShopInput,
    UpdateWeightProfileInput,
)
from gateway.types.shop_prefetch import prefetch_kpis
from services.runtime.errors import ErrorCode, IntegraError
from services.runtime.wire import PageQuery, check_id, parse
from services.scoring import models


@strawberry.type
class ScoringQuery:
    @strawberry.field(description="A shop by id; null if there is none.")
    async def shop(self, info: Info, id: strawberry.ID) -> Shop | None:
        scoring = info.context.scoring
        loader = scoring.shop if needs_full_scores(info.selected_fields) else scoring.shop_summary
        shop = await loader.load(check_id(str(id)))
        return Shop.from_model(shop) if shop else None

    @strawberry.field(description="A page of shops, sorted.")
    async def shops(
        self,
        info: Info,
        limit: int = 20,
        offset: int = 0,
        sort: ShopSort = models.ShopSort.NAME,
        order: SortOrder = models.SortOrder.ASC,
    ) -> ShopPage:
        with_score = needs_full_scores(info.selected_fields)
        query = parse(
            models.ShopListQuery,
            {**page_args(limit, offset), "sort": sort, "order": order, "with_score": with_score},
        )
        page = await info.context.clients.scoring.shops(query)
        scoring = info.context.scoring
        loader = scoring.shop if with_score else scoring.shop_summary
        for shop in page.items:
            loader.prime(shop.id, shop)
        if with_score:
            scoring.prime_scores(page.items)
        await prefetch_kpis(info, [shop.id for shop in page.items])
        return ShopPage.of(page, Shop.from_model)

    @strawberry.field(description="An assessment by id; null if there is none.")
    async def assessment(self, info: Info, id: strawberry.ID) -> Assessment | None:
        assessment = await info.context.scoring.assessment.load(check_id(str(id)))
        return Assessment.from_model(assessment) if assessment else None

    @strawberry.field(description="Every weight profile, the built-in one first.")
    async def weight_profiles(self, info: Info) -> list[WeightProfile]:
        profiles = await info.context.clients.scoring.profiles()
        return [WeightProfile.from_model(p) for p in profiles]

    @strawberry.field(description="A weight profile by name; null if there is none.")
    async def weight_profile(self, info: Info, name: str) -> WeightProfile | None:
        try:
            profile = await info.context.clients.scoring.profile(name)
        except IntegraError as error:
            if error.code is ErrorCode.NOT_FOUND:
                return None
            raise
        return WeightProfile.from_model(profile)

    @strawberry.field(description="Assessed shops by current SH, with the criterion matrix.")
    async def ranking(self, info: Info, limit: int = 20, offset: int = 0) -> Ranking:
        page = parse(PageQuery, page_args(limit, offset))
        return Ranking.from_model(await info.context.clients.scoring.ranking(page))


@strawberry.type
class ScoringMutation:
    @strawberry.mutation(description="Create a shop.")
    async def create_shop(
        self, info: Info, input: CreateShopInput, idempotency_key: IdempotencyKey = None
    ) -> Shop:
        key = scoped_key(idempotency_key)
        shop = request_model(models.ShopCreate, input)
        return Shop.from_model(await info.context.clients.scoring.create_shop(shop, key))

    @strawberry.mutation(description="Change a shop's name, URL or segment.")
    async def update_shop(self, info: Info, id: strawberry.ID, input: UpdateShopInput) -> Shop:
        shop_id = check_id(str(id))
        changes = request_model(models.ShopUpdate, input)
        return Shop.from_model(await info.context.clients.scoring.update_shop(shop_id, changes))

    @strawberry.mutation(
        description="Delete a shop and its assessments; its risks, roadmap, KPI measurements "
        "and targets follow in the risk and kpi services (stored before the answer, retried "
        "until each accepts)."
    )
    async def delete_shop(self, info: Info, id: strawberry.ID) -> DeletePayload:
        await info.context.clients.scoring.delete_shop(check_id(str(id)))
        return DeletePayload(id=id, deleted=True)

    @strawberry.mutation(description="Create a custom weight profile.")
    async def create_weight_profile(
        self, info: Info, input: CreateWeightProfileInput, idempotency_key: IdempotencyKey = None
    ) -> WeightProfile:
        key = scoped_key(idempotency_key)
        profile = request_model(models.ProfileCreate, input)
        created = await info.context.clients.scoring.create_profile(profile, key)
        return WeightProfile.from_model(created)

    @strawberry.mutation(description="Change a custom profile's weights.")
    async def update_weight_profile(
        self, info: Info, name: str, input: UpdateWeightProfileInput
    ) -> WeightProfile:
        changes = request_model(models.ProfileUpdate, input)
        updated = await info.context.clients.scoring.update_profile(name, changes)
        return WeightProfile.from_model(updated)

    @strawberry.mutation(description="Delete a custom weight profile.")
    async def delete_weight_profile(self, info: Info, name: str) -> DeletePayload:
        await info.context.clients.scoring.delete_profile(name)
        return DeletePayload(id=strawberry.ID(name), deleted=True)

    @strawberry.mutation(description="Record an assessment; SH, bands and advice are computed.")
    async def record_assessment(
        self, info: Info, input: RecordAssessmentInput, idempotency_key: IdempotencyKey = None
    ) -> Assessment:
        shop_id = check_id(str(input.shop_id), "input.shopId")
        key = scoped_key(idempotency_key)
        assessment = request_model(models.AssessmentCreate, input, without={"shop_id"})
        recorded = await info.context.clients.scoring.record_assessment(shop_id, assessment, key)
        return Assessment.from_model(recorded)
