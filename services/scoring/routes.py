"""HTTP endpoints of the scoring service: wire contracts in, domain in the middle, store out."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from services.runtime import idempotency
from services.runtime.auth import Role
from services.runtime.caller import Actor, creator_of, current_actor
from services.runtime.concurrency import check_version
from services.runtime.errors import ValidationFailed
from services.runtime.http import json_response, path_id, query_model, read_model
from services.runtime.openapi import IDEMPOTENCY_KEY, ApiRoute, DeletedByName
from services.runtime.records import Document, new_id, now
from services.runtime.wire import Page, PageQuery, RecordId
from services.scoring import domain, models
from services.scoring.shop_deletions import ShopDeletionStore
from services.scoring.store import ScoreStore

# --- documents → wire -----------------------------------------------------------------------


def shop_out(doc: Document, current: Document | None = None) -> models.Shop:
    """The wire form of a shop document (with its current assessment, if given)."""
    return models.Shop(
        id=doc["_id"],
        name=doc["name"],
        url=doc.get("url"),
        segment=doc.get("segment"),
        created_by=creator_of(doc),
        created_at=doc["created_at"],
        updated_at=doc["updated_at"],
        version=doc.get("version", 0),
        current_score=None if current is None else assessment_out(current),
        score_summary=score_summary(doc.get("current")),
    )


def score_summary(snapshot: Document | None) -> models.ScoreSummary | None:
    """The wire form of a shop's ``current`` snapshot, with the bands of the domain."""
    if not snapshot:
        return None
    criteria = _criteria_of(snapshot["criteria"])
    bands = domain.criterion_bands(criteria)
    return models.ScoreSummary(
        assessment_id=snapshot["assessment_id"],
        sh=snapshot["sh"],
        sh_rounded=domain.shown_sh(snapshot["sh"]),
        band=domain.band_of(snapshot["sh"]),
        criteria=[
            models.CriterionBand(criterion=c, value=criteria[c], band=bands.get(c))
            for c in domain.Criterion
        ],
        created_at=snapshot["at"],
    )


def profile_out(doc: Document) -> models.Profile:
    """The wire form of a profile document."""
    return models.Profile(
        name=doc["_id"],
        description=doc.get("description"),
        weights=models.Weights(**doc["weights"]),
        built_in=bool(doc.get("built_in")),
        created_by=creator_of(doc),
        created_at=doc["created_at"],
        updated_at=doc["updated_at"],
    )


def _criteria_of(doc: Mapping[str, Any]) -> dict[domain.Criterion, float]:
    return {c: float(doc[c.value]) for c in domain.Criterion}


def _weights_of(doc: Mapping[str, Any]) -> dict[domain.Criterion, float]:
    return {c: float(doc[c.value]) for c in domain.WEIGHTED}


def advice_out(advice: domain.Advice) -> models.AdviceOut:
    """The wire form of the advice for an assessment."""
    return models.AdviceOut(
        gains=[
            models.GainOut(
                criterion=g.criterion, value=g.value, weight=g.weight, gain=g.gain, band=g.band
            )
            for g in advice.gains
        ],
        critical=list(advice.critical),
        external_influence=advice.external_influence,
        external_flagged=advice.external_flagged,
    )


def assessment_out(doc: Document) -> models.Assessment:
    """The wire form of an assessment; bands and advice are recomputed by the domain."""
    criteria = _criteria_of(doc["criteria"])
    weights = _weights_of(doc["profile"]["weights"])
    result = domain.score(criteria, weights)
    derived = set(doc.get("derived", []))
    return models.Assessment(
        id=doc["_id"],
        shop_id=doc["shop_id"],
        assessor=doc["assessor"],
        actor=Actor.from_document(doc.get("actor")),
        # Before actors were recorded, "assessor" was the only (free-text) name.
        on_behalf_of=doc["on_behalf_of"] if "actor" in doc else doc["assessor"],
        note=doc.get("note"),
        profile=models.AppliedProfile(
            name=doc["profile"]["name"], weights=models.Weights(**doc["profile"]["weights"])
        ),
        criteria=[
            models.CriterionScore(
                criterion=c,
                value=criteria[c],
                band=result.criterion_bands.get(c),
                weight=weights.get(c, 1.0),
                derived=c.value in derived,
            )
            for c in domain.Criterion
        ],
        components=models.Components.model_validate(doc.get("components") or {}),
        sh=result.sh,
        sh_rounded=result.sh_rounded,
        band=result.band,
        advice=advice_out(domain.advice(criteria, weights)),
        created_at=doc["created_at"],
    )


# --- the assessment as the domain builds it -------------------------------------------------


def build_assessment(
    shop_id: str, body: models.AssessmentCreate, profile: Document, actor: Actor
) -> Document:
    """Derive the criteria, compute ``SH`` and return the document to store (pure); ``actor``
    is the authenticated caller, recorded beside the optional ``onBehalfOf``."""
    weights = domain.check_weights(profile["weights"], "profile.weights")
    interactivity = (
        domain.InteractivityComponents(
            tuple(body.interactivity.product), tuple(body.interactivity.communicative)
        )
        if body.interactivity
        else None
    )
    relevance = (
        domain.RelevanceComponents(
            tuple(domain.Rated(s.name, s.share, s.rating) for s in body.relevance.search_engines),
            tuple(domain.Rated(s.name, s.share, s.rating) for s in body.relevance.catalogues),
        )
        if body.relevance
        else None
    )
    direct = {c: getattr(body.criteria, c.value) for c in domain.Criterion}
    criteria, derived = domain.assemble_criteria(direct, interactivity, relevance)
    result = domain.score(criteria, weights)
    components = models.Components(interactivity=body.interactivity, relevance=body.relevance)
    return {
        "_id": new_id(),
        "shop_id": shop_id,
        "assessor": body.on_behalf_of or actor.name,
        "on_behalf_of": body.on_behalf_of,
        "actor": actor.document(),
        "note": body.note,
        "profile": {"name": profile["_id"], "weights": {c.value: w for c, w in weights.items()}},
        "criteria": {c.value: v for c, v in criteria.items()},
        "derived": sorted(c.value for c in derived),
        "components": components.model_dump(exclude_none=True),
        "sh": result.sh,
        "band": result.band.value,
        "created_at": now(),
    }


# --- endpoints ------------------------------------------------------------------------------


def scoring_routes(
    store: Callable[[], ScoreStore],
    deletions: Callable[[], ShopDeletionStore],
    on_deleted: Callable[[], None],
) -> list[BaseRoute]:
    """The scoring service's routes over the stores that ``store()`` and ``deletions()``
    answer; ``on_deleted`` wakes the deletion dispatcher."""

    async def create_shop(request: Request) -> Response:
        body = await read_model(request, models.ShopCreate)
        key = idempotency.from_request(request, "createShop", body)
        doc = await store().create_shop(
            body.name, str(body.url) if body.url else None, body.segment, key
        )
        return json_response(shop_out(doc), status=201)

    async def list_shops(request: Request) -> Response:
        query = query_model(request, models.ShopListQuery)
        if query.ids is not None:
            docs = await store().shops_by_ids(query.ids)
        else:
            docs, total = await store().list_shops(
                query.sort.value, query.order is models.SortOrder.DESC, query.limit, query.offset
            )
        current = await store().current_of(docs) if query.with_score else {}
        items = [shop_out(d, current.get(d["_id"])) for d in docs]
        if query.ids is not None:
            return json_response(models.ShopBatch(items=items))
        return json_response(
            Page[models.Shop](
                items=items,
                total_count=total,
                limit=query.limit,
                offset=query.offset,
            )
        )

    async def get_shop(request: Request) -> Response:
        return json_response(shop_out(await store().get_shop(path_id(request, "shop_id"))))

    async def update_shop(request: Request) -> Response:
        shop_id = path_id(request, "shop_id")
        body = await read_model(request, models.ShopUpdate)
        changes = body.model_dump(exclude_unset=True, exclude={"expected_version"})
        if "name" in changes and changes["name"] is None:
            raise ValidationFailed("name", "name cannot be cleared")
        if changes.get("url") is not None:
            changes["url"] = str(changes["url"])
        if not changes:
            doc = await store().get_shop(shop_id)
            check_version("shop", shop_id, doc.get("version", 0), body.expected_version)
            return json_response(shop_out(doc))
        doc = await store().update_shop(shop_id, changes, body.expected_version)
        return json_response(shop_out(doc))

    async def delete_shop(request: Request) -> Response:
        shop_id = path_id(request, "shop_id")
        await store().get_shop(shop_id)
        # The deliveries to risk and kpi first: an acknowledged deletion reaches them.
        await deletions().request(shop_id, current_actor())
        await store().remove_shop(shop_id)
        on_deleted()
        return json_response(models.Deleted(id=shop_id, deleted=True))

    async def list_profiles(_: Request) -> Response:
        return json_response([profile_out(d) for d in await store().list_profiles()])

    async def get_profile(request: Request) -> Response:
        return json_response(profile_out(await store().get_profile(request.path_params["name"])))

    async def create_profile(request: Request) -> Response:
        body = await read_model(request, models.ProfileCreate)
        weights = domain.check_weights(body.weights.model_dump())
        key = idempotency.from_request(request, "createWeightProfile", body)
        doc = await store().create_profile(
            body.name, body.description, {c.value: w for c, w in weights.items()}, key
        )
        return json_response(profile_out(doc), status=201)

    async def update_profile(request: Request) -> Response:
        body = await read_model(request, models.ProfileUpdate)
        weights = domain.check_weights(body.weights.model_dump())
        doc = await store().update_profile(
            request.path_params["name"],
            body.description,
            {c.value: w for c, w in weights.items()},
        )
        return json_response(profile_out(doc))

    async def delete_profile(request: Request) -> Response:
        name = request.path_params["name"]
        await store().delete_profile(name)
        return json_response({"name": name, "deleted": True})

    async def create_assessment(request: Request) -> Response:
        shop_id = path_id(request, "shop_id")
        body = await read_model(request, models.AssessmentCreate)
        key = idempotency.from_request(request, "createAssessment", body, {"shopId": shop_id})
        await store().get_shop(shop_id)
        profile = await store().get_profile(body.profile, field="profile")
        document = build_assessment(shop_id, body, profile, current_actor())
        doc = await store().insert_assessment(document, key)
        return json_response(assessment_out(doc), status=201)

    async def shop_history(request: Request) -> Response:
        shop_id = path_id(request, "shop_id")
        page = query_model(request, PageQuery)
        await store().get_shop(shop_id)
        docs, total = await store().shop_history(shop_id, page.limit, page.offset)
        return json_response(
            Page[models.Assessment](
                items=[assessment_out(d) for d in docs],
                total_count=total,
                limit=page.limit,
                offset=page.offset,
            )
        )

    async def shop_histories(request: Request) -> Response:
        query = query_model(request, models.HistoriesQuery)
        pages = await store().shop_histories(query.shop_ids, query.limit, query.offset)
        return json_response(
            models.ShopHistories(
                items=[
                    models.ShopHistory(
                        shop_id=shop_id,
                        items=[assessment_out(d) for d in docs],
                        total_count=total,
                        limit=query.limit,
                        offset=query.offset,
                    )
                    for shop_id, (docs, total) in pages.items()
                ]
            )
        )

    async def get_assessment(request: Request) -> Response:
        doc = await store().get_assessment(path_id(request, "assessment_id"))
        return json_response(assessment_out(doc))

    async def assessments_batch(request: Request) -> Response:
        query = query_model(request, models.IdsQuery)
        docs = await store().assessments_by_ids(query.ids)
        return json_response(models.AssessmentBatch(items=[assessment_out(d) for d in docs]))

    async def current_scores(request: Request) -> Response:
        query = query_model(request, models.ShopIdsQuery)
        docs = await store().current_assessments(query.shop_ids)
        return json_response(models.AssessmentBatch(items=[assessment_out(d) for d in docs]))

    async def ranking(request: Request) -> Response:
        page = query_model(request, PageQuery)
        docs, total = await store().ranking(page.limit, page.offset)
        entries = [
            models.RankingEntry(
                rank=page.offset + index + 1,
                shop_id=d["_id"],
                shop_name=d["name"],
                assessment_id=d["current"]["assessment_id"],
                sh=d["current"]["sh"],
                sh_rounded=domain.shown_sh(d["current"]["sh"]),
                band=domain.band_of(d["current"]["sh"]),
                criteria=d["current"]["criteria"],
            )
            for index, d in enumerate(docs)
        ]
        matrix = [
            models.MatrixRow(criterion=c, values=[e.criteria[c.value] for e in entries])
            for c in domain.Criterion
        ]
        return json_response(
            models.Ranking(
                items=entries,
                matrix=matrix,
                total_count=total,
                limit=page.limit,
                offset=page.offset,
            )
        )

    shop_path = {"shop_id": RecordId}
    return [
        ApiRoute(
            "/shops",
            create_shop,
            "POST",
            headers=IDEMPOTENCY_KEY,
            summary="Create a shop (name unique case-insensitively)",
            body=models.ShopCreate,
            response=models.Shop,
            status=201,
            errors=(409,),
        ),
        ApiRoute(
            "/shops",
            list_shops,
            "GET",
            summary="A page of shops, sorted; or the shops of `ids` (a batch)",
            query=models.ShopListQuery,
            response=Page[models.Shop] | models.ShopBatch,
        ),
        ApiRoute(
            "/shops/{shop_id}",
            get_shop,
            "GET",
            summary="One shop",
            params=shop_path,
            response=models.Shop,
            errors=(404,),
        ),
        ApiRoute(
            "/shops/{shop_id}",
            update_shop,
            "PATCH",
            summary="Change a shop's fields",
            params=shop_path,
            body=models.ShopUpdate,
            response=models.Shop,
            errors=(404, 409),
        ),
        ApiRoute(
            "/shops/{shop_id}",
            delete_shop,
            "DELETE",
            summary="Delete a shop and its assessments; its risks, roadmap, measurements and "
            "targets are then deleted in the risk and kpi services (durably, retried)",
            params=shop_path,
            response=models.Deleted,
            errors=(404, 409),
        ),
        ApiRoute(
            "/shops/{shop_id}/assessments",
            create_assessment,
            "POST",
            headers=IDEMPOTENCY_KEY,
            summary="Record an assessment of a shop",
            params=shop_path,
            body=models.AssessmentCreate,
            response=models.Assessment,
            status=201,
            errors=(404, 409),
        ),
        ApiRoute(
            "/shops/{shop_id}/assessments",
            shop_history,
            "GET",
            summary="A page of a shop's assessments, newest first",
            params=shop_path,
            query=PageQuery,
            response=Page[models.Assessment],
            errors=(404,),
        ),
        ApiRoute(
            "/profiles",
            list_profiles,
            "GET",
            summary="Every weight profile",
            response=list[models.Profile],
        ),
        ApiRoute(
            "/profiles",
            create_profile,
            "POST",
            role=Role.ADMIN,
            headers=IDEMPOTENCY_KEY,
            summary="Create a custom weight profile",
            body=models.ProfileCreate,
            response=models.Profile,
            status=201,
            errors=(409,),
        ),
        ApiRoute(
            "/profiles/{name}",
            get_profile,
            "GET",
            summary="One weight profile",
            params={"name": str},
            response=models.Profile,
            errors=(404,),
        ),
        ApiRoute(
            "/profiles/{name}",
            update_profile,
            "PUT",
            role=Role.ADMIN,
            summary="New weights of a custom profile",
            params={"name": str},
            body=models.ProfileUpdate,
            response=models.Profile,
            errors=(404, 409),
        ),
        ApiRoute(
            "/profiles/{name}",
            delete_profile,
            "DELETE",
            role=Role.ADMIN,
            summary="Delete a custom profile",
            params={"name": str},
            response=DeletedByName,
            errors=(404, 409),
        ),
        ApiRoute(
            "/assessments",
            assessments_batch,
            "GET",
            summary="The assessments of `ids` (a batch)",
            query=models.IdsQuery,
            response=models.AssessmentBatch,
        ),
        ApiRoute(
            "/histories",
            shop_histories,
            "GET",
            summary="A page of assessment history for each shop of `shopIds` (a batch)",
            query=models.HistoriesQuery,
            response=models.ShopHistories,
        ),
        ApiRoute(
            "/assessments/{assessment_id}",
            get_assessment,
            "GET",
            summary="One assessment",
            params={"assessment_id": RecordId},
            response=models.Assessment,
            errors=(404,),
        ),
        ApiRoute(
            "/scores",
            current_scores,
            "GET",
            summary="The current assessment of each shop of `shopIds`",
            query=models.ShopIdsQuery,
            response=models.AssessmentBatch,
        ),
        ApiRoute(
            "/ranking",
            ranking,
            "GET",
            summary="Shops by current SH with the criterion × shop matrix",
            query=PageQuery,
            response=models.Ranking,
        ),
    ]
