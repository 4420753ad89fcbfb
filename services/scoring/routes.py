"""HTTP endpoints of the scoring service: wire contracts in, domain in the middle, store out."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from services.runtime.errors import ValidationFailed
from services.runtime.http import json_response, path_id, query_model, read_model
from services.runtime.wire import Page, PageQuery
from services.scoring import domain, models
from services.scoring.store import Document, ScoreStore, new_id, now

# --- documents → wire -----------------------------------------------------------------------


def shop_out(doc: Document) -> models.Shop:
    """The wire form of a shop document."""
    return models.Shop(
        id=doc["_id"],
        name=doc["name"],
        url=doc.get("url"),
        segment=doc.get("segment"),
        created_at=doc["created_at"],
        updated_at=doc["updated_at"],
    )


def profile_out(doc: Document) -> models.Profile:
    """The wire form of a profile document."""
    return models.Profile(
        name=doc["_id"],
        description=doc.get("description"),
        weights=models.Weights(**doc["weights"]),
        built_in=bool(doc.get("built_in")),
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


def build_assessment(shop_id: str, body: models.AssessmentCreate, profile: Document) -> Document:
    """Derive the criteria, compute ``SH`` and return the document to store (pure)."""
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
        "assessor": body.assessor,
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


def scoring_routes(store: Callable[[], ScoreStore]) -> list[BaseRoute]:
    """The scoring service's routes over the store that ``store()`` answers."""

    async def create_shop(request: Request) -> Response:
        body = await read_model(request, models.ShopCreate)
        doc = await store().create_shop(
            body.name, str(body.url) if body.url else None, body.segment
        )
        return json_response(shop_out(doc), status=201)

    async def list_shops(request: Request) -> Response:
        query = query_model(request, models.ShopListQuery)
        if query.ids is not None:
            docs = await store().shops_by_ids(query.ids)
            return json_response(models.ShopBatch(items=[shop_out(d) for d in docs]))
        docs, total = await store().list_shops(
            query.sort.value, query.order is models.SortOrder.DESC, query.limit, query.offset
        )
        return json_response(
            Page[models.Shop](
                items=[shop_out(d) for d in docs],
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
        changes = body.model_dump(exclude_unset=True)
        if "name" in changes and changes["name"] is None:
            raise ValidationFailed("name", "name cannot be cleared")
        if changes.get("url") is not None:
            changes["url"] = str(changes["url"])
        if not changes:
            return json_response(shop_out(await store().get_shop(shop_id)))
        return json_response(shop_out(await store().update_shop(shop_id, changes)))

    async def delete_shop(request: Request) -> Response:
        shop_id = path_id(request, "shop_id")
        await store().delete_shop(shop_id)
        return json_response(models.Deleted(id=shop_id, deleted=True))

    async def list_profiles(_: Request) -> Response:
        return json_response([profile_out(d) for d in await store().list_profiles()])

    async def get_profile(request: Request) -> Response:
        return json_response(profile_out(await store().get_profile(request.path_params["name"])))

    async def create_profile(request: Request) -> Response:
        body = await read_model(request, models.ProfileCreate)
        weights = domain.check_weights(body.weights.model_dump())
        doc = await store().create_profile(
            body.name, body.description, {c.value: w for c, w in weights.items()}
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
        await store().get_shop(shop_id)
        profile = await store().get_profile(body.profile, field="profile")
        doc = build_assessment(shop_id, body, profile)
        await store().insert_assessment(doc)
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
                sh_rounded=round(d["current"]["sh"], 1),
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

    return [
        Route("/shops", create_shop, methods=["POST"]),
        Route("/shops", list_shops, methods=["GET"]),
        Route("/shops/{shop_id}", get_shop, methods=["GET"]),
        Route("/shops/{shop_id}", update_shop, methods=["PATCH"]),
        Route("/shops/{shop_id}", delete_shop, methods=["DELETE"]),
        Route("/shops/{shop_id}/assessments", create_assessment, methods=["POST"]),
        Route("/shops/{shop_id}/assessments", shop_history, methods=["GET"]),
        Route("/profiles", list_profiles, methods=["GET"]),
        Route("/profiles", create_profile, methods=["POST"]),
        Route("/profiles/{name}", get_profile, methods=["GET"]),
        Route("/profiles/{name}", update_profile, methods=["PUT"]),
        Route("/profiles/{name}", delete_profile, methods=["DELETE"]),
        Route("/assessments", assessments_batch, methods=["GET"]),
        Route("/assessments/{assessment_id}", get_assessment, methods=["GET"]),
        Route("/scores", current_scores, methods=["GET"]),
        Route("/ranking", ranking, methods=["GET"]),
    ]
