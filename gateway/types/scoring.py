"""The scoring part of the graph: assessments, shops and the ranking.

Each type is built from the scoring service's model by its ``from_model``. A shop's score is
built from the shop's score summary when the selection asks for no more than it holds
(:mod:`gateway.types.score_selection`): the fields of ``Assessment`` and ``CriterionScore``
the summary lacks resolve from the full assessment, which such a score never needs.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.types.base import get_object_definition
from strawberry.types.nodes import Selection
from strawberry.utils.await_maybe import AwaitableOrValue

from gateway.context import Info
from gateway.types.common import ON_BEHALF_OF, Actor, ItemPage, copied, page_args
from gateway.types.score_selection import needs_full_score, plain_fields, summary_answers
from gateway.types.scores import (
    Advice,
    AppliedProfile,
    Band,
    Criterion,
    InteractivityComponents,
    RelevanceComponents,
    SortOrder,
)
from services.kpi.domain import Grain
from services.runtime.wire import PageQuery, check_id, parse
from services.scoring import domain, models

if TYPE_CHECKING:
    from gateway.types.kpi import KpiLatest, KpiSeries
    from gateway.types.kpi_catalogue import KpiGrain
    from gateway.types.risk import AssessmentKind, RiskFilter, RiskPage, RiskSort
    from gateway.types.risk_views import RiskMatrix, Roadmap

_RISK = "gateway.types.risk"
_RISK_VIEWS = "gateway.types.risk_views"
_KPI = "gateway.types.kpi"
_KPI_CATALOGUE = "gateway.types.kpi_catalogue"


class SummaryOnly(RuntimeError):
    """A field the score summary lacks was resolved on a score built from the summary (the
    selection check lets no such selection through)."""


def _full_criterion(root: CriterionScore) -> models.CriterionScore:
    if root.full is None:
        raise SummaryOnly(f"criterion {root.criterion} was read from the score summary")
    return root.full


def _weight(root: CriterionScore) -> float:
    return _full_criterion(root).weight


def _derived(root: CriterionScore) -> bool:
    return _full_criterion(root).derived


@strawberry.type(description="One criterion of an assessment.")
class CriterionScore:
    criterion: Criterion
    name: str
    value: float
    band: Band | None = strawberry.field(description="None for E, whose scale runs the other way.")
    weight: float = strawberry.field(
        resolver=_weight, description="The profile's weight; 1 for E (subtracted)."
    )
    derived: bool = strawberry.field(
        resolver=_derived, description="Computed from components (I, R)."
    )
    full: strawberry.Private[models.CriterionScore | None] = None

    @classmethod
    def of(cls, score: models.CriterionScore | models.CriterionBand) -> CriterionScore:
        """The GraphQL form of a criterion of an assessment, or of a score summary."""
        return cls(
            criterion=score.criterion,
            name=domain.CRITERION_NAMES[score.criterion],
            value=score.value,
            band=score.band,
            full=score if isinstance(score, models.CriterionScore) else None,
        )


def _full(root: Assessment) -> models.Assessment:
    if root.full is None:
        raise SummaryOnly(f"assessment {root.id} was read from the score summary")
    return root.full


def _assessor(root: Assessment) -> str:
    return _full(root).assessor


def _actor(root: Assessment) -> Actor:
    return Actor.from_model(_full(root).actor)


def _on_behalf_of(root: Assessment) -> str | None:
    return _full(root).on_behalf_of


def _note(root: Assessment) -> str | None:
    return _full(root).note


def _profile(root: Assessment) -> AppliedProfile:
    return AppliedProfile.from_model(_full(root).profile)


def _interactivity(root: Assessment) -> InteractivityComponents | None:
    points = _full(root).components.interactivity
    return None if points is None else InteractivityComponents.from_model(points)


def _relevance(root: Assessment) -> RelevanceComponents | None:
    ratings = _full(root).components.relevance
    return None if ratings is None else RelevanceComponents.from_model(ratings)


def _advice(root: Assessment) -> Advice:
    return Advice.from_model(_full(root).advice)


def _criteria(root: Assessment) -> list[CriterionScore]:
    # Built when asked for: a list of shops' scores mostly asks for SH and band alone.
    source = root.full if root.full is not None else root.summary
    return [] if source is None else [CriterionScore.of(c) for c in source.criteria]


@strawberry.federation.type(keys=["id"], description="An immutable assessment of a shop.")
class Assessment:
    id: strawberry.ID
    shop_id: strawberry.ID
    assessor: str = strawberry.field(
        resolver=_assessor,
        deprecation_reason="Use actor (who recorded it) and onBehalfOf (for whom).",
    )
    actor: Actor = strawberry.field(
        resolver=_actor, description="The authenticated caller who recorded it."
    )
    on_behalf_of: str | None = strawberry.field(resolver=_on_behalf_of, description=ON_BEHALF_OF)
    note: str | None = strawberry.field(resolver=_note)
    profile: AppliedProfile = strawberry.field(resolver=_profile)
    criteria: list[CriterionScore] = strawberry.field(resolver=_criteria)
    interactivity: InteractivityComponents | None = strawberry.field(resolver=_interactivity)
    relevance: RelevanceComponents | None = strawberry.field(resolver=_relevance)
    sh: float = strawberry.field(description="The integral criterion SH at full precision.")
    sh_rounded: float = strawberry.field(
        description="SH as shown: one decimal, half up as in the method's tables (54.25 → 54.3)."
    )
    band: Band
    advice: Advice = strawberry.field(resolver=_advice)
    created_at: datetime
    full: strawberry.Private[models.Assessment | None] = None
    summary: strawberry.Private[models.ScoreSummary | None] = None

    @classmethod
    def from_model(cls, assessment: models.Assessment) -> Assessment:
        """The GraphQL form of an assessment."""
        return copied(cls, assessment, full=assessment, summary=None)

    @classmethod
    def from_summary(cls, shop_id: str, summary: models.ScoreSummary) -> Assessment:
        """The current assessment as far as the shop's score summary holds it (for the
        selections :func:`summary_suffices` accepts)."""
        return cls(
            id=strawberry.ID(summary.assessment_id),
            shop_id=strawberry.ID(shop_id),
            sh=summary.sh,
            sh_rounded=summary.sh_rounded,
            band=summary.band,
            created_at=summary.created_at,
            summary=summary,
        )

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> Assessment | None:
        """Federation: an assessment by id, batched with the others of the request."""
        assessment = await info.context.scoring.assessment.load(check_id(str(id)))
        return cls.from_model(assessment) if assessment else None

    @strawberry.field(description="The shop this assessment rates.")
    async def shop(self, info: Info) -> Shop | None:
        return await load_shop(info, str(self.shop_id))


def summary_suffices(selections: Sequence[Selection]) -> bool:
    """Whether a selection of ``Assessment`` asks only for what a score summary holds."""
    return summary_answers(
        selections,
        plain_fields(get_object_definition(Assessment, strict=True)),
        plain_fields(get_object_definition(CriterionScore, strict=True)),
    )


def needs_full_scores(selections: Sequence[Selection]) -> bool:
    """Whether a selection of shops needs their full current assessments (see
    :func:`gateway.types.score_selection.needs_full_score`)."""
    return needs_full_score(
        selections,
        plain_fields(get_object_definition(Assessment, strict=True)),
        plain_fields(get_object_definition(CriterionScore, strict=True)),
    )


@strawberry.type(description="A page of assessments, newest first.")
class AssessmentPage(ItemPage[Assessment]):
    pass


async def load_shop(info: Info, shop_id: str) -> Shop | None:
    """A shop by id (with its current score), batched with the others of the request."""
    shop = await info.context.scoring.shop.load(shop_id)
    return Shop.from_model(shop) if shop else None


@strawberry.federation.type(keys=["id"], description="An online store under evaluation.")
class Shop:
    id: strawberry.ID
    name: str
    url: str | None
    segment: str | None
    created_by: Actor = strawberry.field(description="The authenticated caller who created it.")
    created_at: datetime
    updated_at: datetime
    version: int = strawberry.field(
        description="Grows by one with every change; send it as expectedVersion to update."
    )
    # The scoring service's summary of the current score (None: the shop has no score); with
    # it, lists answer `score { sh band }` with no further read.
    score_summary: strawberry.Private[models.ScoreSummary | None] = None

    @classmethod
    def from_model(cls, shop: models.Shop) -> Shop:
        """The GraphQL form of a shop."""
        return copied(cls, shop, created_by=Actor.from_model(shop.created_by))

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> Shop | None:
        """Federation: a shop by id, batched with the others of the request."""
        return await load_shop(info, check_id(str(id)))

    @strawberry.field(
        description="The current score: the latest assessment, if any.",
        graphql_type=Assessment | None,
    )
    def score(self, info: Info) -> AwaitableOrValue[Assessment | None]:
        # A plain resolver, answered at once from the summary: in a list, an awaited field
        # per shop costs more than the rest of the shop.
        if self.score_summary is None:
            return None
        if all(summary_suffices(f.selections) for f in info.selected_fields):
            return Assessment.from_summary(self.id, self.score_summary)
        return self._full_score(info)

    async def _full_score(self, info: Info) -> Assessment | None:
        assessment = await info.context.scoring.current_score.load(str(self.id))
        return Assessment.from_model(assessment) if assessment else None

    @strawberry.field(description="Where to improve first, from the current score.")
    async def advice(self, info: Info) -> Advice | None:
        if self.score_summary is None:
            return None
        assessment = await info.context.scoring.current_score.load(str(self.id))
        return Advice.from_model(assessment.advice) if assessment else None

    @strawberry.field(description="The shop's assessment history, newest first.")
    async def assessments(self, info: Info, limit: int = 20, offset: int = 0) -> AssessmentPage:
        page = parse(PageQuery, page_args(limit, offset))
        history = await info.context.scoring.history.load((str(self.id), page))
        return AssessmentPage.of(history, Assessment.from_model)

    @strawberry.field(
        description="The shop's risks, filtered; largest inherent score first. Null (with an "
        "error) when the risk service cannot answer: the shop's other fields still come."
    )
    async def risks(
        self,
        info: Info,
        filter: Annotated[RiskFilter, strawberry.lazy(_RISK)] | None = None,
        sort: Annotated[RiskSort, strawberry.lazy(_RISK)] | None = None,
        order: SortOrder | None = None,
        limit: int = 20,
        offset: int = 0,
    ) -> Annotated[RiskPage, strawberry.lazy(_RISK)] | None:
        from gateway.types.risk import shop_risks

        return await shop_risks(info, str(self.id), filter, sort, order, limit, offset)

    @strawberry.field(
        description="The 5 × 5 matrix of the shop's open risks (default INHERENT); null (with "
        "an error) when the risk service cannot answer."
    )
    async def risk_matrix(
        self, info: Info, kind: Annotated[AssessmentKind, strawberry.lazy(_RISK)] | None = None
    ) -> Annotated[RiskMatrix, strawberry.lazy(_RISK_VIEWS)] | None:
        from gateway.types.risk_views import shop_risk_matrix

        return await shop_risk_matrix(info, str(self.id), kind)

    @strawberry.field(
        description="The shop's integration roadmap; null (with an error) when the risk "
        "service cannot answer."
    )
    async def roadmap(self, info: Info) -> Annotated[Roadmap, strawberry.lazy(_RISK_VIEWS)] | None:
        from gateway.types.risk_views import shop_roadmap

        return await shop_roadmap(info, str(self.id))

    @strawberry.field(
        description="Latest value and status of the shop's KPIs: each KPI it has a measurement "
        "or a target for, or the KPIs named in codes. Null (with an error) when the kpi service "
        "cannot answer.",
        graphql_type=list[Annotated["KpiLatest", strawberry.lazy(_KPI)]] | None,
    )
    def kpis(
        self, info: Info, codes: list[str] | None = None
    ) -> AwaitableOrValue[list[Annotated[KpiLatest, strawberry.lazy(_KPI)]] | None]:
        from gateway.types.kpi import shop_kpis

        return shop_kpis(info, str(self.id), codes)

    @strawberry.field(
        description="A KPI's series for the shop, as recorded (default) or rolled up to week, "
        "month or quarter; from/to bound the period starts. Null (with an error) when the kpi "
        "service cannot answer."
    )
    async def kpi_series(
        self,
        info: Info,
        kpi_code: str,
        grain: Annotated[KpiGrain, strawberry.lazy(_KPI_CATALOGUE)] | None = None,
        from_: Annotated[datetime | None, strawberry.argument(name="from")] = None,
        to: datetime | None = None,
    ) -> Annotated[KpiSeries, strawberry.lazy(_KPI)] | None:
        from gateway.types.kpi import shop_kpi_series

        return await shop_kpi_series(
            info, str(self.id), kpi_code, grain or Grain.RECORDED, from_, to
        )


@strawberry.type(description="A page of shops.")
class ShopPage(ItemPage[Shop]):
    pass
