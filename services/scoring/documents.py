"""What the scoring service's writes store: a new assessment, a shop's changed fields.

The formulas are the domain's (:mod:`services.scoring.domain`); this module turns a request
model into the stored layout of :mod:`services.scoring.store`.
"""

from __future__ import annotations

from typing import Any

from services.runtime.caller import Actor
from services.runtime.errors import ValidationFailed
from services.runtime.records import Document, new_id, now
from services.scoring import domain, models


def build_assessment(
    shop_id: str, body: models.AssessmentCreate, profile: Document, actor: Actor
) -> Document:
    """Derive the criteria, compute ``SH`` and return the document to store; ``actor`` is
    the authenticated caller, recorded beside the optional ``onBehalfOf``."""
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


def shop_changes(body: models.ShopUpdate) -> dict[str, Any]:
    """The stored fields a shop update sets (only those the request gives); an explicit
    ``null`` clears ``url`` or ``segment``, never ``name`` (VALIDATION_ERROR)."""
    changes = body.model_dump(exclude_unset=True, exclude={"expected_version"})
    if "name" in changes and changes["name"] is None:
        raise ValidationFailed("name", "name cannot be cleared")
    if changes.get("url") is not None:
        changes["url"] = str(changes["url"])
    return changes


def stored_weights(weights: models.Weights) -> dict[str, float]:
    """A profile's weights as stored, checked by the domain (eight, each ≥ 0, summing to 1)."""
    checked = domain.check_weights(weights.model_dump())
    return {c.value: w for c, w in checked.items()}
