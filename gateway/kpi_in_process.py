""":class:`gateway.kpi_client.KpiClient` over the kpi use cases in this process."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from gateway.in_process import InProcessCalls, answer_of, revalidated
from gateway.kpi_client import KpiPage, MeasurementPage, TargetPage
from services.kpi import models
from services.kpi.routes import OPERATIONS
from services.kpi.service import KpiUseCases


class InProcessKpiClient:
    """The kpi service's operations as direct calls of :class:`KpiUseCases` (``service()``
    answers the running one). Reads go through the use case of their HTTP route, so that
    they are counted under it."""

    def __init__(self, service: Callable[[], KpiUseCases]) -> None:
        self._service = service
        self._call = InProcessCalls("kpi", OPERATIONS)

    async def catalogue(self, query: models.CatalogueQuery) -> KpiPage:
        """See :meth:`KpiClient.catalogue`."""
        answer = await self._call(self._service().list_catalogue, revalidated(query))
        return answer_of(KpiPage, answer)

    async def kpis(self, codes: Sequence[str]) -> list[models.KpiOut]:
        """See :meth:`KpiClient.kpis`."""
        query = revalidated(models.CatalogueQuery.model_construct(codes=list(codes)))
        answer = await self._call(self._service().list_catalogue, query)
        return answer_of(models.KpiBatch, answer).items

    async def create_kpi(self, kpi: models.CustomKpiCreate) -> models.KpiOut:
        """See :meth:`KpiClient.create_kpi`."""
        return await self._call(self._service().create_kpi, revalidated(kpi))

    async def delete_kpi(self, code: str) -> models.Deleted:
        """See :meth:`KpiClient.delete_kpi`."""
        return await self._call(self._service().delete_kpi, code)

    async def measurements(self, query: models.MeasurementListQuery) -> MeasurementPage:
        """See :meth:`KpiClient.measurements`."""
        answer = await self._call(self._service().list_measurements, revalidated(query))
        return answer_of(MeasurementPage, answer)

    async def measurements_by_id(self, ids: Sequence[str]) -> list[models.Measurement]:
        """See :meth:`KpiClient.measurements_by_id`."""
        query = revalidated(models.MeasurementListQuery.model_construct(ids=list(ids)))
        answer = await self._call(self._service().list_measurements, query)
        return answer_of(models.MeasurementBatch, answer).items

    async def record_measurement(
        self, measurement: models.MeasurementCreate, idempotency_key: str | None
    ) -> models.Measurement:
        """See :meth:`KpiClient.record_measurement`."""
        service = self._service()
        checked = revalidated(measurement)
        return await self._call(service.record_measurement, checked, idempotency_key)

    async def series(self, query: models.SeriesBatchQuery) -> list[models.Series]:
        """See :meth:`KpiClient.series`."""
        return (await self._call(self._service().series, revalidated(query))).items

    async def latest(self, query: models.LatestQuery) -> list[models.ShopLatest]:
        """See :meth:`KpiClient.latest`."""
        return (await self._call(self._service().latest, revalidated(query))).items

    async def targets(self, query: models.TargetListQuery) -> TargetPage:
        """See :meth:`KpiClient.targets`."""
        return await self._call(self._service().targets, revalidated(query))

    async def set_target(
        self, shop_id: str, kpi_code: str, target: models.TargetPut
    ) -> models.TargetOut:
        """See :meth:`KpiClient.set_target`."""
        service = self._service()
        return await self._call(service.set_target, shop_id, kpi_code, revalidated(target))

    async def delete_target(self, shop_id: str, kpi_code: str) -> models.Deleted:
        """See :meth:`KpiClient.delete_target`."""
        return await self._call(self._service().delete_target, shop_id, kpi_code)

    async def profit(self, indicators: models.ProfitIndicatorsIn) -> models.ProfitOut:
        """See :meth:`KpiClient.profit`."""
        return await self._call(self._service().profit, revalidated(indicators))

    async def what_if(self, periods: models.WhatIfIn) -> models.WhatIfOut:
        """See :meth:`KpiClient.what_if`."""
        return await self._call(self._service().what_if, revalidated(periods))

    async def financial_kpis(self, periods: models.FinancialIn) -> models.FinancialOut:
        """See :meth:`KpiClient.financial_kpis`."""
        return await self._call(self._service().financial_kpis, revalidated(periods))
