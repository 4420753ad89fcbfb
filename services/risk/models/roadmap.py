"""Wire contracts of a shop's integration roadmap (§3.6)."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import Field

from services.risk.domain import StageCode, StageStatus
from services.risk.models.risks import MAX_BATCH
from services.runtime.caller import Actor, OnBehalfOf
from services.runtime.wire import ScopeId, WireDate, WireModel

# --- roadmap --------------------------------------------------------------------------------


class StageUpdate(WireModel):
    """Fields of a roadmap stage to change; an explicit ``null`` clears a date. Starting a
    stage without ``actualStart``, or finishing it (DONE) without ``actualEnd``, records today;
    actual dates may not lie in the future."""

    status: StageStatus | None = None
    planned_start: WireDate | None = None
    planned_end: WireDate | None = None
    actual_start: WireDate | None = None
    actual_end: WireDate | None = None
    on_behalf_of: OnBehalfOf = None


class RoadmapStage(WireModel):
    """A stage of a shop's roadmap; ``slippageDays`` is as of ``asOf`` of the roadmap."""

    code: StageCode
    number: int
    name: str
    content: str
    typical_min_days: int
    typical_max_days: int | None
    result: str
    status: StageStatus
    planned_start: date | None
    planned_end: date | None
    actual_start: date | None
    actual_end: date | None
    slippage_days: int | None
    slips: bool
    updated_at: datetime | None
    updated_by: str | None
    actor: Actor | None


class Roadmap(WireModel):
    """The five stages of a shop (missing ones are NOT_STARTED)."""

    shop_id: str
    as_of: date
    stages: list[RoadmapStage]


class RoadmapBatch(WireModel):
    """Roadmaps of a batch of shops (order of the request)."""

    items: list[Roadmap]


class ShopIdsQuery(WireModel):
    """A batch of scopes (at most 100)."""

    shop_ids: list[ScopeId] = Field(min_length=1, max_length=MAX_BATCH)
