"""The inputs of the scoring mutations; :func:`gateway.types.common.request_model` turns each
into the request model of the scoring service."""

from __future__ import annotations

import strawberry

from gateway.idempotency import EXPECTED_VERSION_DESCRIPTION
from gateway.types.common import CHANGED_BY_DEPRECATION, ON_BEHALF_OF
from services.scoring import domain


@strawberry.input(description="A new shop; the name is unique, ignoring case.")
class CreateShopInput:
    name: str
    url: str | None = None
    segment: str | None = None


@strawberry.input(description="Fields to change; an explicit null clears url or segment.")
class UpdateShopInput:
    name: str | None = strawberry.UNSET
    url: str | None = strawberry.UNSET
    segment: str | None = strawberry.UNSET
    expected_version: int | None = strawberry.field(
        default=strawberry.UNSET, description=EXPECTED_VERSION_DESCRIPTION
    )


@strawberry.input(description="The eight weights of a profile; they must sum to 1.")
class WeightsInput:
    U: float
    I: float  # noqa: E741
    R: float
    C: float
    T: float
    L: float
    S: float
    M: float


@strawberry.input(description="A custom weight profile.")
class CreateWeightProfileInput:
    name: str
    description: str | None = None
    weights: WeightsInput


@strawberry.input(description="New weights for a custom profile; past assessments keep theirs.")
class UpdateWeightProfileInput:
    description: str | None = None
    weights: WeightsInput


@strawberry.input(description="Criteria on the 0–100 scale; give I and R or their components.")
class CriteriaInput:
    U: float
    I: float | None = strawberry.UNSET  # noqa: E741
    R: float | None = strawberry.UNSET
    C: float
    T: float
    L: float
    S: float
    M: float
    E: float


@strawberry.input(description="Points of the 7 product and 5 communicative elements.")
class InteractivityInput:
    product: list[float]
    communicative: list[float]


@strawberry.input(description="A search engine or catalogue: share (0–1) and rating (0–100).")
class RatedInput:
    name: str
    share: float
    rating: float


@strawberry.input(description="Ratings in search engines (6/7) and thematic catalogues (1/7).")
class RelevanceInput:
    search_engines: list[RatedInput]
    catalogues: list[RatedInput] = strawberry.field(default_factory=list)


@strawberry.input(description="A new assessment of a shop.")
class RecordAssessmentInput:
    shop_id: strawberry.ID
    criteria: CriteriaInput
    on_behalf_of: str | None = strawberry.field(default=strawberry.UNSET, description=ON_BEHALF_OF)
    assessor: str | None = strawberry.field(
        default=strawberry.UNSET, deprecation_reason=CHANGED_BY_DEPRECATION
    )
    profile: str = domain.DEFAULT_PROFILE
    note: str | None = strawberry.UNSET
    interactivity: InteractivityInput | None = strawberry.UNSET
    relevance: RelevanceInput | None = strawberry.UNSET
