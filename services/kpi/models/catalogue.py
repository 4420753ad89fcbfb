"""Wire contracts of the KPI catalogue: built-in and custom KPIs, their inputs and targets."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from services.kpi.domain import Aggregation, Comparator, Direction, InputKind, KpiLevel
from services.kpi.models.common import MAX_BATCH, MAX_INPUTS, InputName, KpiCode
from services.runtime.caller import Actor
from services.runtime.json_types import Real
from services.runtime.text import line
from services.runtime.wire import LongText, PageQuery, WireModel


class InputSpecOut(WireModel):
    """A named input of a KPI: what values it takes and how it is combined on roll-up."""

    name: str
    kind: InputKind
    aggregation: Aggregation


class TargetSpec(WireModel):
    """A threshold: the value should satisfy ``value <comparator> threshold``."""

    comparator: Comparator
    value: Real


class PartRule(WireModel):
    """ "A part may not exceed its whole": ``part ≤ whole`` (``whole`` is a formula)."""

    part: Annotated[str, line(min_length=1, max_length=64)]
    whole: Annotated[str, line(min_length=1, max_length=500)]


class KpiOut(WireModel):
    """A KPI of the catalogue (built-in or custom)."""

    code: str
    name: str
    level: KpiLevel
    unit: str
    direction: Direction
    formula: str
    inputs: list[InputSpecOut]
    default_target: TargetSpec | None
    parts: list[PartRule]
    built_in: bool
    description: str | None = Field(
        default=None,
        description="What the KPI measures and what its inputs are; null for custom KPIs",
    )
    created_by: Actor | None = Field(
        description="Who created a custom KPI; null for the built-in catalogue"
    )


class KpiBatch(WireModel):
    """KPIs answered for a batch of codes (order of the request, unknown codes omitted)."""

    items: list[KpiOut]


class CatalogueQuery(PageQuery):
    """Parameters of ``GET /catalogue``: a page (built-ins first), a level, or a batch of codes."""

    limit: int = Field(default=100, ge=1, le=100)
    level: KpiLevel | None = None
    codes: list[KpiCode] | None = Field(default=None, min_length=1, max_length=MAX_BATCH)


class CustomKpiCreate(WireModel):
    """A user's KPI: a formula in the safe expression language over declared inputs."""

    code: KpiCode
    name: Annotated[str, line()]
    level: KpiLevel
    unit: Annotated[str, line()]
    direction: Direction
    formula: LongText
    inputs: dict[InputName, InputKind] = Field(max_length=MAX_INPUTS)
    default_target: TargetSpec | None = None
    parts: list[PartRule] = Field(default_factory=list, max_length=MAX_INPUTS)
