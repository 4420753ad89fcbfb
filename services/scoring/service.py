"""The scoring service's use cases (domain.md §1–2): typed async methods, the only caller of
the store.

:class:`ScoringService` is what both adapters call: the HTTP routes
(:mod:`services.scoring.routes`) and, in process, the gateway (each method of
:class:`gateway.scoring_client.ScoringClient` is one use case here, answering the model its
HTTP route answers). Its contract holds whichever adapter calls it:

- **Validation** is the models': a method takes the request and query models of
  :mod:`services.scoring.models` (built by ``model_validate`` or
  :func:`services.runtime.wire.parse`, so invalid input never reaches it) and checks the ids
  it is given itself (INVALID_ID naming the parameter, as the HTTP path does). The domain's
  rules (weights, criteria, components) are VALIDATION_ERROR naming the request's field.
- **Roles** are enforced by each method (:data:`requires`) against the authenticated caller;
  :data:`ROLES` is the role table, which the HTTP routes declare too (OpenAPI, 403).
- **The actor** of every created shop, profile and assessment is the caller of
  :mod:`services.runtime.caller`; a call with no caller is UNAUTHENTICATED. The free-text
  ``onBehalfOf`` travels beside it, never instead.
- **Idempotency keys** are the keyword argument ``idempotency_key`` of the creating methods
  (the ``Idempotency-Key`` header over HTTP): a retry answers the record the first created.

Errors are those of :mod:`services.runtime.errors`; answers are the models the HTTP API
serialises.
"""

from __future__ import annotations

from collections.abc import Callable

from services.runtime.auth import Role
from services.runtime.caller import current_actor
from services.runtime.concurrency import check_version
from services.runtime.errors import ValidationFailed
from services.runtime.idempotency import idempotency_of
from services.runtime.openapi import DeletedByName
from services.runtime.use_cases import RoleTable
from services.runtime.wire import Page, PageQuery, check_id
from services.scoring import models
from services.scoring.answers import (
    assessment_batch,
    assessment_out,
    profile_out,
    ranking_out,
    shop_out,
)
from services.scoring.documents import build_assessment, shop_changes, stored_weights
from services.scoring.shop_deletions import ShopDeletionStore
from services.scoring.store import ScoreStore

USE_CASES = RoleTable()
ROLES = USE_CASES.roles
"""The role each use case needs, by method name (filled by :data:`requires`)."""
requires = USE_CASES.requires
"""A use case that answers FORBIDDEN unless the caller's role includes the given one."""


class ScoringService:
    """Shops, weight profiles, assessments and the ranking.

    ``deletions`` holds the shop deletions still to deliver to risk and kpi; ``on_deleted``
    wakes their dispatcher after a deletion is recorded.
    """

    def __init__(
        self, store: ScoreStore, deletions: ShopDeletionStore, on_deleted: Callable[[], None]
    ) -> None:
        self.store = store
        self.deletions = deletions
        self.on_deleted = on_deleted

    # --- shops -----------------------------------------------------------------------------

    @requires(Role.ANALYST)
    async def create_shop(
        self, body: models.ShopCreate, *, idempotency_key: str | None = None
    ) -> models.Shop:
        """Create a shop (name unique ignoring case: CONFLICT); a retried key answers it."""
        key = idempotency_of("createShop", idempotency_key, body)
        url = str(body.url) if body.url else None
        return shop_out(await self.store.create_shop(body.name, url, body.segment, key))

    @requires(Role.VIEWER)
    async def list_shops(self, query: models.ShopListQuery) -> Page[models.Shop] | models.ShopBatch:
        """A page of shops, sorted; or, with ``ids``, the batch of those shops."""
        if query.ids is not None:
            return await self.shop_batch(query)
        return await self.shop_page(query)

    @requires(Role.VIEWER)
    async def shop_page(self, query: models.ShopListQuery) -> Page[models.Shop]:
        """A page of shops in the query's order (``ids`` must be unset: see :meth:`shop_batch`)."""
        if query.ids is not None:
            raise ValidationFailed("ids", "a page of shops takes no ids (ask for a batch)")
        docs, total = await self.store.list_shops(
            query.sort.value, query.order is models.SortOrder.DESC, query.limit, query.offset
        )
        current = await self.store.current_of(docs) if query.with_score else {}
        items = [shop_out(d, current.get(d["_id"])) for d in docs]
        return Page[models.Shop](
            items=items, total_count=total, limit=query.limit, offset=query.offset
        )

    @requires(Role.VIEWER)
    async def shop_batch(self, query: models.ShopListQuery) -> models.ShopBatch:
        """The shops of ``query.ids`` that exist, in its order, with their current
        assessments as ``currentScore`` when ``withScore``."""
        if query.ids is None:
            raise ValidationFailed("ids", "a batch of shops needs ids")
        docs = await self.store.shops_by_ids(query.ids)
        current = await self.store.current_of(docs) if query.with_score else {}
        return models.ShopBatch(items=[shop_out(d, current.get(d["_id"])) for d in docs])

    @requires(Role.VIEWER)
    async def get_shop(self, shop_id: str) -> models.Shop:
        """One shop; NOT_FOUND naming ``id``."""
        return shop_out(await self.store.get_shop(check_id(shop_id, "shop_id")))

    @requires(Role.ANALYST)
    async def update_shop(self, shop_id: str, body: models.ShopUpdate) -> models.Shop:
        """Change the fields ``body`` sets; none set answers the shop as it is (its
        ``expectedVersion`` still checked: a stale one is CONFLICT)."""
        check_id(shop_id, "shop_id")
        changes = shop_changes(body)
        if not changes:
            doc = await self.store.get_shop(shop_id)
            check_version("shop", shop_id, doc.get("version", 0), body.expected_version)
            return shop_out(doc)
        return shop_out(await self.store.update_shop(shop_id, changes, body.expected_version))

    @requires(Role.ANALYST)
    async def delete_shop(self, shop_id: str) -> models.Deleted:
        """Delete a shop and its assessments; its deletion in risk and kpi is recorded first
        (so an acknowledged deletion reaches them) and delivered in the background."""
        await self.store.get_shop(check_id(shop_id, "shop_id"))
        await self.deletions.request(shop_id, current_actor())
        await self.store.remove_shop(shop_id)
        self.on_deleted()
        return models.Deleted(id=shop_id, deleted=True)

    # --- weight profiles -------------------------------------------------------------------

    @requires(Role.VIEWER)
    async def list_profiles(self) -> list[models.Profile]:
        """Every weight profile, the built-in one first, then by name."""
        return [profile_out(d) for d in await self.store.list_profiles()]

    @requires(Role.VIEWER)
    async def get_profile(self, name: str) -> models.Profile:
        """A weight profile by name; NOT_FOUND naming ``name``."""
        return profile_out(await self.store.get_profile(name))

    @requires(Role.ADMIN)
    async def create_profile(
        self, body: models.ProfileCreate, *, idempotency_key: str | None = None
    ) -> models.Profile:
        """Create a custom profile (its weights checked by the domain); a name in use is
        CONFLICT, unless this key created it."""
        weights = stored_weights(body.weights)
        key = idempotency_of("createWeightProfile", idempotency_key, body)
        return profile_out(
            await self.store.create_profile(body.name, body.description, weights, key)
        )

    @requires(Role.ADMIN)
    async def update_profile(self, name: str, body: models.ProfileUpdate) -> models.Profile:
        """New weights of a custom profile; past assessments keep theirs. The built-in
        profile is CONFLICT."""
        weights = stored_weights(body.weights)
        return profile_out(await self.store.update_profile(name, body.description, weights))

    @requires(Role.ADMIN)
    async def delete_profile(self, name: str) -> DeletedByName:
        """Delete a custom profile; the built-in one is CONFLICT."""
        await self.store.delete_profile(name)
        return DeletedByName(name=name, deleted=True)

    # --- assessments -----------------------------------------------------------------------

    @requires(Role.ANALYST)
    async def record_assessment(
        self, shop_id: str, body: models.AssessmentCreate, *, idempotency_key: str | None = None
    ) -> models.Assessment:
        """Assess a shop under a weight profile (NOT_FOUND naming ``profile``); it becomes
        the shop's current score unless a newer one is. A retried key answers the first."""
        check_id(shop_id, "shop_id")
        key = idempotency_of("createAssessment", idempotency_key, body, {"shopId": shop_id})
        await self.store.get_shop(shop_id)
        profile = await self.store.get_profile(body.profile, field="profile")
        document = build_assessment(shop_id, body, profile, current_actor())
        return assessment_out(await self.store.insert_assessment(document, key))

    @requires(Role.VIEWER)
    async def shop_history(self, shop_id: str, page: PageQuery) -> Page[models.Assessment]:
        """A page of a shop's assessments, newest first; NOT_FOUND for an unknown shop."""
        await self.store.get_shop(check_id(shop_id, "shop_id"))
        docs, total = await self.store.shop_history(shop_id, page.limit, page.offset)
        return Page[models.Assessment](
            items=[assessment_out(d) for d in docs],
            total_count=total,
            limit=page.limit,
            offset=page.offset,
        )

    @requires(Role.VIEWER)
    async def histories(self, query: models.HistoriesQuery) -> models.ShopHistories:
        """A page of history per shop of ``shopIds``, in its order (unknown: empty pages)."""
        pages = await self.store.shop_histories(query.shop_ids, query.limit, query.offset)
        items = [
            models.ShopHistory(
                shop_id=shop_id,
                items=[assessment_out(d) for d in docs],
                total_count=total,
                limit=query.limit,
                offset=query.offset,
            )
            for shop_id, (docs, total) in pages.items()
        ]
        return models.ShopHistories(items=items)

    @requires(Role.VIEWER)
    async def get_assessment(self, assessment_id: str) -> models.Assessment:
        """One assessment; NOT_FOUND."""
        doc = await self.store.get_assessment(check_id(assessment_id, "assessment_id"))
        return assessment_out(doc)

    @requires(Role.VIEWER)
    async def assessments(self, query: models.IdsQuery) -> models.AssessmentBatch:
        """The assessments of ``ids`` that exist, in its order."""
        return assessment_batch(await self.store.assessments_by_ids(query.ids))

    @requires(Role.VIEWER)
    async def current_scores(self, query: models.ShopIdsQuery) -> models.AssessmentBatch:
        """The current assessment of each shop of ``shopIds`` that has one, in its order."""
        return assessment_batch(await self.store.current_assessments(query.shop_ids))

    @requires(Role.VIEWER)
    async def ranking(self, page: PageQuery) -> models.Ranking:
        """Assessed shops by current ``SH``, highest first, with the criterion matrix."""
        docs, total = await self.store.ranking(page.limit, page.offset)
        return ranking_out(docs, total, page.limit, page.offset)
