""":class:`gateway.scoring_client.ScoringClient` over the scoring use cases in this process."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from gateway.in_process import InProcessCalls, answer_of, revalidated
from gateway.scoring_client import ShopPage
from services.runtime.wire import PageQuery
from services.scoring import models
from services.scoring.routes import OPERATIONS
from services.scoring.service import ScoringService


class InProcessScoringClient:
    """The scoring service's operations as direct calls of :class:`ScoringService`
    (``service()`` answers the running one)."""

    def __init__(self, service: Callable[[], ScoringService]) -> None:
        self._service = service
        self._call = InProcessCalls("scoring", OPERATIONS)

    async def shops(self, query: models.ShopListQuery) -> ShopPage:
        """See :meth:`ScoringClient.shops`."""
        answer = await self._call(self._service().list_shops, revalidated(query))
        return answer_of(ShopPage, answer)

    async def shops_by_id(self, ids: Sequence[str], *, with_score: bool) -> list[models.Shop]:
        """See :meth:`ScoringClient.shops_by_id`."""
        query = models.ShopListQuery.model_construct(ids=list(ids), with_score=with_score)
        answer = await self._call(self._service().list_shops, revalidated(query))
        return answer_of(models.ShopBatch, answer).items

    async def current_scores(self, shop_ids: Sequence[str]) -> list[models.Assessment]:
        """See :meth:`ScoringClient.current_scores`."""
        query = revalidated(models.ShopIdsQuery.model_construct(shop_ids=list(shop_ids)))
        return (await self._call(self._service().current_scores, query)).items

    async def assessments(self, ids: Sequence[str]) -> list[models.Assessment]:
        """See :meth:`ScoringClient.assessments`."""
        query = revalidated(models.IdsQuery.model_construct(ids=list(ids)))
        return (await self._call(self._service().assessments, query)).items

    async def histories(self, query: models.HistoriesQuery) -> list[models.ShopHistory]:
        """See :meth:`ScoringClient.histories`."""
        return (await self._call(self._service().histories, revalidated(query))).items

    async def profiles(self) -> list[models.Profile]:
        """See :meth:`ScoringClient.profiles`."""
        return await self._call(self._service().list_profiles)

    async def profile(self, name: str) -> models.Profile:
        """See :meth:`ScoringClient.profile`."""
        return await self._call(self._service().get_profile, name)

    async def ranking(self, page: PageQuery) -> models.Ranking:
        """See :meth:`ScoringClient.ranking`."""
        return await self._call(self._service().ranking, revalidated(page))

    async def create_shop(
        self, shop: models.ShopCreate, idempotency_key: str | None
    ) -> models.Shop:
        """See :meth:`ScoringClient.create_shop`."""
        return await self._call(
            self._service().create_shop, revalidated(shop), idempotency_key=idempotency_key
        )

    async def update_shop(self, shop_id: str, changes: models.ShopUpdate) -> models.Shop:
        """See :meth:`ScoringClient.update_shop`."""
        return await self._call(self._service().update_shop, shop_id, revalidated(changes))

    async def delete_shop(self, shop_id: str) -> None:
        """See :meth:`ScoringClient.delete_shop`."""
        await self._call(self._service().delete_shop, shop_id)

    async def create_profile(
        self, profile: models.ProfileCreate, idempotency_key: str | None
    ) -> models.Profile:
        """See :meth:`ScoringClient.create_profile`."""
        return await self._call(
            self._service().create_profile, revalidated(profile), idempotency_key=idempotency_key
        )

    async def update_profile(self, name: str, changes: models.ProfileUpdate) -> models.Profile:
        """See :meth:`ScoringClient.update_profile`."""
        return await self._call(self._service().update_profile, name, revalidated(changes))

    async def delete_profile(self, name: str) -> None:
        """See :meth:`ScoringClient.delete_profile`."""
        await self._call(self._service().delete_profile, name)

    async def record_assessment(
        self, shop_id: str, assessment: models.AssessmentCreate, idempotency_key: str | None
    ) -> models.Assessment:
        """See :meth:`ScoringClient.record_assessment`."""
        return await self._call(
            self._service().record_assessment,
            shop_id,
            revalidated(assessment),
            idempotency_key=idempotency_key,
        )
