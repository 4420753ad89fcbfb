"""The inputs of the risk mutations; :func:`gateway.types.common.request_model` turns each
into the request model of the risk service."""

from __future__ import annotations

from datetime import date, datetime

import strawberry

from gateway.idempotency import EXPECTED_VERSION_DESCRIPTION
from gateway.types.common import CHANGED_BY_DEPRECATION, ON_BEHALF_OF
from gateway.types.risk import Comparator, RiskStatus, StageStatus


@strawberry.input(description="For whom a change is made (who made it comes from the credential).")
class OnBehalfInput:
    on_behalf_of: str | None = strawberry.field(default=strawberry.UNSET, description=ON_BEHALF_OF)
    changed_by: str | None = strawberry.field(
        default=strawberry.UNSET, deprecation_reason=CHANGED_BY_DEPRECATION
    )


@strawberry.input(description="A change to a record at the version the client read, for someone.")
class VersionedChangeInput(OnBehalfInput):
    expected_version: int | None = strawberry.field(
        default=strawberry.UNSET, description=EXPECTED_VERSION_DESCRIPTION
    )


@strawberry.input(description="Likelihood and impact, each 1–5; impact defaults (see fields).")
class RiskAssessmentInput:
    likelihood: int
    impact: int | None = strawberry.UNSET


@strawberry.input(description="A new risk; inherent impact defaults to the category's.")
class CreateRiskInput(OnBehalfInput):
    shop_id: strawberry.ID = strawberry.field(description='A shop id, or "platform".')
    category: str = strawberry.field(description="A RiskCategoryCode.")
    title: str
    owner: str
    inherent: RiskAssessmentInput
    description: str | None = strawberry.UNSET
    residual: RiskAssessmentInput | None = strawberry.UNSET
    next_review_at: date | None = strawberry.UNSET
    reason: str | None = strawberry.UNSET


@strawberry.input(description="Fields to change; null clears residual or nextReviewAt.")
class UpdateRiskInput(VersionedChangeInput):
    title: str | None = strawberry.UNSET
    description: str | None = strawberry.UNSET
    owner: str | None = strawberry.UNSET
    inherent: RiskAssessmentInput | None = strawberry.UNSET
    residual: RiskAssessmentInput | None = strawberry.UNSET
    next_review_at: date | None = strawberry.UNSET
    reason: str | None = strawberry.UNSET


@strawberry.input(description="A lifecycle transition, with who and why.")
class ChangeRiskStatusInput(VersionedChangeInput):
    status: RiskStatus
    reason: str


@strawberry.input(description="A new mitigation action.")
class AddMitigationActionInput(VersionedChangeInput):
    text: str
    owner: str | None = strawberry.UNSET
    due_at: date | None = strawberry.UNSET


@strawberry.input(description="Fields of a mitigation action to change; done completes it.")
class UpdateMitigationActionInput(VersionedChangeInput):
    text: str | None = strawberry.UNSET
    owner: str | None = strawberry.UNSET
    due_at: date | None = strawberry.UNSET
    done: bool | None = strawberry.UNSET
    reason: str | None = strawberry.UNSET


@strawberry.input(description="A custom monitoring rule.")
class CreateMonitoringRuleInput:
    kpi_code: str = strawberry.field(
        description="The code of a KPI of the catalogue or of a custom KPI (another code is a "
        "VALIDATION_ERROR)."
    )
    comparator: Comparator
    threshold: float
    category: str = strawberry.field(description="A RiskCategoryCode.")
    likelihood_step: int = 1
    enabled: bool = True


@strawberry.input(description="Fields of a monitoring rule to change.")
class UpdateMonitoringRuleInput:
    kpi_code: str | None = strawberry.UNSET
    comparator: Comparator | None = strawberry.UNSET
    threshold: float | None = strawberry.UNSET
    category: str | None = strawberry.UNSET
    likelihood_step: int | None = strawberry.UNSET
    enabled: bool | None = strawberry.UNSET


@strawberry.input(description="Fields of a roadmap stage to change; null clears a date.")
class UpdateRoadmapStageInput(OnBehalfInput):
    status: StageStatus | None = strawberry.UNSET
    planned_start: date | None = strawberry.UNSET
    planned_end: date | None = strawberry.UNSET
    actual_start: date | None = strawberry.field(
        default=strawberry.UNSET,
        description="When the stage started; not after today (UTC), else VALIDATION_ERROR. "
        "Starting a stage (IN_PROGRESS) without it starts it today.",
    )
    actual_end: date | None = strawberry.field(
        default=strawberry.UNSET,
        description="When the stage ended (DONE only); not after today (UTC), else "
        "VALIDATION_ERROR. Finishing a stage (DONE) without it ends it today.",
    )


@strawberry.input(description="A KPI measurement; eventId (its id) makes it escalate once.")
class KpiMeasurementInput:
    event_id: str
    shop_id: strawberry.ID
    kpi_code: str
    value: float
    measured_at: datetime
    measurement_id: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="The measurement this event is a revision of (its revisions escalate each "
        "category once); default: eventId without a `:<revision>` suffix.",
    )


@strawberry.input(
    description="When a shop was last measured (null: never). Each silence escalates once: "
    "it begins at lastMeasurementAt, or at shopCreatedAt when the shop was never measured."
)
class MissingKpiDataInput:
    event_id: str
    shop_id: strawberry.ID
    last_measurement_at: datetime | None
    as_of: datetime | None = strawberry.UNSET
    shop_created_at: datetime | None = strawberry.field(
        default=strawberry.UNSET,
        description="When the shop was created: a shop never measured escalates 30 days "
        "after it (without it, a shop never measured counts as silent at once).",
    )
