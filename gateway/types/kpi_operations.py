"""The kpi queries and mutations, and the platform: each checks its arguments, calls the typed
kpi client (through the request's DataLoaders for reads by key) and answers the GraphQL types.
Mutations naming a shop check here, through the scoring service, that it exists (the built-in
scope ``platform`` always does), as the risk part does."""

from __future__ import annotations

import asyncio

import strawberry
from strawberry.utils.await_maybe import await_maybe

from gateway.context import Info
from gateway.idempotency import IdempotencyKey, scoped_key
from gateway.types.common import DeletePayload, page_args, request_model
from gateway.types.kpi import (
    FromArg,
    KpiLatest,
    KpiMeasurement,
    KpiMeasurementPage,
    KpiSeries,
    KpiTarget,
    KpiTargetPage,
    ToArg,
    kpi_codes,
    load_measurement,
    shop_kpi_series,
    shop_kpis,
)
from gateway.types.kpi_catalogue import Kpi, KpiGrain, KpiLevel, KpiPage, load_kpi
from gateway.types.kpi_inputs import (
    CreateCustomKpiInput,
    FinancialKpisInput,
    KpiTargetInput,
    ProfitIndicatorsInput,
    ProfitWhatIfInput,
    RecordMeasurementInput,
    by_name,
)
from gateway.types.profit import FinancialKpis, Profit, ProfitWhatIf
from gateway.types.risk import RiskFilter, RiskPage, RiskSort, require_scope, shop_risks
from gateway.types.scores import SortOrder
from services.kpi import models
from services.runtime.wire import PLATFORM_SCOPE, check_id, check_scope, parse


@strawberry.type(description="Whether a service answers its readiness probe.")
class ServiceHealth:
    name: str
    ready: bool


@strawberry.type(
    description="The platform as an integration of services (§4.6): its own "
    "KPIs (SYSTEM measurements each minute), its risks, its services."
)
class Platform:
    @strawberry.field(description="Latest value and status of the platform's KPIs.")
    async def kpis(self, info: Info, codes: list[str] | None = None) -> list[KpiLatest]:
        return await await_maybe(shop_kpis(info, PLATFORM_SCOPE, codes))

    @strawberry.field(description="The platform's risks, filtered; largest inherent score first.")
    async def risks(
        self,
        info: Info,
        filter: RiskFilter | None = None,
        sort: RiskSort | None = None,
        order: SortOrder | None = None,
        limit: int = 20,
        offset: int = 0,
    ) -> RiskPage:
        return await shop_risks(info, PLATFORM_SCOPE, filter, sort, order, limit, offset)

    @strawberry.field(description="A series of one of the platform's KPIs.")
    async def kpi_series(
        self,
        info: Info,
        kpi_code: str,
        grain: KpiGrain = KpiGrain.RECORDED,
        from_: FromArg = None,
        to: ToArg = None,
    ) -> KpiSeries:
        return await shop_kpi_series(info, PLATFORM_SCOPE, kpi_code, grain, from_, to)

    @strawberry.field(description="Each service the gateway reaches, and whether it is ready.")
    async def services(self, info: Info) -> list[ServiceHealth]:
        clients = info.context.clients.all()
        answers = await asyncio.gather(*(c.ready() for c in clients.values()))
        return [
            ServiceHealth(name=name, ready=ready)
            for name, ready in zip(clients, answers, strict=True)
        ]


async def _catalogue_of(info: Info, codes: list[str], level: KpiLevel | None) -> KpiPage:
    """The catalogue entries of ``codes`` (of ``level``), as one page."""
    kpis = await info.context.clients.kpi.kpis(codes)
    items = [Kpi.from_model(k) for k in kpis if level is None or k.level is level]
    return KpiPage(items=items, total_count=len(items), limit=len(items), offset=0)


@strawberry.type
class KpiQuery:
    @strawberry.field(
        description="The KPI catalogue: a page (built-in first), filtered by level, "
        "or the KPIs of the given codes (unknown codes left out)."
    )
    async def kpi_catalogue(
        self,
        info: Info,
        level: KpiLevel | None = None,
        codes: list[str] | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> KpiPage:
        page = page_args(limit, offset)
        wanted = kpi_codes(codes)
        if wanted is not None:
            if not wanted:
                return KpiPage(items=[], total_count=0, limit=limit, offset=offset)
            return await _catalogue_of(info, wanted, level)
        query = parse(models.CatalogueQuery, {**page, "level": level})
        return KpiPage.of(await info.context.clients.kpi.catalogue(query), Kpi.from_model)

    @strawberry.field(description="A KPI by code; null if there is none.")
    async def kpi(self, info: Info, code: str) -> Kpi | None:
        return await load_kpi(info, code)

    @strawberry.field(
        description="A page of measurements (of one shop, one KPI or all), newest period first."
    )
    async def measurements(
        self,
        info: Info,
        shop_id: strawberry.ID | None = None,
        kpi_code: str | None = None,
        from_: FromArg = None,
        to: ToArg = None,
        limit: int = 20,
        offset: int = 0,
    ) -> KpiMeasurementPage:
        page = page_args(limit, offset)
        scope = None if shop_id is None else check_scope(shop_id, "shopId")
        query = parse(
            models.MeasurementListQuery,
            {**page, "shopId": scope, "kpiCode": kpi_code, "from": from_, "to": to},
        )
        answer = await info.context.clients.kpi.measurements(query)
        for measurement in answer.items:
            info.context.kpi.measurement.prime(measurement.id, measurement)
        return KpiMeasurementPage.of(answer, KpiMeasurement.from_model)

    @strawberry.field(description="A measurement by id, with its history; null if there is none.")
    async def measurement(self, info: Info, id: strawberry.ID) -> KpiMeasurement | None:
        return await load_measurement(info, check_id(str(id)))

    @strawberry.field(
        description="A KPI's series for a shop (or the platform), as recorded or "
        "rolled up to week, month or quarter."
    )
    async def kpi_series(
        self,
        info: Info,
        shop_id: strawberry.ID,
        kpi_code: str,
        grain: KpiGrain = KpiGrain.RECORDED,
        from_: FromArg = None,
        to: ToArg = None,
    ) -> KpiSeries:
        scope = check_scope(shop_id, "shopId")
        return await shop_kpi_series(info, scope, kpi_code, grain, from_, to)

    @strawberry.field(description="A shop's (or the platform's) own targets, by KPI code.")
    async def kpi_targets(
        self, info: Info, shop_id: strawberry.ID, limit: int = 100, offset: int = 0
    ) -> KpiTargetPage:
        page = page_args(limit, offset)
        query = parse(models.TargetListQuery, {**page, "shopId": check_scope(shop_id, "shopId")})
        answer = await info.context.clients.kpi.targets(query)
        return KpiTargetPage.of(answer, KpiTarget.from_model)

    @strawberry.field(description="The profit model of one period (§4.4).")
    async def profit(self, info: Info, input: ProfitIndicatorsInput) -> Profit:
        indicators = request_model(models.ProfitIndicatorsIn, input)
        return Profit.from_model(await info.context.clients.kpi.profit(indicators))

    @strawberry.field(
        description="What-if: the change of profit between a baseline and a "
        "scenario, attributed to the indicators that changed."
    )
    async def profit_what_if(self, info: Info, input: ProfitWhatIfInput) -> ProfitWhatIf:
        periods = request_model(models.WhatIfIn, input)
        return ProfitWhatIf.from_model(await info.context.clients.kpi.what_if(periods))

    @strawberry.field(description="integration_roi and payback_period from two periods.")
    async def financial_kpis(self, info: Info, input: FinancialKpisInput) -> FinancialKpis:
        periods = request_model(models.FinancialIn, input)
        return FinancialKpis.from_model(await info.context.clients.kpi.financial_kpis(periods))

    @strawberry.field(description="The platform itself: its own KPIs, risks and services.")
    def platform(self) -> Platform:
        return Platform()


@strawberry.type
class KpiMutation:
    @strawberry.mutation(
        description="Record a measurement; its value is computed from the "
        "inputs, and a breach escalates the shop's risks once."
    )
    async def record_measurement(
        self, info: Info, input: RecordMeasurementInput, idempotency_key: IdempotencyKey = None
    ) -> KpiMeasurement:
        key = scoped_key(idempotency_key)
        scope = await require_scope(info, input.shop_id, "input.shopId")
        inputs = by_name(((i.name, i.value) for i in input.inputs), "inputs")
        measurement = request_model(models.MeasurementCreate, input, shop_id=scope, inputs=inputs)
        recorded = await info.context.clients.kpi.record_measurement(measurement, key)
        return KpiMeasurement.from_model(recorded)

    @strawberry.mutation(description="Set (create or replace) a shop's target for a KPI.")
    async def set_kpi_target(
        self, info: Info, shop_id: strawberry.ID, kpi_code: str, input: KpiTargetInput
    ) -> KpiTarget:
        scope = await require_scope(info, shop_id, "shopId")
        target = request_model(models.TargetPut, input)
        return KpiTarget.from_model(
            await info.context.clients.kpi.set_target(scope, kpi_code, target)
        )

    @strawberry.mutation(description="Delete a shop's target for a KPI (the default applies).")
    async def delete_kpi_target(
        self, info: Info, shop_id: strawberry.ID, kpi_code: str
    ) -> DeletePayload:
        scope = check_scope(shop_id, "shopId")
        deleted = await info.context.clients.kpi.delete_target(scope, kpi_code)
        return DeletePayload(id=strawberry.ID(deleted.id), deleted=deleted.deleted)

    @strawberry.mutation(description="Create a custom KPI; its formula is parsed, never eval'd.")
    async def create_custom_kpi(self, info: Info, input: CreateCustomKpiInput) -> Kpi:
        inputs = by_name(((i.name, i.kind.value) for i in input.inputs), "inputs")
        kpi = request_model(models.CustomKpiCreate, input, inputs=inputs)
        return Kpi.from_model(await info.context.clients.kpi.create_kpi(kpi))

    @strawberry.mutation(description="Delete a custom KPI without measurements, and its targets.")
    async def delete_custom_kpi(self, info: Info, code: str) -> DeletePayload:
        deleted = await info.context.clients.kpi.delete_kpi(code)
        return DeletePayload(id=strawberry.ID(deleted.id), deleted=deleted.deleted)
