"""The kpi store's reads of measurements: one by id, a batch, a filtered page, the series of
one or many scopes, and the latest view (``latest``), each one database command.

Kept apart from the writes in :mod:`services.kpi.store` (recording, replacing, the derived
views), which need the revision and outbox rules these reads do not.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.collection import AsyncCollection

from services.runtime.errors import NotFound
from services.runtime.mongo import BATCH_READ_SIZE
from services.runtime.records import Document, to_bson_time


class MeasurementReads:
    """The reading part of :class:`services.kpi.store.KpiStore` (which sets the collections)."""

    measurements: AsyncCollection[Document]
    latest: AsyncCollection[Document]

    async def get_measurement(self, measurement_id: str) -> Document:
        """The measurement with this id, or NOT_FOUND."""
        doc = await self.measurements.find_one({"_id": measurement_id})
        if doc is None:
            raise NotFound("measurement", measurement_id)
        return doc

    async def measurements_by_ids(self, ids: Sequence[str]) -> list[Document]:
        """The measurements among ``ids`` that exist, in the order of ``ids`` (one command)."""
        found = {d["_id"]: d async for d in self.measurements.find({"_id": {"$in": list(ids)}})}
        return [found[i] for i in ids if i in found]

    @staticmethod
    def _period_query(
        shop_id: str | None,
        kpi_code: str | None,
        start_from: datetime | None,
        start_to: datetime | None,
    ) -> Document:
        query: Document = {}
        if shop_id is not None:
            query["shop_id"] = shop_id
        if kpi_code is not None:
            query["kpi_code"] = kpi_code
        bounds: Document = {}
        if start_from is not None:
            bounds["$gte"] = to_bson_time(start_from)
        if start_to is not None:
            bounds["$lt"] = to_bson_time(start_to)
        if bounds:
            query["period_start"] = bounds
        return query

    async def list_measurements(
        self,
        shop_id: str | None,
        kpi_code: str | None,
        start_from: datetime | None,
        start_to: datetime | None,
        limit: int,
        offset: int,
    ) -> tuple[list[Document], int]:
        """A page of measurements (newest period first) and how many match."""
        query = self._period_query(shop_id, kpi_code, start_from, start_to)
        cursor = (
            self.measurements.find(query)
            .sort([("period_start", DESCENDING), ("_id", DESCENDING)])
            .skip(offset)
            .limit(limit)
        )
        return await cursor.to_list(), await self.measurements.count_documents(query)

    async def series_measurements(
        self,
        shop_id: str,
        kpi_code: str,
        start_from: datetime | None,
        start_to: datetime | None,
        cap: int,
    ) -> list[Document]:
        """Up to ``cap + 1`` measurements of a scope's KPI by period start (one command)."""
        query = self._period_query(shop_id, kpi_code, start_from, start_to)
        projection = {"period_start": 1, "period_end": 1, "current": 1}
        cursor = (
            self.measurements.find(query, projection)
            .sort([("period_start", ASCENDING), ("period_end", ASCENDING)])
            .limit(cap + 1)
        )
        return await cursor.to_list()

    async def series_measurements_for(
        self,
        shop_ids: Sequence[str],
        kpi_code: str,
        start_from: datetime | None,
        start_to: datetime | None,
        cap: int,
    ) -> list[Document]:
        """Up to ``cap + 1`` measurements of a KPI for several scopes, by scope and period
        start (one query, whatever the number of scopes)."""
        query = self._period_query(None, kpi_code, start_from, start_to)
        query["shop_id"] = {"$in": list(shop_ids)}
        projection = {"shop_id": 1, "period_start": 1, "period_end": 1, "current": 1}
        cursor = (
            self.measurements.find(query, projection)
            .sort([("shop_id", ASCENDING), ("period_start", ASCENDING), ("period_end", ASCENDING)])
            .limit(cap + 1)
        )
        return await cursor.to_list()

    async def latest_for(self, shop_ids: Sequence[str]) -> list[Document]:
        """The latest measurement of every KPI of the given scopes (one command: the batch
        holds a whole page of shops, so no ``getMore`` follows the first 101 documents)."""
        cursor = self.latest.find({"shop_id": {"$in": list(shop_ids)}}, batch_size=BATCH_READ_SIZE)
        return await cursor.to_list()
