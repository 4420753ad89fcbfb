"""The models the scoring service answers, built from stored documents. Pure.

Bands, rounded ``SH`` and advice are not stored: each answer recomputes them with
:mod:`services.scoring.domain`, so a stored assessment always reads as the method says.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from services.runtime.caller import Actor, creator_of
from services.runtime.records import Document
from services.scoring import domain, models


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
    # One validation of the whole summary: half the cost of a model per criterion.
    return models.ScoreSummary.model_validate(
        {
            "assessment_id": snapshot["assessment_id"],
            "sh": snapshot["sh"],
            "sh_rounded": domain.shown_sh(snapshot["sh"]),
            "band": domain.band_of(snapshot["sh"]),
            "criteria": [
                {"criterion": c, "value": criteria[c], "band": bands.get(c)}
                for c in domain.CRITERIA
            ],
            "created_at": snapshot["at"],
        }
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
    return {c: float(doc[c]) for c in domain.CRITERIA}  # a StrEnum is its value as a key


def _weights_of(doc: Mapping[str, Any]) -> dict[domain.Criterion, float]:
    return {c: float(doc[c]) for c in domain.WEIGHTED}


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
            for c in domain.CRITERIA
        ],
        components=models.Components.model_validate(doc.get("components") or {}),
        sh=result.sh,
        sh_rounded=result.sh_rounded,
        band=result.band,
        advice=advice_out(domain.advice(criteria, weights)),
        created_at=doc["created_at"],
    )


def assessment_batch(docs: Sequence[Document]) -> models.AssessmentBatch:
    """The assessments of ``docs``, in their order."""
    return models.AssessmentBatch(items=[assessment_out(d) for d in docs])


def ranking_out(docs: Sequence[Document], total: int, limit: int, offset: int) -> models.Ranking:
    """A page of the ranking from ranked shop documents (``offset`` is the first's place),
    with the criterion × shop matrix of the page."""
    entries = [
        models.RankingEntry(
            rank=offset + index + 1,
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
        for c in domain.CRITERIA
    ]
    return models.Ranking(
        items=entries, matrix=matrix, total_count=total, limit=limit, offset=offset
    )
