"""The scoring service as the gateway uses it: one typed interface, and its HTTP implementation.

:class:`ScoringClient` names the operations in the service's own models
(:mod:`services.scoring.models`); it knows nothing of paths, status codes or headers, so an
in-process implementation can stand in for :class:`HttpScoringClient`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from pydantic import TypeAdapter

from gateway.clients import ServiceClient, key_header, query_params, request_body
from services.runtime.wire import Page, PageQuery
from services.scoring import models

ShopPage = Page[models.Shop]
_PROFILES = TypeAdapter(list[models.Profile])


class ScoringClient(Protocol):
    """The scoring service's operations. ``idempotency_key`` is the caller-scoped key
    (:func:`gateway.idempotency.scoped_key`); a missing record raises NOT_FOUND."""

    async def shops(self, query: models.ShopListQuery) -> ShopPage:
        """A page of shops, sorted (``query.ids`` unset)."""
        ...

    async def shops_by_id(self, ids: Sequence[str], *, with_score: bool) -> list[models.Shop]:
        """The shops of ``ids`` that exist (at most 100), with their current assessments
        as ``current_score`` when ``with_score``."""
        ...

    async def current_scores(self, shop_ids: Sequence[str]) -> list[models.Assessment]:
        """The current assessments of the shops that have one (at most 100 shops)."""
        ...

    async def assessments(self, ids: Sequence[str]) -> list[models.Assessment]:
        """The assessments of ``ids`` that exist (at most 100)."""
        ...

    async def histories(self, query: models.HistoriesQuery) -> list[models.ShopHistory]:
        """One page of assessment history per shop of the query, in its order."""
        ...

    async def profiles(self) -> list[models.Profile]:
        """Every weight profile, the built-in one first."""
        ...

    async def profile(self, name: str) -> models.Profile:
        """A weight profile by name."""
        ...

    async def ranking(self, page: PageQuery) -> models.Ranking:
        """Assessed shops by current SH, with the criterion matrix."""
        ...

    async def create_shop(
        self, shop: models.ShopCreate, idempotency_key: str | None
    ) -> models.Shop:
        """Create a shop."""
        ...

    async def update_shop(self, shop_id: str, changes: models.ShopUpdate) -> models.Shop:
        """Change a shop's fields (those set in ``changes``)."""
        ...

    async def delete_shop(self, shop_id: str) -> None:
        """Delete a shop and its assessments (its risks and KPIs follow)."""
        ...

    async def create_profile(
        self, profile: models.ProfileCreate, idempotency_key: str | None
    ) -> models.Profile:
        """Create a custom weight profile."""
        ...

    async def update_profile(self, name: str, changes: models.ProfileUpdate) -> models.Profile:
        """Change a custom profile's weights."""
        ...

    async def delete_profile(self, name: str) -> None:
        """Delete a custom weight profile."""
        ...

    async def record_assessment(
        self, shop_id: str, assessment: models.AssessmentCreate, idempotency_key: str | None
    ) -> models.Assessment:
        """Record an assessment of a shop."""
        ...


class HttpScoringClient:
    """:class:`ScoringClient` over the scoring service's HTTP API. Batches of ids the
    gateway holds are sent unchecked (the service checks them, as it does for any caller)."""

    def __init__(self, transport: ServiceClient) -> None:
        self.transport = transport

    async def shops(self, query: models.ShopListQuery) -> ShopPage:
        """See :meth:`ScoringClient.shops`."""
        answer = await self.transport.send("GET", "/shops", params=query_params(query))
        return ShopPage.model_validate_json(answer)

    async def shops_by_id(self, ids: Sequence[str], *, with_score: bool) -> list[models.Shop]:
        """See :meth:`ScoringClient.shops_by_id`."""
        query = models.ShopListQuery.model_construct(ids=list(ids), with_score=with_score)
        answer = await self.transport.send("GET", "/shops", params=query_params(query))
        return models.ShopBatch.model_validate_json(answer).items

    async def current_scores(self, shop_ids: Sequence[str]) -> list[models.Assessment]:
        """See :meth:`ScoringClient.current_scores`."""
        params = query_params(models.ShopIdsQuery.model_construct(shop_ids=list(shop_ids)))
        answer = await self.transport.send("GET", "/scores", params=params)
        return models.AssessmentBatch.model_validate_json(answer).items

    async def assessments(self, ids: Sequence[str]) -> list[models.Assessment]:
        """See :meth:`ScoringClient.assessments`."""
        params = query_params(models.IdsQuery.model_construct(ids=list(ids)))
        answer = await self.transport.send("GET", "/assessments", params=params)
        return models.AssessmentBatch.model_validate_json(answer).items

    async def histories(self, query: models.HistoriesQuery) -> list[models.ShopHistory]:
        """See :meth:`ScoringClient.histories`."""
        answer = await self.transport.send("GET", "/histories", params=query_params(query))
        return models.ShopHistories.model_validate_json(answer).items

    async def profiles(self) -> list[models.Profile]:
        """See :meth:`ScoringClient.profiles`."""
        return _PROFILES.validate_json(await self.transport.send("GET", "/profiles"))

    async def profile(self, name: str) -> models.Profile:
        """See :meth:`ScoringClient.profile`."""
        answer = await self.transport.send("GET", "/profiles/{name}", path={"name": name})
        return models.Profile.model_validate_json(answer)

    async def ranking(self, page: PageQuery) -> models.Ranking:
        """See :meth:`ScoringClient.ranking`."""
        answer = await self.transport.send("GET", "/ranking", params=query_params(page))
        return models.Ranking.model_validate_json(answer)

    async def create_shop(
        self, shop: models.ShopCreate, idempotency_key: str | None
    ) -> models.Shop:
        """See :meth:`ScoringClient.create_shop`."""
        answer = await self.transport.send(
            "POST", "/shops", content=request_body(shop), headers=key_header(idempotency_key)
        )
        return models.Shop.model_validate_json(answer)

    async def update_shop(self, shop_id: str, changes: models.ShopUpdate) -> models.Shop:
        """See :meth:`ScoringClient.update_shop`."""
        answer = await self.transport.send(
            "PATCH",
            "/shops/{shop_id}",
            path={"shop_id": shop_id},
            content=request_body(changes),
        )
        return models.Shop.model_validate_json(answer)

    async def delete_shop(self, shop_id: str) -> None:
        """See :meth:`ScoringClient.delete_shop`."""
        await self.transport.send("DELETE", "/shops/{shop_id}", path={"shop_id": shop_id})

    async def create_profile(
        self, profile: models.ProfileCreate, idempotency_key: str | None
    ) -> models.Profile:
        """See :meth:`ScoringClient.create_profile`."""
        answer = await self.transport.send(
            "POST",
            "/profiles",
            content=request_body(profile),
            headers=key_header(idempotency_key),
        )
        return models.Profile.model_validate_json(answer)

    async def update_profile(self, name: str, changes: models.ProfileUpdate) -> models.Profile:
        """See :meth:`ScoringClient.update_profile`."""
        answer = await self.transport.send(
            "PUT", "/profiles/{name}", path={"name": name}, content=request_body(changes)
        )
        return models.Profile.model_validate_json(answer)

    async def delete_profile(self, name: str) -> None:
        """See :meth:`ScoringClient.delete_profile`."""
        await self.transport.send("DELETE", "/profiles/{name}", path={"name": name})

    async def record_assessment(
        self, shop_id: str, assessment: models.AssessmentCreate, idempotency_key: str | None
    ) -> models.Assessment:
        """See :meth:`ScoringClient.record_assessment`."""
        answer = await self.transport.send(
            "POST",
            "/shops/{shop_id}/assessments",
            path={"shop_id": shop_id},
            content=request_body(assessment),
            headers=key_header(idempotency_key),
        )
        return models.Assessment.model_validate_json(answer)
