"""Wire contracts of the scoring service: the JSON its HTTP API accepts and answers."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AnyHttpUrl, BeforeValidator, Field, StringConstraints, field_validator

from services.runtime.caller import Actor, OnBehalfOf
from services.runtime.concurrency import ExpectedVersion
from services.runtime.json_types import NOT_NULL, Real
from services.runtime.text import line
from services.runtime.wire import LongText, Page, PageQuery, RecordId, ShortText, WireModel
from services.scoring.domain import Band, Criterion

Score100 = Annotated[Real, Field(ge=0, le=100)]
Weight = Annotated[Real, Field(ge=0, le=1)]
"""A weight of a profile: 0–1 (the eight sum to 1, which the domain checks)."""
Share = Annotated[Real, Field(ge=0, le=1)]
"""A search engine's or catalogue's share: 0–1 (the shares sum to 1, checked by the domain)."""
Points = Annotated[Real, Field(ge=0, le=100)]
"""An interactive element's points (each sum at most 100, checked by the domain)."""
Segment = Annotated[str, line(strip=True, max_length=200)]
ProfileName = Annotated[
    str,
    BeforeValidator(lambda value: value.strip().lower() if isinstance(value, str) else value),
    StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$"),
]

# --- shops ----------------------------------------------------------------------------------


class ShopCreate(WireModel):
    """A new shop: the name is unique case-insensitively."""

    name: ShortText
    url: AnyHttpUrl | None = Field(default=None)
    segment: Segment | None = None

    @field_validator("url")
    @classmethod
    def _http_only(cls, url: AnyHttpUrl | None) -> AnyHttpUrl | None:
        if url is not None and len(str(url)) > 2000:
            raise ValueError("URL must be at most 2000 characters")
        return url


class ShopUpdate(WireModel):
    """Fields to change; an explicit ``null`` clears ``url`` or ``segment``."""

    name: Annotated[ShortText | None, NOT_NULL] = None
    url: AnyHttpUrl | None = None
    segment: Segment | None = None
    expected_version: ExpectedVersion | None = None


class Shop(WireModel):
    """A shop as the API answers it; ``version`` grows by one with every change."""

    id: str
    name: str
    url: str | None
    segment: str | None
    created_by: Actor = Field(description="The authenticated caller who created the shop")
    created_at: datetime
    updated_at: datetime
    version: int
    current_score: Assessment | None = Field(
        default=None,
        exclude_if=lambda score: score is None,
        description="The current assessment: answered only with `withScore=true` (absent when "
        "the shop has none), so a list with scores is one call",
    )
    score_summary: ScoreSummary | None = Field(
        default=None,
        description="SH, band and criteria of the current assessment, from the shop itself (no "
        "read of the assessments); null when the shop has no score",
    )


class ShopSort(StrEnum):
    """Orders a shop list can be sorted by."""

    NAME = "NAME"
    CREATED_AT = "CREATED_AT"
    UPDATED_AT = "UPDATED_AT"
    SH = "SH"


class SortOrder(StrEnum):
    """Ascending or descending."""

    ASC = "ASC"
    DESC = "DESC"


class ShopListQuery(PageQuery):
    """Parameters of ``GET /shops``: a page, sorted; or a batch of ids."""

    sort: ShopSort = ShopSort.NAME
    order: SortOrder = SortOrder.ASC
    ids: list[RecordId] | None = Field(default=None, max_length=100)
    with_score: bool = Field(
        default=False, description="Answer each shop's current assessment as `currentScore`"
    )


class IdsQuery(WireModel):
    """A batch of record ids (at most 100), as DataLoaders send them."""

    ids: list[RecordId] = Field(min_length=1, max_length=100)


class ShopIdsQuery(WireModel):
    """A batch of shop ids (at most 100)."""

    shop_ids: list[RecordId] = Field(min_length=1, max_length=100)


# --- weight profiles ------------------------------------------------------------------------


class Weights(WireModel):
    """The eight weights of a profile (``E`` is always subtracted with weight 1)."""

    U: Weight
    I: Weight  # noqa: E741
    R: Weight
    C: Weight
    T: Weight
    L: Weight
    S: Weight
    M: Weight


class ProfileCreate(WireModel):
    """A custom weight profile."""

    name: ProfileName
    description: LongText | None = None
    weights: Weights


class ProfileUpdate(WireModel):
    """New weights (and description) for a custom profile; past assessments keep theirs."""

    description: LongText | None = None
    weights: Weights


class Profile(WireModel):
    """A weight profile."""

    name: str
    description: str | None
    weights: Weights
    built_in: bool
    created_by: Actor = Field(description="Who created the profile (built-in: the service)")
    created_at: datetime
    updated_at: datetime


# --- assessments ----------------------------------------------------------------------------


class CriteriaInput(WireModel):
    """Criteria entered directly; ``I`` and ``R`` may instead be derived from components."""

    U: Score100
    I: Score100 | None = None  # noqa: E741
    R: Score100 | None = None
    C: Score100
    T: Score100
    L: Score100
    S: Score100
    M: Score100
    E: Score100


class InteractivityInput(WireModel):
    """Points of the 7 product and 5 communicative interactive elements."""

    product: list[Points] = Field(max_length=50)
    communicative: list[Points] = Field(max_length=50)


class RatedInput(WireModel):
    """A search engine or catalogue: its share and the store's rating in it."""

    name: ShortText
    share: Share
    rating: Score100


class RelevanceInput(WireModel):
    """Ratings in search engines (weight 6/7) and thematic catalogues (weight 1/7)."""

    search_engines: list[RatedInput] = Field(max_length=50)
    catalogues: list[RatedInput] = Field(default_factory=list, max_length=50)


class AssessmentCreate(WireModel):
    """A new assessment of a shop."""

    on_behalf_of: OnBehalfOf = None
    profile: ProfileName = "sherdani-default"
    note: LongText | None = None
    criteria: CriteriaInput
    interactivity: InteractivityInput | None = None
    relevance: RelevanceInput | None = None


class CriterionScore(WireModel):
    """One criterion of an assessment: its value, band (none for ``E``), weight, source."""

    criterion: Criterion
    value: float
    band: Band | None
    weight: float
    derived: bool


class GainOut(WireModel):
    """Potential gain of one criterion."""

    criterion: Criterion
    value: float
    weight: float
    gain: float = Field(description="Points of SH, rounded half up to two decimals")
    band: Band


class AdviceOut(WireModel):
    """Where to improve first."""

    gains: list[GainOut]
    critical: list[Criterion]
    external_influence: float
    external_flagged: bool


class AppliedProfile(WireModel):
    """The profile an assessment was computed with, and its weights at that moment."""

    name: str
    weights: Weights


class Components(WireModel):
    """The components derived criteria were computed from."""

    interactivity: InteractivityInput | None = None
    relevance: RelevanceInput | None = None


class CriterionBand(WireModel):
    """One criterion's value and band (none for ``E``)."""

    criterion: Criterion
    value: float
    band: Band | None


class ScoreSummary(WireModel):
    """What a shop keeps of its current assessment: enough for lists and rankings."""

    assessment_id: str
    sh: float
    sh_rounded: float
    band: Band
    criteria: list[CriterionBand]
    created_at: datetime


class Assessment(WireModel):
    """An immutable, timestamped assessment."""

    id: str
    shop_id: str
    assessor: str = Field(description="onBehalfOf, else the actor's name (kept for old clients).")
    actor: Actor
    on_behalf_of: str | None
    note: str | None
    profile: AppliedProfile
    criteria: list[CriterionScore]
    components: Components
    sh: float
    sh_rounded: float
    band: Band
    advice: AdviceOut
    created_at: datetime


class AssessmentBatch(WireModel):
    """Assessments answered for a batch request (order of the request, missing omitted)."""

    items: list[Assessment]


class HistoriesQuery(PageQuery):
    """One page of assessment history for each shop of a batch (at most 100 shops)."""

    shop_ids: list[RecordId] = Field(min_length=1, max_length=100)


class ShopHistory(Page[Assessment]):
    """One page of a shop's assessments, newest first."""

    shop_id: str


class ShopHistories(WireModel):
    """A history page per shop of the request, in its order (unknown shops: empty pages)."""

    items: list[ShopHistory]


class ShopBatch(WireModel):
    """Shops answered for a batch request (order of the request, missing omitted)."""

    items: list[Shop]


# --- ranking --------------------------------------------------------------------------------


class RankingEntry(WireModel):
    """One shop's place in the ranking."""

    rank: int
    shop_id: str
    shop_name: str
    assessment_id: str
    sh: float
    sh_rounded: float
    band: Band
    criteria: dict[str, float]


class MatrixRow(WireModel):
    """One criterion across the ranked shops (values in ranking order)."""

    criterion: Criterion
    values: list[float]


class Ranking(WireModel):
    """Shops ordered by current ``SH`` with the criterion × shop matrix."""

    items: list[RankingEntry]
    matrix: list[MatrixRow]
    total_count: int
    limit: int
    offset: int


class Deleted(WireModel):
    """Outcome of a delete."""

    id: str
    deleted: bool
