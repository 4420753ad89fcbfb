"""The values of the scoring part of the graph: enums, weights, profiles, criteria, advice.

Each type is built from the scoring service's model of the same shape by its ``from_model``.
"""

from __future__ import annotations

from datetime import datetime

import strawberry

from gateway.types.common import Actor, copied
from services.scoring import domain, models

# The services' enums are the public codes; registering them keeps one definition of each.
strawberry.enum(domain.Criterion, description="A criterion of the Sherdani method.")
strawberry.enum(domain.Band, description="Quality band: ≥85, ≥70, ≥55, below 55.")
strawberry.enum(models.ShopSort, description="Orders a shop list can be sorted by.")
strawberry.enum(models.SortOrder, description="Ascending or descending.")
Criterion = domain.Criterion
Band = domain.Band
ShopSort = models.ShopSort
SortOrder = models.SortOrder


@strawberry.type(description="A criterion's weight in a profile.")
class CriterionWeight:
    criterion: Criterion
    weight: float

    @classmethod
    def all_of(cls, weights: models.Weights) -> list[CriterionWeight]:
        """The eight weights of a profile, in the order U, I, R, C, T, L, S, M."""
        return [
            cls(criterion=domain.Criterion(code), weight=getattr(weights, code))
            for code in models.Weights.model_fields
        ]


@strawberry.type(description="A named set of the eight weights; they sum to 1.")
class WeightProfile:
    name: str
    description: str | None
    weights: list[CriterionWeight]
    built_in: bool
    created_by: Actor = strawberry.field(description="Who created it (built-in: the service).")
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_model(cls, profile: models.Profile) -> WeightProfile:
        """The GraphQL form of a weight profile."""
        return copied(
            cls,
            profile,
            weights=CriterionWeight.all_of(profile.weights),
            created_by=Actor.from_model(profile.created_by),
        )


@strawberry.type(description="The profile an assessment was computed with, as it was then.")
class AppliedProfile:
    name: str
    weights: list[CriterionWeight]

    @classmethod
    def from_model(cls, profile: models.AppliedProfile) -> AppliedProfile:
        """The GraphQL form of an assessment's profile."""
        return copied(cls, profile, weights=CriterionWeight.all_of(profile.weights))


@strawberry.type(description="Points of the interactive elements interactivity came from.")
class InteractivityComponents:
    product: list[float]
    communicative: list[float]

    @classmethod
    def from_model(cls, points: models.InteractivityInput) -> InteractivityComponents:
        """The GraphQL form of the interactivity components."""
        return copied(cls, points)


@strawberry.type(description="A search engine or catalogue: share and the store's rating in it.")
class RatedSource:
    name: str
    share: float
    rating: float

    @classmethod
    def from_model(cls, source: models.RatedInput) -> RatedSource:
        """The GraphQL form of a rated source."""
        return copied(cls, source)


@strawberry.type(description="Ratings relevance was derived from.")
class RelevanceComponents:
    search_engines: list[RatedSource]
    catalogues: list[RatedSource]

    @classmethod
    def from_model(cls, ratings: models.RelevanceInput) -> RelevanceComponents:
        """The GraphQL form of the relevance components."""
        return copied(
            cls,
            ratings,
            search_engines=[RatedSource.from_model(s) for s in ratings.search_engines],
            catalogues=[RatedSource.from_model(c) for c in ratings.catalogues],
        )


@strawberry.type(description="Potential gain of bringing one criterion to 100: a·(100 − value).")
class Gain:
    criterion: Criterion
    value: float
    weight: float
    gain: float = strawberry.field(description="Points of SH, two decimals (half up).")
    band: Band


@strawberry.type(description="Where to improve first.")
class Advice:
    gains: list[Gain] = strawberry.field(
        description="Largest potential gain first; equal gains in the order U, I, R, C, T, L, S, M."
    )
    critical: list[Criterion] = strawberry.field(description="Criteria in the CRITICAL band.")
    external_influence: float
    external_flagged: bool = strawberry.field(description="E above 0: conditions unfavourable.")

    @classmethod
    def from_model(cls, advice: models.AdviceOut) -> Advice:
        """The GraphQL form of an assessment's advice."""
        return copied(cls, advice, gains=[copied(Gain, g) for g in advice.gains])


@strawberry.type(description="A criterion's value for one ranked shop.")
class CriterionValue:
    criterion: Criterion
    value: float


@strawberry.type(description="One criterion across the ranked shops, in ranking order.")
class MatrixRow:
    criterion: Criterion
    values: list[float]

    @classmethod
    def from_model(cls, row: models.MatrixRow) -> MatrixRow:
        """The GraphQL form of a ranking matrix row."""
        return copied(cls, row)
