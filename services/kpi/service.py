"""The kpi service's use cases (§4): typed async methods, the only caller of the store for them.

:class:`KpiUseCases` is what both adapters call: the HTTP routes (:mod:`services.kpi.routes`)
and, in process, the gateway (one method per operation of :class:`gateway.kpi_client.KpiClient`,
answering the model its HTTP route answers). Its contract holds whichever adapter calls it:

- **Validation** is the models': a method takes the request models of
  :mod:`services.kpi.models` (built by ``model_validate``, so invalid input never reaches it)
  and checks the ids, scopes and batches it is given itself (INVALID_ID or VALIDATION_ERROR
  naming the parameter, as the HTTP API does). Domain errors name the request's field.
- **Roles** are enforced by each method (:func:`requires`) against the authenticated caller;
  :data:`ROLES` is the role table, which the HTTP routes declare too (OpenAPI, 403).
- **The actor** of every measurement revision, target and custom KPI is the caller of
  :mod:`services.runtime.caller`; a call with no caller is UNAUTHENTICATED.
- **Idempotency keys** are the argument ``idempotency_key`` of :meth:`record_measurement` (the
  ``Idempotency-Key`` header over HTTP).

The outbox dispatcher, the no-data monitor and the platform recorder are the service's own
background work, not callers: they keep using the store directly.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import cast

from pydantic import BaseModel

from services.kpi import answers, domain, measuring, models, profit_answers, recording
from services.kpi.custom_kpis import define_custom_kpi
from services.kpi.store import KpiStore
from services.runtime.auth import Role
from services.runtime.caller import current_actor, current_principal
from services.runtime.errors import ValidationFailed
from services.runtime.idempotency import Idempotency, check_key, request_hash
from services.runtime.records import Document
from services.runtime.shop_purge import ShopPurged
from services.runtime.use_cases import RoleTable
from services.runtime.wire import Page, check_id, check_scope, parse
from services.runtime.wire_errors import wire_fields

MAX_SERIES_MEASUREMENTS = 10_000
"""The most measurements one series request rolls up (narrow the range for more)."""

_PERIOD_FIELDS = {"period.start": "periodStart", "period.end": "periodEnd", "period": "periodEnd"}

USE_CASES = RoleTable()
ROLES = USE_CASES.roles
"""The role each use case needs, by method name (filled by :func:`requires`)."""
requires = USE_CASES.requires
"""A use case that answers FORBIDDEN unless the caller's role includes the given one."""


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def check_range(start: datetime | None, end: datetime | None) -> None:
    """VALIDATION_ERROR on ``to`` unless ``from`` is before it (either may be open)."""
    low, high = _utc(start), _utc(end)
    if low is not None and high is not None and low >= high:
        raise ValidationFailed("to", "to must be after from")


def check_series_size(docs: Sequence[Document]) -> None:
    """VALIDATION_ERROR on ``from`` when a series would roll up too many measurements."""
    if len(docs) > MAX_SERIES_MEASUREMENTS:
        raise ValidationFailed(
            "from",
            f"more than {MAX_SERIES_MEASUREMENTS} measurements; narrow the range (from, to)",
        )


def idempotency_of(operation: str, key: str | None, body: BaseModel) -> Idempotency | None:
    """The idempotency of a creating call (``None`` without a key); a bad key is a
    VALIDATION_ERROR naming ``idempotencyKey``."""
    if key is None:
        return None
    return Idempotency(operation, check_key(key), request_hash(body, {}))


def target_period(body: models.TargetPut) -> tuple[datetime, datetime] | None:
    """The period a target is in force (both ends or neither), checked as a period."""
    if (body.period_start is None) != (body.period_end is None):
        raise ValidationFailed(
            "periodEnd" if body.period_end is None else "periodStart",
            "a target's period needs both periodStart and periodEnd",
        )
    if body.period_start is None or body.period_end is None:
        return None
    with wire_fields(_PERIOD_FIELDS):
        return recording.validate_period(body.period_start, body.period_end)


def custom_kpi(body: models.CustomKpiCreate) -> domain.KpiDefinition:
    """The domain's definition of a requested custom KPI (its rules name the request's fields)."""
    target = None
    if body.default_target is not None:
        with wire_fields({"target.value": "defaultTarget.value"}):
            target = domain.Target(body.default_target.comparator, body.default_target.value)
    return define_custom_kpi(
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


class KpiUseCases:
    """KPI catalogue, measurements, series, the latest view, targets and the profit model.

    ``on_recorded`` is called after each measurement write (it wakes the outbox dispatcher).
    """

    def __init__(self, store: KpiStore, on_recorded: Callable[[], None] = lambda: None) -> None:
        self.store = store
        self.on_recorded = on_recorded

    # --- the catalogue ---------------------------------------------------------------------

    @requires(Role.VIEWER)
    async def list_catalogue(
        self, query: models.CatalogueQuery
    ) -> Page[models.KpiOut] | models.KpiBatch:
        """``GET /catalogue``: the KPIs of ``query.codes`` if given, else a page."""
        if query.codes is not None:
            return await self.kpis(query.codes)
        return await self.catalogue(query)

    @requires(Role.VIEWER)
    async def catalogue(self, query: models.CatalogueQuery) -> Page[models.KpiOut]:
        """A page of the catalogue of a level (or all), built-in KPIs first, then custom by
        code (``query.codes`` is ignored)."""
        built_in = [
            d for d in domain.CATALOGUE.values() if query.level is None or d.level == query.level
        ]
        page = built_in[query.offset : query.offset + query.limit]
        docs, custom_total = await self.store.list_custom(
            None if query.level is None else query.level.value,
            query.limit - len(page),
            max(query.offset - len(built_in), 0),
        )
        items = [answers.kpi_out(d) for d in page]
        items += [answers.custom_kpi_out(d) for d in docs]
        return Page[models.KpiOut](
            items=items,
            total_count=len(built_in) + custom_total,
            limit=query.limit,
            offset=query.offset,
        )

    @requires(Role.VIEWER)
    async def kpis(self, codes: Sequence[str]) -> models.KpiBatch:
        """The KPIs of ``codes`` that exist, in their order (at most 100 codes)."""
        codes = parse(models.CatalogueQuery, {"codes": list(codes)}).codes or []
        unique = list(dict.fromkeys(codes))
        found = {c: answers.kpi_out(domain.CATALOGUE[c]) for c in unique if c in domain.CATALOGUE}
        custom = [c for c in unique if c not in found]
        found |= {d["_id"]: answers.custom_kpi_out(d) for d in await self.store.custom_docs(custom)}
        return models.KpiBatch(items=[found[c] for c in unique if c in found])

    @requires(Role.VIEWER)
    async def get_kpi(self, code: str) -> models.KpiOut:
        """One KPI of the catalogue; NOT_FOUND naming ``code``."""
        if code in domain.CATALOGUE:
            return answers.kpi_out(domain.CATALOGUE[code])
        return answers.custom_kpi_out(await self.store.custom_doc(code, field="code"))

    @requires(Role.ADMIN)
    async def create_kpi(self, kpi: models.CustomKpiCreate) -> models.KpiOut:
        """Define a custom KPI, created by the caller; an existing code is a CONFLICT."""
        doc = await self.store.create_custom(custom_kpi(kpi))
        return answers.custom_kpi_out(doc)

    @requires(Role.ADMIN)
    async def delete_kpi(self, code: str) -> models.Deleted:
        """Delete a custom KPI without measurements, and its targets."""
        await self.store.delete_custom(code)
        return models.Deleted(id=code, deleted=True)

    # --- measurements ----------------------------------------------------------------------

    @requires(Role.ANALYST)
    async def record_measurement(
        self, measurement: models.MeasurementCreate, idempotency_key: str | None = None
    ) -> models.Measurement:
        """Record a measurement (revision 1), or replace one with a reason (a later revision);
        a retried key answers the measurement as stored; a deleted shop is NOT_FOUND."""
        recording.check_scope_writer(measurement.shop_id, current_principal(), measurement.reason)
        key = idempotency_of("recordMeasurement", idempotency_key, measurement)
        definition = await self.store.definition(measurement.kpi_code)
        await self.store.purge.check_not_deleted(measurement.shop_id)
        with wire_fields(_PERIOD_FIELDS):
            checked = recording.check_measurement(
                definition,
                measurement.shop_id,
                (measurement.period_start, measurement.period_end),
                cast(Mapping[str, measuring.InputValue], measurement.inputs),
                measurement.source,
                replace=measurement.replace,
                reason=measurement.reason,
            )
        doc = await self.store.record(checked, key=key, actor=current_actor())
        self.on_recorded()
        return answers.measurement_out(doc)

    @requires(Role.VIEWER)
    async def list_measurements(
        self, query: models.MeasurementListQuery
    ) -> Page[models.Measurement] | models.MeasurementBatch:
        """``GET /measurements``: the measurements of ``query.ids`` if given, else a page."""
        if query.ids is not None:
            return await self.measurements_by_id(query.ids)
        return await self.measurements(query)

    @requires(Role.VIEWER)
    async def measurements(self, query: models.MeasurementListQuery) -> Page[models.Measurement]:
        """A page of measurements, filtered, newest period first (``query.ids`` is ignored)."""
        check_range(query.from_, query.to)
        docs, total = await self.store.list_measurements(
            query.shop_id, query.kpi_code, query.from_, query.to, query.limit, query.offset
        )
        return Page[models.Measurement](
            items=[answers.measurement_out(d) for d in docs],
            total_count=total,
            limit=query.limit,
            offset=query.offset,
        )

    @requires(Role.VIEWER)
    async def measurements_by_id(self, ids: Sequence[str]) -> models.MeasurementBatch:
        """The measurements of ``ids`` that exist, in their order (at most 100 ids)."""
        checked = parse(models.MeasurementListQuery, {"ids": list(ids)}).ids or []
        docs = await self.store.measurements_by_ids(checked)
        return models.MeasurementBatch(items=[answers.measurement_out(d) for d in docs])

    @requires(Role.VIEWER)
    async def get_measurement(self, measurement_id: str) -> models.Measurement:
        """One measurement with its revisions; NOT_FOUND."""
        doc = await self.store.get_measurement(check_id(measurement_id, "measurement_id"))
        return answers.measurement_out(doc)

    # --- series and the latest view --------------------------------------------------------

    @requires(Role.VIEWER)
    async def scope_series(self, query: models.SeriesQuery) -> models.Series:
        """A KPI's values over time for one scope, at the query's grain."""
        check_range(query.from_, query.to)
        definition = await self.store.definition(query.kpi_code)
        docs = await self.store.series_measurements(
            query.shop_id, query.kpi_code, query.from_, query.to, MAX_SERIES_MEASUREMENTS
        )
        check_series_size(docs)
        return answers.series_out(definition, query.shop_id, query.grain, docs)

    @requires(Role.VIEWER)
    async def series(self, query: models.SeriesBatchQuery) -> models.SeriesBatch:
        """A KPI's series for each scope of the query, in its order (one query)."""
        check_range(query.from_, query.to)
        definition = await self.store.definition(query.kpi_code)
        shop_ids = list(dict.fromkeys(query.shop_ids))
        docs = await self.store.series_measurements_for(
            shop_ids, query.kpi_code, query.from_, query.to, MAX_SERIES_MEASUREMENTS
        )
        check_series_size(docs)
        by_shop: dict[str, list[Document]] = {s: [] for s in shop_ids}
        for doc in docs:
            by_shop[doc["shop_id"]].append(doc)
        items = [answers.series_out(definition, s, query.grain, by_shop[s]) for s in shop_ids]
        return models.SeriesBatch(items=items)

    @requires(Role.VIEWER)
    async def latest(self, query: models.LatestQuery) -> models.LatestBatch:
        """The latest value and status of each KPI of each scope of the query, in its order."""
        latest_docs = await self.store.latest_for(query.shop_ids)
        target_docs = await self.store.targets_for(query.shop_ids)
        codes = {d["kpi_code"] for d in (*latest_docs, *target_docs)}
        codes.update(query.kpi_codes or ())
        definitions = await self.store.definitions(sorted(codes))
        return answers.latest_view(
            query.shop_ids, latest_docs, target_docs, definitions, query.kpi_codes
        )

    # --- targets ---------------------------------------------------------------------------

    @requires(Role.VIEWER)
    async def targets(self, query: models.TargetListQuery) -> Page[models.TargetOut]:
        """A page of a scope's own targets, by KPI code."""
        docs, total = await self.store.list_targets(query.shop_id, query.limit, query.offset)
        return Page[models.TargetOut](
            items=[answers.target_out(d) for d in docs],
            total_count=total,
            limit=query.limit,
            offset=query.offset,
        )

    @requires(Role.ANALYST)
    async def set_target(
        self, shop_id: str, kpi_code: str, target: models.TargetPut
    ) -> models.TargetOut:
        """Set (create or replace) a scope's target for a KPI, set by the caller."""
        check_scope(shop_id, "shopId")
        await self.store.definition(kpi_code)
        wanted = domain.Target(target.comparator, target.value)
        doc = await self.store.put_target(shop_id, kpi_code, wanted, target_period(target))
        return answers.target_out(doc)

    @requires(Role.VIEWER)
    async def get_target(self, shop_id: str, kpi_code: str) -> models.TargetOut:
        """A scope's target for a KPI; NOT_FOUND naming ``kpiCode``."""
        doc = await self.store.get_target(check_scope(shop_id, "shopId"), kpi_code)
        return answers.target_out(doc)

    @requires(Role.ANALYST)
    async def delete_target(self, shop_id: str, kpi_code: str) -> models.Deleted:
        """Remove a scope's target for a KPI; NOT_FOUND naming ``kpiCode``."""
        await self.store.delete_target(check_scope(shop_id, "shopId"), kpi_code)
        return models.Deleted(id=f"{shop_id}/{kpi_code}", deleted=True)

    # --- the profit model (computations: nothing is stored) --------------------------------

    @requires(Role.VIEWER)
    async def profit(self, indicators: models.ProfitIndicatorsIn) -> models.ProfitOut:
        """The profit model of one period."""
        return profit_answers.profit_out(profit_answers.indicators(indicators))

    @requires(Role.VIEWER)
    async def what_if(self, periods: models.WhatIfIn) -> models.WhatIfOut:
        """The change of profit between a baseline and a scenario period, attributed."""
        baseline = profit_answers.indicators(periods.baseline, "baseline")
        scenario = profit_answers.indicators(periods.scenario, "scenario")
        return profit_answers.what_if_out(baseline, scenario)

    @requires(Role.VIEWER)
    async def financial_kpis(self, periods: models.FinancialIn) -> models.FinancialOut:
        """``integration_roi`` and ``payback_period`` from two periods."""
        return profit_answers.financial_out(periods)

    # --- shops -----------------------------------------------------------------------------

    @requires(Role.ADMIN)
    async def purge_shop(self, shop_id: str) -> ShopPurged:
        """Forget a deleted shop: its measurements and targets (idempotent)."""
        return await self.store.purge.purge(check_id(shop_id, "shop_id"))
