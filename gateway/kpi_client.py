"""The kpi service as the gateway uses it: one typed interface, and its HTTP implementation.

:class:`KpiClient` names the operations in the service's own models
(:mod:`services.kpi.models`); it knows nothing of paths, status codes or headers, so an
in-process implementation can stand in for :class:`HttpKpiClient`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from gateway.clients import ServiceClient, key_header, query_params, request_body
from services.kpi import models
from services.runtime.wire import Page

KpiPage = Page[models.KpiOut]
MeasurementPage = Page[models.Measurement]
TargetPage = Page[models.TargetOut]


class KpiClient(Protocol):
    """The kpi service's operations. ``idempotency_key`` is the caller-scoped key
    (:func:`gateway.idempotency.scoped_key`); a missing record raises NOT_FOUND."""

    async def catalogue(self, query: models.CatalogueQuery) -> KpiPage:
        """A page of the catalogue, built-in KPIs first (``query.codes`` unset)."""
        ...

    async def kpis(self, codes: Sequence[str]) -> list[models.KpiOut]:
        """The KPIs of ``codes`` that exist (at most 100)."""
        ...

    async def create_kpi(self, kpi: models.CustomKpiCreate) -> models.KpiOut:
        """Create a custom KPI."""
        ...

    async def delete_kpi(self, code: str) -> models.Deleted:
        """Delete a custom KPI without measurements, and its targets."""
        ...

    async def measurements(self, query: models.MeasurementListQuery) -> MeasurementPage:
        """A page of measurements, newest period first (``query.ids`` unset)."""
        ...

    async def measurements_by_id(self, ids: Sequence[str]) -> list[models.Measurement]:
        """The measurements of ``ids`` that exist (at most 100)."""
        ...

    async def record_measurement(
        self, measurement: models.MeasurementCreate, idempotency_key: str | None
    ) -> models.Measurement:
        """Record (or, with a reason, replace) a measurement."""
        ...

    async def series(self, query: models.SeriesBatchQuery) -> list[models.Series]:
        """One KPI's series for each scope of the query."""
        ...

    async def latest(self, query: models.LatestQuery) -> list[models.ShopLatest]:
        """The latest values of the scopes of the query, in its order."""
        ...

    async def targets(self, query: models.TargetListQuery) -> TargetPage:
        """A page of a scope's own targets, by KPI code."""
        ...

    async def set_target(
        self, shop_id: str, kpi_code: str, target: models.TargetPut
    ) -> models.TargetOut:
        """Set (create or replace) a scope's target for a KPI."""
        ...

    async def delete_target(self, shop_id: str, kpi_code: str) -> models.Deleted:
        """Delete a scope's target for a KPI."""
        ...

    async def profit(self, indicators: models.ProfitIndicatorsIn) -> models.ProfitOut:
        """The profit model of one period."""
        ...

    async def what_if(self, periods: models.WhatIfIn) -> models.WhatIfOut:
        """The change of profit between a baseline and a scenario, attributed."""
        ...

    async def financial_kpis(self, periods: models.FinancialIn) -> models.FinancialOut:
        """integration_roi and payback_period from two periods."""
        ...


class HttpKpiClient:
    """:class:`KpiClient` over the kpi service's HTTP API. Batches of ids the gateway holds
    are sent unchecked (the service checks them, as it does for any caller)."""

    def __init__(self, transport: ServiceClient) -> None:
        self.transport = transport

    async def catalogue(self, query: models.CatalogueQuery) -> KpiPage:
        """See :meth:`KpiClient.catalogue`."""
        answer = await self.transport.send("GET", "/catalogue", params=query_params(query))
        return KpiPage.model_validate_json(answer)

    async def kpis(self, codes: Sequence[str]) -> list[models.KpiOut]:
        """See :meth:`KpiClient.kpis`."""
        query = models.CatalogueQuery.model_construct(codes=list(codes))
        answer = await self.transport.send("GET", "/catalogue", params=query_params(query))
        return models.KpiBatch.model_validate_json(answer).items

    async def create_kpi(self, kpi: models.CustomKpiCreate) -> models.KpiOut:
        """See :meth:`KpiClient.create_kpi`."""
        answer = await self.transport.send("POST", "/catalogue", content=request_body(kpi))
        return models.KpiOut.model_validate_json(answer)

    async def delete_kpi(self, code: str) -> models.Deleted:
        """See :meth:`KpiClient.delete_kpi`."""
        answer = await self.transport.send("DELETE", "/catalogue/{code}", path={"code": code})
        return models.Deleted.model_validate_json(answer)

    async def measurements(self, query: models.MeasurementListQuery) -> MeasurementPage:
        """See :meth:`KpiClient.measurements`."""
        answer = await self.transport.send("GET", "/measurements", params=query_params(query))
        return MeasurementPage.model_validate_json(answer)

    async def measurements_by_id(self, ids: Sequence[str]) -> list[models.Measurement]:
        """See :meth:`KpiClient.measurements_by_id`."""
        query = models.MeasurementListQuery.model_construct(ids=list(ids))
        answer = await self.transport.send("GET", "/measurements", params=query_params(query))
        return models.MeasurementBatch.model_validate_json(answer).items

    async def record_measurement(
        self, measurement: models.MeasurementCreate, idempotency_key: str | None
    ) -> models.Measurement:
        """See :meth:`KpiClient.record_measurement`."""
        answer = await self.transport.send(
            "POST",
            "/measurements",
            content=request_body(measurement),
            headers=key_header(idempotency_key),
        )
        return models.Measurement.model_validate_json(answer)

    async def series(self, query: models.SeriesBatchQuery) -> list[models.Series]:
        """See :meth:`KpiClient.series`."""
        answer = await self.transport.send("GET", "/series/batch", params=query_params(query))
        return models.SeriesBatch.model_validate_json(answer).items

    async def latest(self, query: models.LatestQuery) -> list[models.ShopLatest]:
        """See :meth:`KpiClient.latest`."""
        answer = await self.transport.send("GET", "/latest", params=query_params(query))
        return models.LatestBatch.model_validate_json(answer).items

    async def targets(self, query: models.TargetListQuery) -> TargetPage:
        """See :meth:`KpiClient.targets`."""
        answer = await self.transport.send("GET", "/targets", params=query_params(query))
        return TargetPage.model_validate_json(answer)

    async def set_target(
        self, shop_id: str, kpi_code: str, target: models.TargetPut
    ) -> models.TargetOut:
        """See :meth:`KpiClient.set_target`."""
        answer = await self.transport.send(
            "PUT",
            "/targets/{shop_id}/{kpi_code}",
            path={"shop_id": shop_id, "kpi_code": kpi_code},
            content=request_body(target),
        )
        return models.TargetOut.model_validate_json(answer)

    async def delete_target(self, shop_id: str, kpi_code: str) -> models.Deleted:
        """See :meth:`KpiClient.delete_target`."""
        answer = await self.transport.send(
            "DELETE",
            "/targets/{shop_id}/{kpi_code}",
            path={"shop_id": shop_id, "kpi_code": kpi_code},
        )
        return models.Deleted.model_validate_json(answer)

    async def profit(self, indicators: models.ProfitIndicatorsIn) -> models.ProfitOut:
        """See :meth:`KpiClient.profit`."""
        answer = await self.transport.send("POST", "/profit", content=request_body(indicators))
        return models.ProfitOut.model_validate_json(answer)

    async def what_if(self, periods: models.WhatIfIn) -> models.WhatIfOut:
        """See :meth:`KpiClient.what_if`."""
        answer = await self.transport.send("POST", "/profit/what-if", content=request_body(periods))
        return models.WhatIfOut.model_validate_json(answer)

    async def financial_kpis(self, periods: models.FinancialIn) -> models.FinancialOut:
        """See :meth:`KpiClient.financial_kpis`."""
        answer = await self.transport.send(
            "POST", "/profit/financial-kpis", content=request_body(periods)
        )
        return models.FinancialOut.model_validate_json(answer)
