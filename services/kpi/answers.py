"""The kpi service's answers: stored documents and domain values as the models it serialises.

Pure mappings, shared by the use cases (:mod:`services.kpi.service`): which stored field goes
where, and in what order a view lists things; the rules applied on the way (the target a value
is judged against, roll-ups) are the domain's (:mod:`services.kpi.judging`,
:mod:`services.kpi.rollups`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from services.kpi import domain, judging, models, rollups
from services.kpi.custom_kpi_store import custom_definition
from services.runtime.caller import Actor
from services.runtime.records import Document

_CATALOGUE_ORDER = {code: index for index, code in enumerate(domain.CATALOGUE)}

# --- documents → wire -----------------------------------------------------------------------


def custom_kpi_out(doc: Document) -> models.KpiOut:
    """The wire form of a custom KPI document, with who created it."""
    return kpi_out(custom_definition(doc), Actor.from_document(doc.get("created_by")))


def kpi_out(definition: domain.KpiDefinition, created_by: Actor | None = None) -> models.KpiOut:
    """The wire form of a KPI definition: built-in, or custom and ``created_by`` someone."""
    target = definition.default_target
    return models.KpiOut(
        code=definition.code,
        name=definition.name,
        level=definition.level,
        unit=definition.unit,
        direction=definition.direction,
        formula=definition.formula,
        inputs=[
            models.InputSpecOut(name=s.name, kind=s.kind, aggregation=s.aggregation)
            for s in definition.inputs
        ],
        default_target=(
            None
            if target is None
            else models.TargetSpec(comparator=target.comparator, value=target.value)
        ),
        parts=[models.PartRule(part=p.part, whole=p.whole) for p in definition.parts],
        built_in=definition.code in domain.CATALOGUE,
        description=definition.description,
        created_by=created_by,
    )


def _escalation(outbox: Mapping[str, Any]) -> models.Escalation:
    return models.Escalation(
        event_id=outbox["event_id"],
        state=models.EscalationState(outbox["state"]),
        attempts=outbox["attempts"],
        delivered_at=outbox.get("delivered_at"),
    )


def judged_window(current: Mapping[str, Any], period_end: datetime) -> models.JudgedWindow | None:
    """The window a platform measurement is judged over; ``None`` for a shop's."""
    window = current.get("window")
    if window is None:
        return None
    return models.JudgedWindow(
        period_start=window["period_start"],
        period_end=period_end,
        inputs=window["inputs"],
        value=window["value"],
    )


def measurement_out(doc: Document) -> models.Measurement:
    """The wire form of a measurement document."""
    current = doc["current"]
    return models.Measurement(
        id=doc["_id"],
        shop_id=doc["shop_id"],
        kpi_code=doc["kpi_code"],
        period_start=doc["period_start"],
        period_end=doc["period_end"],
        inputs=current["inputs"],
        value=current["value"],
        source=current["source"],
        reason=current.get("reason"),
        revision=current["revision"],
        recorded_at=current["recorded_at"],
        actor=Actor.from_document(current.get("actor")),
        created_at=doc["created_at"],
        history=[
            models.HistoryEntry(
                revision=h["revision"],
                inputs=h["inputs"],
                value=h["value"],
                source=h["source"],
                reason=h.get("reason"),
                recorded_at=h["recorded_at"],
                actor=Actor.from_document(h.get("actor")),
                replaced_at=h["replaced_at"],
                escalation=_escalation(h["escalation"]),
            )
            for h in doc.get("history", [])
        ],
        escalation=_escalation(doc["outbox"]),
        window=judged_window(current, doc["period_end"]),
    )


def target_out(doc: Document) -> models.TargetOut:
    """The wire form of a target document."""
    target = doc["target"]
    return models.TargetOut(
        shop_id=doc["shop_id"],
        kpi_code=doc["kpi_code"],
        comparator=target["comparator"],
        value=target["value"],
        period_start=target.get("period_start"),
        period_end=target.get("period_end"),
        set_by=Actor.from_document(target.get("set_by")),
        updated_at=target["updated_at"],
    )


# --- the latest view ------------------------------------------------------------------------


def scope_target(doc: Document | None) -> judging.ScopeTarget | None:
    """A scope's own stored target as the domain judges with it."""
    if doc is None:
        return None
    target = doc["target"]
    return judging.ScopeTarget(
        domain.Target(domain.Comparator(target["comparator"]), target["value"]),
        period_start=target.get("period_start"),
        period_end=target.get("period_end"),
    )


def applied_out(applied: judging.ScopeTarget) -> models.AppliedTarget:
    """The wire form of the target a latest value is judged against."""
    return models.AppliedTarget(
        comparator=applied.target.comparator,
        value=applied.target.value,
        source=models.TargetSource.SHOP if applied.own else models.TargetSource.DEFAULT,
        period_start=applied.period_start,
        period_end=applied.period_end,
    )


def latest_kpi(
    definition: domain.KpiDefinition, latest_doc: Document | None, target_doc: Document | None
) -> models.LatestKpi:
    """A KPI's latest value with the target it is judged against, its status and fulfilment
    (:func:`judging.applied_target`, :func:`judging.judged`): a platform value is judged over
    its window."""
    latest = None if latest_doc is None else latest_doc["current"]
    period = None if latest is None else (latest["period_start"], latest["period_end"])
    applied = judging.applied_target(definition, scope_target(target_doc), period)
    value = None if latest is None else float(latest["value"])
    window = None if latest is None else judged_window(latest, latest["period_end"])
    status, fulfilment = None, None
    if applied is not None:
        judged = value if window is None else window.value
        status, fulfilment = judging.judged(definition, applied.target, judged)
    return models.LatestKpi(
        kpi_code=definition.code,
        value=value,
        measurement_id=None if latest is None else latest["measurement_id"],
        period_start=None if latest is None else latest["period_start"],
        period_end=None if latest is None else latest["period_end"],
        source=None if latest is None else latest["source"],
        recorded_at=None if latest is None else latest["recorded_at"],
        target=None if applied is None else applied_out(applied),
        status=status,
        fulfilment=fulfilment,
        window=window,
    )


def latest_view(
    shop_ids: Sequence[str],
    latest_docs: Sequence[Document],
    target_docs: Sequence[Document],
    definitions: Mapping[str, domain.KpiDefinition],
    kpi_codes: Sequence[str] | None,
) -> models.LatestBatch:
    """One entry per scope (request order): every KPI it has a measurement or a target for —
    or, when ``kpi_codes`` are named, every named KPI that exists (without data: no value,
    ``NO_DATA`` against a target) — catalogue order first, then custom KPIs by code."""
    latest = {(d["shop_id"], d["kpi_code"]): d for d in latest_docs}
    targets = {(d["shop_id"], d["kpi_code"]): d for d in target_docs}
    held: dict[str, set[str]] = {}  # per scope, the KPIs it has data for: one pass over all
    for shop_id, code in (*latest, *targets):
        if code in definitions:
            held.setdefault(shop_id, set()).add(code)
    named = None if kpi_codes is None else {k for k in kpi_codes if k in definitions}
    items: list[models.ShopLatest] = []
    for shop_id in dict.fromkeys(shop_ids):
        codes = held.get(shop_id, set()) if named is None else named
        ordered = sorted(codes, key=lambda c: (_CATALOGUE_ORDER.get(c, len(_CATALOGUE_ORDER)), c))
        kpis = [
            latest_kpi(definitions[code], latest.get((shop_id, code)), targets.get((shop_id, code)))
            for code in ordered
        ]
        items.append(models.ShopLatest(shop_id=shop_id, kpis=kpis))
    return models.LatestBatch(items=items)


def series_out(
    definition: domain.KpiDefinition, shop_id: str, grain: domain.Grain, docs: Sequence[Document]
) -> models.Series:
    """A scope's series of a KPI at ``grain``, rolled up from its measurement documents."""
    measured = [(d["period_start"], d["period_end"], d["current"]["inputs"]) for d in docs]
    points = rollups.rollup(definition, measured, grain)
    return models.Series(
        shop_id=shop_id,
        kpi_code=definition.code,
        grain=grain,
        unit=definition.unit,
        direction=definition.direction,
        points=[
            models.SeriesPoint(
                period_start=p.start,
                period_end=p.end,
                inputs=dict(p.inputs),
                value=p.value,
                count=p.count,
            )
            for p in points
        ],
    )
