"""HTTP endpoints of the kpi service: wire contracts in, domain in the middle, store out."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, cast

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from services.kpi import domain, models, profit
from services.kpi.store import KpiStore, custom_definition
from services.runtime import idempotency
from services.runtime.auth import Role
from services.runtime.caller import Actor, current_actor, current_principal
from services.runtime.errors import IntegraError, ValidationFailed
from services.runtime.http import json_response, path_id, path_scope, query_model, read_model
from services.runtime.openapi import IDEMPOTENCY_KEY, ApiRoute
from services.runtime.records import Document
from services.runtime.wire import Page, RecordId, ScopeId

MAX_SERIES_MEASUREMENTS = 10_000
"""The most measurements one series request rolls up (narrow the range for more)."""

_PERIOD_FIELDS = {"period.start": "periodStart", "period.end": "periodEnd", "period": "periodEnd"}
_CATALOGUE_ORDER = {code: index for index, code in enumerate(domain.CATALOGUE)}

# --- helpers --------------------------------------------------------------------------------


def _renamed(error: ValidationFailed, names: Mapping[str, str], prefix: str = "") -> IntegraError:
    """``error`` with its field translated to the wire's name (and prefixed)."""
    name = error.field or ""
    name = names.get(name, name)
    return ValidationFailed(f"{prefix}{name}" if prefix else name, error.message)


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _check_range(start: datetime | None, end: datetime | None) -> None:
    low, high = _utc(start), _utc(end)
    if low is not None and high is not None and low >= high:
        raise ValidationFailed("to", "to must be after from")


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


def _within(target: Mapping[str, Any], start: datetime, end: datetime) -> bool:
    """Whether a measured period lies within a target's period (a target without one: yes)."""
    if target.get("period_start") is None:
        return True
    return bool(target["period_start"] <= start and end <= target["period_end"])


def applied_target(
    definition: domain.KpiDefinition,
    target_doc: Document | None,
    latest: Mapping[str, Any] | None,
) -> models.AppliedTarget | None:
    """The target a latest value is judged against.

    The scope's own target, when it has one in force for the latest measurement (a target with
    a period judges only measurements whose period lies within it; without data, the scope's
    target is shown as is); else the KPI's default target; else none.
    """
    if target_doc is not None:
        target = target_doc["target"]
        if latest is None or _within(target, latest["period_start"], latest["period_end"]):
            return models.AppliedTarget(
                comparator=target["comparator"],
                value=target["value"],
                source=models.TargetSource.SHOP,
                period_start=target.get("period_start"),
                period_end=target.get("period_end"),
            )
    default = definition.default_target
    if default is None:
        return None
    return models.AppliedTarget(
        comparator=default.comparator, value=default.value, source=models.TargetSource.DEFAULT
    )


def latest_kpi(
    definition: domain.KpiDefinition, latest_doc: Document | None, target_doc: Document | None
) -> models.LatestKpi:
    """A KPI's latest value with its status (``domain.target_status``) and fulfilment."""
    latest = None if latest_doc is None else latest_doc["current"]
    target = applied_target(definition, target_doc, latest)
    value = None if latest is None else float(latest["value"])
    window = None if latest is None else judged_window(latest, latest["period_end"])
    judged = value if window is None else window.value
    status = None
    fulfilment = None
    if target is not None:
        status = domain.target_status(judged, domain.Target(target.comparator, target.value))
        if judged is not None:
            try:
                fulfilment = domain.kpi_fulfilment(judged, target.value, definition.direction)
            except ValidationFailed:
                fulfilment = None  # a zero denominator: fulfilment is undefined
    return models.LatestKpi(
        kpi_code=definition.code,
        value=value,
        measurement_id=None if latest is None else latest["measurement_id"],
        period_start=None if latest is None else latest["period_start"],
        period_end=None if latest is None else latest["period_end"],
        source=None if latest is None else latest["source"],
        recorded_at=None if latest is None else latest["recorded_at"],
        target=target,
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
    items: list[models.ShopLatest] = []
    for shop_id in dict.fromkeys(shop_ids):
        if kpi_codes is None:
            codes = {k for s, k in (*latest, *targets) if s == shop_id and k in definitions}
        else:
            codes = {k for k in kpi_codes if k in definitions}
        ordered = sorted(codes, key=lambda c: (_CATALOGUE_ORDER.get(c, len(_CATALOGUE_ORDER)), c))
        kpis = [
            latest_kpi(definitions[code], latest.get((shop_id, code)), targets.get((shop_id, code)))
            for code in ordered
        ]
        items.append(models.ShopLatest(shop_id=shop_id, kpis=kpis))
    return models.LatestBatch(items=items)


# --- series ---------------------------------------------------------------------------------


def _check_series_size(docs: Sequence[Document]) -> None:
    if len(docs) > MAX_SERIES_MEASUREMENTS:
        raise ValidationFailed(
            "from",
            f"more than {MAX_SERIES_MEASUREMENTS} measurements; narrow the range (from, to)",
        )


def series_out(
    definition: domain.KpiDefinition, shop_id: str, grain: domain.Grain, docs: Sequence[Document]
) -> models.Series:
    """A scope's series of a KPI at ``grain``, rolled up from its measurement documents."""
    measured = [(d["period_start"], d["period_end"], d["current"]["inputs"]) for d in docs]
    points = domain.rollup(definition, measured, grain)
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


# --- the profit model -----------------------------------------------------------------------


def indicators(body: models.ProfitIndicatorsIn, prefix: str = "") -> profit.ProfitIndicators:
    """The domain's indicators; a broken rule names ``<prefix>.<code>``."""
    try:
        return profit.ProfitIndicators.from_mapping(body.model_dump())
    except ValidationFailed as error:
        raise _renamed(error, {}, f"{prefix}." if prefix else "") from None


def profit_out(ind: profit.ProfitIndicators) -> models.ProfitOut:
    """Every quantity of the profit model for one period."""
    return models.ProfitOut(
        indicators=models.ProfitIndicatorsIn(**ind.as_dict()),
        leads=profit.leads(ind),
        clients=profit.clients(ind),
        average_check=profit.average_check(ind),
        deals=profit.deals(ind),
        ltv=profit.ltv(ind),
        revenue=profit.revenue(ind),
        total_costs=profit.total_costs(ind),
        profit=profit.profit(ind),
    )


def what_if_out(
    baseline: profit.ProfitIndicators, scenario: profit.ProfitIndicators
) -> models.WhatIfOut:
    """The what-if analysis between two periods."""
    result = profit.what_if(baseline, scenario)
    return models.WhatIfOut(
        baseline=profit_out(baseline),
        scenario=profit_out(scenario),
        profit_change=result.profit_change,
        contributions=[
            models.ContributionOut(
                code=c.code,
                baseline_value=c.baseline_value,
                scenario_value=c.scenario_value,
                profit_alone=c.profit_alone,
                absolute=c.absolute,
                relative=c.relative,
                favourable=c.favourable,
            )
            for c in result.contributions
        ],
        favourable_codes=list(result.favourable_codes),
        favourable_profit=result.favourable_profit,
        interaction=result.interaction,
    )


def _kpi_value(code: str, inputs: dict[str, float]) -> models.KpiValue:
    value = domain.compute_value(domain.CATALOGUE[code], inputs)
    return models.KpiValue(kpi_code=code, inputs=inputs, value=value)


def financial_out(body: models.FinancialIn) -> models.FinancialOut:
    """``integration_roi`` and ``payback_period`` from two periods (§4.4)."""
    before, after = indicators(body.before, "before"), indicators(body.after, "after")
    roi_inputs = profit.integration_roi_inputs(before, after, body.investment)
    roi = _kpi_value("integration_roi", roi_inputs)
    increase = profit.monthly_profit_increase(before, after, body.months)
    try:
        payback_inputs = profit.payback_period_inputs(before, after, body.investment, body.months)
    except ValidationFailed as error:
        if error.field != "monthly_profit_increase":
            raise
        payback = None  # profit did not increase: the investment never pays back
    else:
        payback = _kpi_value("payback_period", payback_inputs)
    return models.FinancialOut(
        profit_before=profit.profit(before),
        profit_after=profit.profit(after),
        profit_delta=profit.profit_delta(before, after),
        monthly_profit_increase=increase,
        integration_roi=roi,
        payback_period=payback,
    )


# --- endpoints ------------------------------------------------------------------------------


def kpi_routes(
    store: Callable[[], KpiStore], on_recorded: Callable[[], None] = lambda: None
) -> list[BaseRoute]:
    """The kpi service's routes over the store ``store()`` answers; ``on_recorded`` is called
    after each measurement write (it wakes the outbox dispatcher)."""

    async def list_catalogue(request: Request) -> Response:
        query = query_model(request, models.CatalogueQuery)
        if query.codes is not None:
            codes = list(dict.fromkeys(query.codes))
            found = {c: kpi_out(domain.CATALOGUE[c]) for c in codes if c in domain.CATALOGUE}
            custom = [c for c in codes if c not in found]
            found |= {d["_id"]: custom_kpi_out(d) for d in await store().custom_docs(custom)}
            items = [found[c] for c in codes if c in found]
            return json_response(models.KpiBatch(items=items))
        built_in = [
            d for d in domain.CATALOGUE.values() if query.level is None or d.level == query.level
        ]
        page = built_in[query.offset : query.offset + query.limit]
        docs, custom_total = await store().list_custom(
            None if query.level is None else query.level.value,
            query.limit - len(page),
            max(query.offset - len(built_in), 0),
        )
        items = [kpi_out(d) for d in page]
        items += [custom_kpi_out(d) for d in docs]
        return json_response(
            Page[models.KpiOut](
                items=items,
                total_count=len(built_in) + custom_total,
                limit=query.limit,
                offset=query.offset,
            )
        )

    async def get_kpi(request: Request) -> Response:
        code = str(request.path_params["code"])
        if code in domain.CATALOGUE:
            return json_response(kpi_out(domain.CATALOGUE[code]))
        return json_response(custom_kpi_out(await store().custom_doc(code, field="code")))

    async def create_kpi(request: Request) -> Response:
        body = await read_model(request, models.CustomKpiCreate)
        target = None
        if body.default_target is not None:
            try:
                target = domain.Target(body.default_target.comparator, body.default_target.value)
            except ValidationFailed as error:
                raise _renamed(error, {"target.value": "defaultTarget.value"}) from None
        definition = domain.define_custom_kpi(
            code=body.code,
            name=body.name,
            level=body.level,
            unit=body.unit,
            direction=body.direction,
            formula=body.formula,
            input_kinds=body.inputs,
            default_target=target,
            parts=[(p.part, p.whole) for p in body.parts],
        )
        doc = await store().create_custom(definition)
        return json_response(custom_kpi_out(doc), status=201)

    async def delete_kpi(request: Request) -> Response:
        code = str(request.path_params["code"])
        await store().delete_custom(code)
        return json_response(models.Deleted(id=code, deleted=True))

    async def record_measurement(request: Request) -> Response:
        body = await read_model(request, models.MeasurementCreate)
        domain.check_scope_writer(body.shop_id, current_principal(), body.reason)
        key = idempotency.from_request(request, "recordMeasurement", body)
        definition = await store().definition(body.kpi_code)
        try:
            doc = await store().record(
                definition,
                body.shop_id,
                body.period_start,
                body.period_end,
                cast(Mapping[str, domain.InputValue], body.inputs),
                body.source,
                replace=body.replace,
                reason=body.reason,
                key=key,
                actor=current_actor(),
            )
        except ValidationFailed as error:
            raise _renamed(error, _PERIOD_FIELDS) from None
        on_recorded()
        replaced = doc["current"]["revision"] > 1
        return json_response(measurement_out(doc), status=200 if replaced else 201)

    async def list_measurements(request: Request) -> Response:
        query = query_model(request, models.MeasurementListQuery)
        if query.ids is not None:
            docs = await store().measurements_by_ids(query.ids)
            return json_response(models.MeasurementBatch(items=[measurement_out(d) for d in docs]))
        _check_range(query.from_, query.to)
        docs, total = await store().list_measurements(
            query.shop_id, query.kpi_code, query.from_, query.to, query.limit, query.offset
        )
        return json_response(
            Page[models.Measurement](
                items=[measurement_out(d) for d in docs],
                total_count=total,
                limit=query.limit,
                offset=query.offset,
            )
        )

    async def get_measurement(request: Request) -> Response:
        doc = await store().get_measurement(path_id(request, "measurement_id"))
        return json_response(measurement_out(doc))

    async def series(request: Request) -> Response:
        query = query_model(request, models.SeriesQuery)
        _check_range(query.from_, query.to)
        definition = await store().definition(query.kpi_code)
        docs = await store().series_measurements(
            query.shop_id, query.kpi_code, query.from_, query.to, MAX_SERIES_MEASUREMENTS
        )
        _check_series_size(docs)
        return json_response(series_out(definition, query.shop_id, query.grain, docs))

    async def series_batch(request: Request) -> Response:
        query = query_model(request, models.SeriesBatchQuery)
        _check_range(query.from_, query.to)
        definition = await store().definition(query.kpi_code)
        shop_ids = list(dict.fromkeys(query.shop_ids))
        docs = await store().series_measurements_for(
            shop_ids, query.kpi_code, query.from_, query.to, MAX_SERIES_MEASUREMENTS
        )
        _check_series_size(docs)
        by_shop: dict[str, list[Document]] = {s: [] for s in shop_ids}
        for doc in docs:
            by_shop[doc["shop_id"]].append(doc)
        items = [series_out(definition, s, query.grain, by_shop[s]) for s in shop_ids]
        return json_response(models.SeriesBatch(items=items))

    async def latest(request: Request) -> Response:
        query = query_model(request, models.LatestQuery)
        latest_docs = await store().latest_for(query.shop_ids)
        target_docs = await store().targets_for(query.shop_ids)
        codes = {d["kpi_code"] for d in (*latest_docs, *target_docs)}
        codes.update(query.kpi_codes or ())
        definitions = await store().definitions(sorted(codes))
        return json_response(
            latest_view(query.shop_ids, latest_docs, target_docs, definitions, query.kpi_codes)
        )

    async def list_targets(request: Request) -> Response:
        query = query_model(request, models.TargetListQuery)
        docs, total = await store().list_targets(query.shop_id, query.limit, query.offset)
        return json_response(
            Page[models.TargetOut](
                items=[target_out(d) for d in docs],
                total_count=total,
                limit=query.limit,
                offset=query.offset,
            )
        )

    async def put_target(request: Request) -> Response:
        shop_id = path_scope(request, "shop_id", "shopId")
        code = str(request.path_params["kpi_code"])
        body = await read_model(request, models.TargetPut)
        await store().definition(code)
        target = domain.Target(body.comparator, body.value)
        period = None
        if (body.period_start is None) != (body.period_end is None):
            raise ValidationFailed(
                "periodEnd" if body.period_end is None else "periodStart",
                "a target's period needs both periodStart and periodEnd",
            )
        if body.period_start is not None and body.period_end is not None:
            try:
                period = domain.validate_period(body.period_start, body.period_end)
            except ValidationFailed as error:
                raise _renamed(error, _PERIOD_FIELDS) from None
        doc = await store().put_target(shop_id, code, target, period)
        return json_response(target_out(doc))

    async def get_target(request: Request) -> Response:
        shop_id = path_scope(request, "shop_id", "shopId")
        doc = await store().get_target(shop_id, str(request.path_params["kpi_code"]))
        return json_response(target_out(doc))

    async def delete_target(request: Request) -> Response:
        shop_id = path_scope(request, "shop_id", "shopId")
        code = str(request.path_params["kpi_code"])
        await store().delete_target(shop_id, code)
        return json_response(models.Deleted(id=f"{shop_id}/{code}", deleted=True))

    async def compute_profit(request: Request) -> Response:
        body = await read_model(request, models.ProfitIndicatorsIn)
        return json_response(profit_out(indicators(body)))

    async def what_if(request: Request) -> Response:
        body = await read_model(request, models.WhatIfIn)
        baseline = indicators(body.baseline, "baseline")
        scenario = indicators(body.scenario, "scenario")
        return json_response(what_if_out(baseline, scenario))

    async def financial_kpis(request: Request) -> Response:
        body = await read_model(request, models.FinancialIn)
        return json_response(financial_out(body))

    target_path = {"shop_id": ScopeId, "kpi_code": str}
    return [
        ApiRoute(
            "/catalogue",
            list_catalogue,
            "GET",
            summary="A page of KPIs (built-ins first), of a level; or the KPIs of `codes`",
            query=models.CatalogueQuery,
            response=Page[models.KpiOut] | models.KpiBatch,
        ),
        ApiRoute(
            "/catalogue",
            create_kpi,
            "POST",
            role=Role.ADMIN,
            summary="Define a custom KPI",
            body=models.CustomKpiCreate,
            response=models.KpiOut,
            status=201,
            errors=(409,),
        ),
        ApiRoute(
            "/catalogue/{code}",
            get_kpi,
            "GET",
            summary="One KPI of the catalogue",
            params={"code": str},
            response=models.KpiOut,
            errors=(404,),
        ),
        ApiRoute(
            "/catalogue/{code}",
            delete_kpi,
            "DELETE",
            role=Role.ADMIN,
            summary="Delete a custom KPI",
            params={"code": str},
            response=models.Deleted,
            errors=(404, 409),
        ),
        ApiRoute(
            "/measurements",
            record_measurement,
            "POST",
            headers=IDEMPOTENCY_KEY,
            summary="Record a measurement (201), or replace one with a reason (200)",
            body=models.MeasurementCreate,
            response=models.Measurement,
            status=201,
            other_statuses=(200,),
            errors=(404, 409),
        ),
        ApiRoute(
            "/measurements",
            list_measurements,
            "GET",
            summary="A page of measurements, filtered; or the measurements of `ids`",
            query=models.MeasurementListQuery,
            response=Page[models.Measurement] | models.MeasurementBatch,
        ),
        ApiRoute(
            "/measurements/{measurement_id}",
            get_measurement,
            "GET",
            summary="One measurement with its revisions",
            params={"measurement_id": RecordId},
            response=models.Measurement,
            errors=(404,),
        ),
        ApiRoute(
            "/series",
            series,
            "GET",
            summary="A KPI's values over time for a scope",
            query=models.SeriesQuery,
            response=models.Series,
            errors=(404,),
        ),
        ApiRoute(
            "/series/batch",
            series_batch,
            "GET",
            summary="A KPI's values over time for each scope of `shopIds`",
            query=models.SeriesBatchQuery,
            response=models.SeriesBatch,
            errors=(404,),
        ),
        ApiRoute(
            "/latest",
            latest,
            "GET",
            summary="The latest value and status of each KPI of each scope of `shopIds`",
            query=models.LatestQuery,
            response=models.LatestBatch,
        ),
        ApiRoute(
            "/targets",
            list_targets,
            "GET",
            summary="A page of a scope's targets",
            query=models.TargetListQuery,
            response=Page[models.TargetOut],
        ),
        ApiRoute(
            "/targets/{shop_id}/{kpi_code}",
            put_target,
            "PUT",
            summary="Set a scope's target for a KPI",
            params=target_path,
            body=models.TargetPut,
            response=models.TargetOut,
            errors=(404, 409),
        ),
        ApiRoute(
            "/targets/{shop_id}/{kpi_code}",
            get_target,
            "GET",
            summary="A scope's target for a KPI",
            params=target_path,
            response=models.TargetOut,
            errors=(404,),
        ),
        ApiRoute(
            "/targets/{shop_id}/{kpi_code}",
            delete_target,
            "DELETE",
            summary="Remove a scope's target for a KPI",
            params=target_path,
            response=models.Deleted,
            errors=(404,),
        ),
        ApiRoute(
            "/profit",
            compute_profit,
            "POST",
            role=Role.VIEWER,  # a computation: stores nothing
            summary="The profit model of one period",
            body=models.ProfitIndicatorsIn,
            response=models.ProfitOut,
        ),
        ApiRoute(
            "/profit/what-if",
            what_if,
            "POST",
            role=Role.VIEWER,  # a computation: stores nothing
            summary="What-if analysis between a baseline and a scenario period",
            body=models.WhatIfIn,
            response=models.WhatIfOut,
        ),
        ApiRoute(
            "/profit/financial-kpis",
            financial_kpis,
            "POST",
            role=Role.VIEWER,  # a computation: stores nothing
            summary="integration_roi and payback_period from two periods",
            body=models.FinancialIn,
            response=models.FinancialOut,
        ),
    ]
