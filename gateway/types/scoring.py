"""The scoring part of the graph: shops, assessments, weight profiles, ranking, advice."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry.types.nodes import SelectedField, Selection

from gateway.context import Info
from gateway.idempotency import EXPECTED_VERSION_DESCRIPTION, IdempotencyKey, idempotency_headers
from gateway.loaders import frozen_params
from gateway.types.common import (
    CHANGED_BY_DEPRECATION,
    ON_BEHALF_OF,
    Actor,
    DeletePayload,
    page_args,
    to_wire,
    wire_body,
    wire_time,
)
from services.runtime.errors import IntegraError
from services.runtime.wire import check_id
from services.scoring import domain, models

if TYPE_CHECKING:
    from gateway.types.kpi import KpiGrain, KpiLatest, KpiSeries
    from gateway.types.risk import (
        AssessmentKind,
        RiskFilter,
        RiskMatrix,
        RiskPage,
        RiskSort,
        Roadmap,
    )

Record = dict[str, Any]
_RISK = "gateway.types.risk"
_KPI = "gateway.types.kpi"

# The services' enums are the public codes; registering them keeps one definition of each.
strawberry.enum(domain.Criterion, description="A criterion of the Sherdani method.")
strawberry.enum(domain.Band, description="Quality band: ≥85, ≥70, ≥55, below 55.")
strawberry.enum(models.ShopSort, description="Orders a shop list can be sorted by.")
strawberry.enum(models.SortOrder, description="Ascending or descending.")
Criterion = domain.Criterion
Band = domain.Band
ShopSort = models.ShopSort
SortOrder = models.SortOrder


# --- output types ---------------------------------------------------------------------------


@strawberry.type(description="A criterion's weight in a profile.")
class CriterionWeight:
    criterion: Criterion
    weight: float


def _weights(record: Record) -> list[CriterionWeight]:
    return [CriterionWeight(criterion=domain.Criterion(c), weight=w) for c, w in record.items()]


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
    def from_wire(cls, record: Record) -> WeightProfile:
        """Build from the scoring service's JSON."""
        return cls(
            name=record["name"],
            description=record["description"],
            weights=_weights(record["weights"]),
            built_in=record["builtIn"],
            created_by=Actor.from_wire(record["createdBy"]),
            created_at=wire_time(record["createdAt"]),
            updated_at=wire_time(record["updatedAt"]),
        )


@strawberry.type(description="The profile an assessment was computed with, as it was then.")
class AppliedProfile:
    name: str
    weights: list[CriterionWeight]


@strawberry.type(description="One criterion of an assessment.")
class CriterionScore:
    criterion: Criterion
    name: str
    value: float
    band: Band | None = strawberry.field(description="None for E, whose scale runs the other way.")
    weight: float = strawberry.field(description="The profile's weight; 1 for E (subtracted).")
    derived: bool = strawberry.field(description="Computed from components (I, R).")


@strawberry.type(description="Points of the interactive elements interactivity came from.")
class InteractivityComponents:
    product: list[float]
    communicative: list[float]


@strawberry.type(description="A search engine or catalogue: share and the store's rating in it.")
class RatedSource:
    name: str
    share: float
    rating: float


@strawberry.type(description="Ratings relevance was derived from.")
class RelevanceComponents:
    search_engines: list[RatedSource]
    catalogues: list[RatedSource]


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
    def from_wire(cls, record: Record) -> Advice:
        """Build from the scoring service's JSON."""
        return cls(
            gains=[
                Gain(
                    criterion=domain.Criterion(g["criterion"]),
                    value=g["value"],
                    weight=g["weight"],
                    gain=g["gain"],
                    band=domain.Band(g["band"]),
                )
                for g in record["gains"]
            ],
            critical=[domain.Criterion(c) for c in record["critical"]],
            external_influence=record["externalInfluence"],
            external_flagged=record["externalFlagged"],
        )


def _rated(records: list[Record]) -> list[RatedSource]:
    return [RatedSource(name=r["name"], share=r["share"], rating=r["rating"]) for r in records]


@strawberry.federation.type(keys=["id"], description="An immutable assessment of a shop.")
class Assessment:
    id: strawberry.ID
    shop_id: strawberry.ID
    assessor: str = strawberry.field(
        deprecation_reason="Use actor (who recorded it) and onBehalfOf (for whom)."
    )
    actor: Actor = strawberry.field(description="The authenticated caller who recorded it.")
    on_behalf_of: str | None = strawberry.field(description=ON_BEHALF_OF)
    note: str | None
    profile: AppliedProfile
    criteria: list[CriterionScore]
    interactivity: InteractivityComponents | None
    relevance: RelevanceComponents | None
    sh: float = strawberry.field(description="The integral criterion SH at full precision.")
    sh_rounded: float = strawberry.field(
        description="SH as shown: one decimal, half up as in the method's tables (54.25 → 54.3)."
    )
    band: Band
    advice: Advice
    created_at: datetime

    @classmethod
    def from_wire(cls, record: Record) -> Assessment:
        """Build from the scoring service's JSON."""
        components = record["components"]
        interactivity = components.get("interactivity")
        relevance = components.get("relevance")
        return cls(
            id=strawberry.ID(record["id"]),
            shop_id=strawberry.ID(record["shopId"]),
            assessor=record["assessor"],
            actor=Actor.from_wire(record["actor"]),
            on_behalf_of=record["onBehalfOf"],
            note=record["note"],
            profile=AppliedProfile(
                name=record["profile"]["name"], weights=_weights(record["profile"]["weights"])
            ),
            criteria=[
                CriterionScore(
                    criterion=domain.Criterion(c["criterion"]),
                    name=domain.CRITERION_NAMES[domain.Criterion(c["criterion"])],
                    value=c["value"],
                    band=domain.Band(c["band"]) if c["band"] else None,
                    weight=c["weight"],
                    derived=c["derived"],
                )
                for c in record["criteria"]
            ],
            interactivity=InteractivityComponents(
                product=interactivity["product"], communicative=interactivity["communicative"]
            )
            if interactivity
            else None,
            relevance=RelevanceComponents(
                search_engines=_rated(relevance["searchEngines"]),
                catalogues=_rated(relevance["catalogues"]),
            )
            if relevance
            else None,
            sh=record["sh"],
            sh_rounded=record["shRounded"],
            band=domain.Band(record["band"]),
            advice=Advice.from_wire(record["advice"]),
            created_at=wire_time(record["createdAt"]),
        )

    @classmethod
    def from_summary(cls, shop_id: strawberry.ID, summary: Record) -> Assessment:
        """The current assessment as far as the shop's score summary holds it, for selections
        :func:`_summary_answers` accepts (no read of the assessment itself).

        The fields the summary lacks (assessor, note, profile, components, advice, each
        criterion's weight and source) are left unset: a resolver reaching one would fail
        loudly, never answer a made-up value.
        """
        score = cls.__new__(cls)
        score.id = strawberry.ID(summary["assessmentId"])
        score.shop_id = shop_id
        score.sh = summary["sh"]
        score.sh_rounded = summary["shRounded"]
        score.band = domain.Band(summary["band"])
        score.created_at = wire_time(summary["createdAt"])
        score.criteria = []
        for c in summary["criteria"]:
            criterion = CriterionScore.__new__(CriterionScore)
            criterion.criterion = domain.Criterion(c["criterion"])
            criterion.name = domain.CRITERION_NAMES[criterion.criterion]
            criterion.value = c["value"]
            criterion.band = domain.Band(c["band"]) if c["band"] else None
            score.criteria.append(criterion)
        return score

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> Assessment | None:
        """Federation: an assessment by id, batched with the others of the request."""
        record = await info.context.scoring.assessment.load(check_id(str(id)))
        return cls.from_wire(record) if record else None

    @strawberry.field(description="The shop this assessment rates.")
    async def shop(self, info: Info) -> Shop | None:
        record = await info.context.scoring.shop.load(str(self.shop_id))
        return Shop.from_wire(record) if record else None


@strawberry.type(description="A page of assessments, newest first.")
class AssessmentPage:
    items: list[Assessment]
    total_count: int
    limit: int
    offset: int


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
    # The scoring service's summary of the current score (None: the shop has no score), when
    # the answer carried one; with it, lists answer `score { sh band }` with no further read.
    has_summary: strawberry.Private[bool] = False
    score_summary: strawberry.Private[Record | None] = None

    @classmethod
    def from_wire(cls, record: Record) -> Shop:
        """Build from the scoring service's JSON."""
        return cls(
            id=strawberry.ID(record["id"]),
            name=record["name"],
            url=record["url"],
            segment=record["segment"],
            created_by=Actor.from_wire(record["createdBy"]),
            created_at=wire_time(record["createdAt"]),
            updated_at=wire_time(record["updatedAt"]),
            version=record["version"],
            has_summary="scoreSummary" in record,
            score_summary=record.get("scoreSummary"),
        )

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> Shop | None:
        """Federation: a shop by id, batched with the others of the request."""
        record = await info.context.scoring.shop.load(check_id(str(id)))
        return cls.from_wire(record) if record else None

    @strawberry.field(description="The current score: the latest assessment, if any.")
    async def score(self, info: Info) -> Assessment | None:
        if self.has_summary:
            if self.score_summary is None:
                return None
            if all(_summary_answers(f.selections) for f in info.selected_fields):
                return Assessment.from_summary(self.id, self.score_summary)
        record = await info.context.scoring.current_score.load(str(self.id))
        return Assessment.from_wire(record) if record else None

    @strawberry.field(description="Where to improve first, from the current score.")
    async def advice(self, info: Info) -> Advice | None:
        if self.has_summary and self.score_summary is None:
            return None
        record = await info.context.scoring.current_score.load(str(self.id))
        return Advice.from_wire(record["advice"]) if record else None

    @strawberry.field(description="The shop's assessment history, newest first.")
    async def assessments(self, info: Info, limit: int = 20, offset: int = 0) -> AssessmentPage:
        answer = await info.context.scoring.history.load(
            (str(self.id), frozen_params(page_args(limit, offset)))
        )
        return AssessmentPage(
            items=[Assessment.from_wire(a) for a in answer["items"]],
            total_count=answer["totalCount"],
            limit=answer["limit"],
            offset=answer["offset"],
        )

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
    ) -> Annotated[RiskMatrix, strawberry.lazy(_RISK)] | None:
        from gateway.types.risk import shop_risk_matrix

        return await shop_risk_matrix(info, str(self.id), kind)

    @strawberry.field(
        description="The shop's integration roadmap; null (with an error) when the risk "
        "service cannot answer."
    )
    async def roadmap(self, info: Info) -> Annotated[Roadmap, strawberry.lazy(_RISK)] | None:
        from gateway.types.risk import shop_roadmap

        return await shop_roadmap(info, str(self.id))

    @strawberry.field(
        description="Latest value and status of the shop's KPIs: each KPI it has a measurement "
        "or a target for, or the KPIs named in codes. Null (with an error) when the kpi service "
        "cannot answer."
    )
    async def kpis(
        self, info: Info, codes: list[str] | None = None
    ) -> list[Annotated[KpiLatest, strawberry.lazy(_KPI)]] | None:
        from gateway.types.kpi import shop_kpis

        return await shop_kpis(info, str(self.id), codes)

    @strawberry.field(
        description="A KPI's series for the shop, as recorded (default) or rolled up to week, "
        "month or quarter; from/to bound the period starts. Null (with an error) when the kpi "
        "service cannot answer."
    )
    async def kpi_series(
        self,
        info: Info,
        kpi_code: str,
        grain: Annotated[KpiGrain, strawberry.lazy(_KPI)] | None = None,
        from_: Annotated[datetime | None, strawberry.argument(name="from")] = None,
        to: datetime | None = None,
    ) -> Annotated[KpiSeries, strawberry.lazy(_KPI)] | None:
        from gateway.types.kpi import KpiGrain, shop_kpi_series

        return await shop_kpi_series(
            info, str(self.id), kpi_code, grain or KpiGrain.RECORDED, from_, to
        )


@strawberry.type(description="A page of shops.")
class ShopPage:
    items: list[Shop]
    total_count: int
    limit: int
    offset: int


@strawberry.type(description="A criterion's value for one ranked shop.")
class CriterionValue:
    criterion: Criterion
    value: float


@strawberry.type(description="One shop's place in the ranking by current SH.")
class RankingEntry:
    rank: int
    shop_id: strawberry.ID
    shop_name: str
    assessment_id: strawberry.ID
    sh: float
    sh_rounded: float = strawberry.field(description="SH as shown: one decimal, half up.")
    band: Band
    criteria: list[CriterionValue]

    @strawberry.field(description="The ranked shop.")
    async def shop(self, info: Info) -> Shop | None:
        record = await info.context.scoring.shop.load(str(self.shop_id))
        return Shop.from_wire(record) if record else None


@strawberry.type(description="One criterion across the ranked shops, in ranking order.")
class MatrixRow:
    criterion: Criterion
    values: list[float]


@strawberry.type(description="Shops by current SH, with the criterion × shop matrix.")
class Ranking:
    items: list[RankingEntry]
    matrix: list[MatrixRow]
    total_count: int
    limit: int
    offset: int


# --- inputs ---------------------------------------------------------------------------------


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


# --- queries and mutations ------------------------------------------------------------------


def _ranking(answer: Record) -> Ranking:
    return Ranking(
        items=[
            RankingEntry(
                rank=e["rank"],
                shop_id=strawberry.ID(e["shopId"]),
                shop_name=e["shopName"],
                assessment_id=strawberry.ID(e["assessmentId"]),
                sh=e["sh"],
                sh_rounded=e["shRounded"],
                band=domain.Band(e["band"]),
                criteria=[
                    CriterionValue(criterion=domain.Criterion(c), value=v)
                    for c, v in e["criteria"].items()
                ],
            )
            for e in answer["items"]
        ],
        matrix=[
            MatrixRow(criterion=domain.Criterion(row["criterion"]), values=row["values"])
            for row in answer["matrix"]
        ],
        total_count=answer["totalCount"],
        limit=answer["limit"],
        offset=answer["offset"],
    )


#: What a shop's score summary answers: these fields of ``Assessment`` and, within its
#: ``criteria``, of ``CriterionScore``.
_SUMMARY_FIELDS = frozenset({"__typename", "id", "shopId", "sh", "shRounded", "band", "createdAt"})
_SUMMARY_CRITERION_FIELDS = frozenset({"__typename", "criterion", "name", "value", "band"})
#: Fields of a shop whose selection decides whether its full current assessment is needed.
_SHOP_PATH = frozenset({"shop", "shops", "items"})


def _summary_answers(selections: Sequence[Selection]) -> bool:
    """Whether a selection of ``Assessment`` (fragments included) asks only for what the
    shop's score summary holds."""
    for selection in selections:
        if isinstance(selection, SelectedField):
            if selection.name == "criteria":
                if not _only(selection.selections, _SUMMARY_CRITERION_FIELDS):
                    return False
            elif selection.name not in _SUMMARY_FIELDS:
                return False
        elif not _summary_answers(selection.selections):
            return False
    return True


def _only(selections: Sequence[Selection], allowed: frozenset[str]) -> bool:
    return all(
        selection.name in allowed
        if isinstance(selection, SelectedField)
        else _only(selection.selections, allowed)
        for selection in selections
    )


def _needs_full_score(selections: Sequence[Selection]) -> bool:
    """Whether a selection of shops (through ``shop``, ``shops``, ``items`` and fragments)
    asks for ``advice`` or for more of ``score`` than the summary holds: then the shops are
    read with their full current assessments, in the same call."""
    for selection in selections:
        if isinstance(selection, SelectedField):
            if selection.name == "advice":
                return True
            if selection.name == "score" and not _summary_answers(selection.selections):
                return True
            if selection.name in _SHOP_PATH and _needs_full_score(selection.selections):
                return True
        elif _needs_full_score(selection.selections):
            return True
    return False


@strawberry.type
class ScoringQuery:
    @strawberry.field(description="A shop by id; null if there is none.")
    async def shop(self, info: Info, id: strawberry.ID) -> Shop | None:
        scoring = info.context.scoring
        loader = scoring.shop if _needs_full_score(info.selected_fields) else scoring.shop_summary
        record = await loader.load(check_id(str(id)))
        return Shop.from_wire(record) if record else None

    @strawberry.field(description="A page of shops, sorted.")
    async def shops(
        self,
        info: Info,
        limit: int = 20,
        offset: int = 0,
        sort: ShopSort = models.ShopSort.NAME,
        order: SortOrder = models.SortOrder.ASC,
    ) -> ShopPage:
        params: dict[str, str | int | bool] = {
            **page_args(limit, offset),
            "sort": sort,
            "order": order,
        }
        scoring = info.context.scoring
        with_score = _needs_full_score(info.selected_fields)
        if with_score:
            params["withScore"] = True
        answer = await info.context.clients.scoring.call("GET", "/shops", params=params)
        loader = scoring.shop if with_score else scoring.shop_summary
        for record in answer["items"]:
            loader.prime(record["id"], record)
        if with_score:
            scoring.prime_scores(answer["items"])
        return ShopPage(
            items=[Shop.from_wire(s) for s in answer["items"]],
            total_count=answer["totalCount"],
            limit=answer["limit"],
            offset=answer["offset"],
        )

    @strawberry.field(description="An assessment by id; null if there is none.")
    async def assessment(self, info: Info, id: strawberry.ID) -> Assessment | None:
        record = await info.context.scoring.assessment.load(check_id(str(id)))
        return Assessment.from_wire(record) if record else None

    @strawberry.field(description="Every weight profile, the built-in one first.")
    async def weight_profiles(self, info: Info) -> list[WeightProfile]:
        answer = await info.context.clients.scoring.call("GET", "/profiles")
        return [WeightProfile.from_wire(p) for p in answer]

    @strawberry.field(description="A weight profile by name; null if there is none.")
    async def weight_profile(self, info: Info, name: str) -> WeightProfile | None:
        try:
            answer = await info.context.clients.scoring.call(
                "GET", "/profiles/{name}", path={"name": name}
            )
        except IntegraError as error:
            if error.code.value == "NOT_FOUND":
                return None
            raise
        return WeightProfile.from_wire(answer)

    @strawberry.field(description="Assessed shops by current SH, with the criterion matrix.")
    async def ranking(self, info: Info, limit: int = 20, offset: int = 0) -> Ranking:
        answer = await info.context.clients.scoring.call(
            "GET", "/ranking", params=page_args(limit, offset)
        )
        return _ranking(answer)


@strawberry.type
class ScoringMutation:
    @strawberry.mutation(description="Create a shop.")
    async def create_shop(
        self, info: Info, input: CreateShopInput, idempotency_key: IdempotencyKey = None
    ) -> Shop:
        answer = await info.context.clients.scoring.call(
            "POST", "/shops", body=to_wire(input), headers=idempotency_headers(idempotency_key)
        )
        return Shop.from_wire(answer)

    @strawberry.mutation(description="Change a shop's name, URL or segment.")
    async def update_shop(self, info: Info, id: strawberry.ID, input: UpdateShopInput) -> Shop:
        answer = await info.context.clients.scoring.call(
            "PATCH",
            "/shops/{shop_id}",
            path={"shop_id": check_id(str(id))},
            body=to_wire(input),
        )
        return Shop.from_wire(answer)

    @strawberry.mutation(
        description="Delete a shop and its assessments; its risks, roadmap, KPI measurements "
        "and targets follow in the risk and kpi services (stored before the answer, retried "
        "until each accepts)."
    )
    async def delete_shop(self, info: Info, id: strawberry.ID) -> DeletePayload:
        await info.context.clients.scoring.call(
            "DELETE", "/shops/{shop_id}", path={"shop_id": check_id(str(id))}
        )
        return DeletePayload(id=id, deleted=True)

    @strawberry.mutation(description="Create a custom weight profile.")
    async def create_weight_profile(
        self, info: Info, input: CreateWeightProfileInput, idempotency_key: IdempotencyKey = None
    ) -> WeightProfile:
        answer = await info.context.clients.scoring.call(
            "POST", "/profiles", body=to_wire(input), headers=idempotency_headers(idempotency_key)
        )
        return WeightProfile.from_wire(answer)

    @strawberry.mutation(description="Change a custom profile's weights.")
    async def update_weight_profile(
        self, info: Info, name: str, input: UpdateWeightProfileInput
    ) -> WeightProfile:
        answer = await info.context.clients.scoring.call(
            "PUT", "/profiles/{name}", path={"name": name}, body=to_wire(input)
        )
        return WeightProfile.from_wire(answer)

    @strawberry.mutation(description="Delete a custom weight profile.")
    async def delete_weight_profile(self, info: Info, name: str) -> DeletePayload:
        await info.context.clients.scoring.call("DELETE", "/profiles/{name}", path={"name": name})
        return DeletePayload(id=strawberry.ID(name), deleted=True)

    @strawberry.mutation(description="Record an assessment; SH, bands and advice are computed.")
    async def record_assessment(
        self, info: Info, input: RecordAssessmentInput, idempotency_key: IdempotencyKey = None
    ) -> Assessment:
        body = wire_body(input)
        shop_id = check_id(str(body.pop("shopId")), "input.shopId")
        answer = await info.context.clients.scoring.call(
            "POST",
            "/shops/{shop_id}/assessments",
            path={"shop_id": shop_id},
            body=body,
            headers=idempotency_headers(idempotency_key),
        )
        return Assessment.from_wire(answer)
