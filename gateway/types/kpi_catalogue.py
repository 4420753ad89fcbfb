"""The kpi part of the graph, its enums and the catalogue.

A measurement's inputs are a list of ``{name, value}`` pairs (the names are those of the KPI's
formula, e.g. ``within_sla``); the kpi service checks them, so an error names the input as
``inputs.<name>``. Targets use the same comparators as monitoring rules (one ``Comparator``
enum in the graph). Mutations naming a shop check here, through the scoring service, that it
exists (the built-in scope ``platform`` always does), as the risk part does.
"""

from __future__ import annotations

from collections.abc import Mapping

import strawberry

from gateway.context import Info
from gateway.types.common import Actor, ItemPage, copied
from gateway.types.risk import Comparator
from services.kpi import domain, models

strawberry.enum(domain.KpiLevel, description="A level of the KPI catalogue (§4.1).")
strawberry.enum(domain.Direction, name="KpiDirection", description="UP: higher is better.")
strawberry.enum(domain.InputKind, name="KpiInputKind", description="What values an input takes.")
strawberry.enum(
    domain.Aggregation,
    name="KpiInputAggregation",
    description="How an input is combined on roll-up: SUM (flows), LATEST (stocks), CONSTANT.",
)
strawberry.enum(
    domain.TargetStatus,
    name="KpiStatus",
    description="The latest value against its target; AT_RISK: missed by at most 5 %.",
)
strawberry.enum(domain.Grain, name="KpiGrain", description="As recorded, or rolled up (UTC).")
strawberry.enum(domain.MeasurementSource, description="Where a measurement came from.")
strawberry.enum(
    models.TargetSource, name="KpiTargetSource", description="The shop's own target or the default."
)
strawberry.enum(
    models.EscalationState,
    name="MeasurementEscalationState",
    description="Delivery of a revision's event to the risk service.",
)
KpiLevel = domain.KpiLevel
KpiDirection = domain.Direction
KpiInputKind = domain.InputKind
KpiInputAggregation = domain.Aggregation
KpiStatus = domain.TargetStatus
KpiGrain = domain.Grain
MeasurementSource = domain.MeasurementSource
KpiTargetSource = models.TargetSource
MeasurementEscalationState = models.EscalationState


# --- catalogue ------------------------------------------------------------------------------


@strawberry.type(description="A named input of a KPI's formula.")
class KpiInputSpec:
    name: str
    kind: KpiInputKind
    aggregation: KpiInputAggregation


@strawberry.type(description="A threshold: the value should satisfy value <comparator> value.")
class KpiThreshold:
    comparator: Comparator
    value: float


@strawberry.type(description='"A part may not exceed its whole": part ≤ whole (a formula).')
class KpiPartRule:
    part: str
    whole: str


@strawberry.type(description="A KPI of the catalogue: built-in (§4.1) or custom.")
class Kpi:
    code: str
    name: str
    level: KpiLevel
    unit: str
    direction: KpiDirection
    formula: str
    inputs: list[KpiInputSpec]
    default_target: KpiThreshold | None
    parts: list[KpiPartRule]
    built_in: bool
    description: str | None = strawberry.field(
        description="What the KPI measures and what its inputs are; null for custom KPIs."
    )
    created_by: Actor | None = strawberry.field(
        description="Who created a custom KPI; null for the built-in catalogue."
    )

    @classmethod
    def from_model(cls, kpi: models.KpiOut) -> Kpi:
        """The GraphQL form of a catalogue entry."""
        target = kpi.default_target
        return copied(
            cls,
            kpi,
            inputs=[copied(KpiInputSpec, i) for i in kpi.inputs],
            default_target=None if target is None else copied(KpiThreshold, target),
            parts=[copied(KpiPartRule, p) for p in kpi.parts],
            created_by=None if kpi.created_by is None else Actor.from_model(kpi.created_by),
        )


@strawberry.type(description="A page of the catalogue: built-in KPIs first, then custom by code.")
class KpiPage(ItemPage[Kpi]):
    pass


async def load_kpi(info: Info, code: str) -> Kpi | None:
    """A catalogue entry by code, batched with the others of the request."""
    kpi = await info.context.kpi.kpi.load(code)
    return Kpi.from_model(kpi) if kpi else None


# --- named values -------------------------------------------------------------------------


@strawberry.type(description="A named input value of a measurement or a roll-up.")
class KpiInputValue:
    name: str
    value: float

    @classmethod
    def all_of(cls, inputs: Mapping[str, float]) -> list[KpiInputValue]:
        """The named values of ``inputs``, in their order."""
        return [cls(name=name, value=value) for name, value in inputs.items()]
