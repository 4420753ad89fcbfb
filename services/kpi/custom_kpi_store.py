"""The kpi store's catalogue: users' custom KPIs beside the built-in ones.

A custom KPI is stored by code in ``custom_kpis`` and rebuilt through the domain's validation
when read (:func:`custom_definition`); it cannot be deleted while it has measurements.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from services.kpi import domain
from services.kpi.custom_kpis import define_custom_kpi
from services.runtime.caller import current_actor
from services.runtime.change_feed import ChangeFeed, ChangeKind, Location
from services.runtime.errors import Conflict, NotFound
from services.runtime.records import Document, now


class CustomKpiStore:
    """The catalogue part of :class:`services.kpi.store.KpiStore` (which sets the collections)."""

    measurements: AsyncCollection[Document]
    targets: AsyncCollection[Document]
    custom_kpis: AsyncCollection[Document]
    feed: ChangeFeed

    async def definition(self, code: str, field: str = "kpiCode") -> domain.KpiDefinition:
        """The built-in or custom KPI with this code, or NOT_FOUND naming ``field``."""
        if code in domain.CATALOGUE:
            return domain.CATALOGUE[code]
        return custom_definition(await self.custom_doc(code, field))

    async def definitions(self, codes: Sequence[str]) -> dict[str, domain.KpiDefinition]:
        """The KPIs among ``codes`` that exist, by code (at most one command)."""
        found = {c: domain.CATALOGUE[c] for c in codes if c in domain.CATALOGUE}
        custom = sorted({c for c in codes if c not in domain.CATALOGUE})
        if custom:
            async for doc in self.custom_kpis.find({"_id": {"$in": custom}}):
                found[doc["_id"]] = custom_definition(doc)
        return found

    async def custom_doc(self, code: str, field: str = "kpiCode") -> Document:
        """The custom KPI document with this code, or NOT_FOUND naming ``field``."""
        doc = await self.custom_kpis.find_one({"_id": code})
        if doc is None:
            raise NotFound("KPI", code, field=field)
        return doc

    async def custom_docs(self, codes: Sequence[str]) -> list[Document]:
        """The custom KPI documents among ``codes``, in the order of ``codes`` (one command)."""
        found = {d["_id"]: d async for d in self.custom_kpis.find({"_id": {"$in": list(codes)}})}
        return [found[c] for c in codes if c in found]

    async def create_custom(self, definition: domain.KpiDefinition) -> Document:
        """Store a validated custom KPI; an existing code is a CONFLICT on ``code``."""
        target = definition.default_target
        doc: Document = {
            "_id": definition.code,
            "name": definition.name,
            "level": definition.level.value,
            "unit": definition.unit,
            "direction": definition.direction.value,
            "formula": definition.formula,
            "inputs": {spec.name: spec.kind.value for spec in definition.inputs},
            "default_target": (
                None
                if target is None
                else {"comparator": target.comparator.value, "value": target.value}
            ),
            "parts": [{"part": p.part, "whole": p.whole} for p in definition.parts],
            "created_by": current_actor().document(),
            "created_at": now(),
        }
        location = Location.of(self.custom_kpis, definition.code)
        async with self.feed.recording("kpi", definition.code, ChangeKind.CREATED, location):
            try:
                await self.custom_kpis.insert_one(doc)
            except DuplicateKeyError:
                raise Conflict("code", f"a custom KPI {definition.code!r} exists already") from None
        return doc

    async def list_custom(
        self, level: str | None, limit: int, offset: int
    ) -> tuple[list[Document], int]:
        """A page of custom KPIs by code, and how many match ``level``."""
        query: Document = {} if level is None else {"level": level}
        if limit <= 0:
            return [], await self.custom_kpis.count_documents(query)
        cursor = self.custom_kpis.find(query).sort("_id", ASCENDING).skip(offset).limit(limit)
        return await cursor.to_list(), await self.custom_kpis.count_documents(query)

    async def delete_custom(self, code: str) -> None:
        """Delete a custom KPI that has no measurement, and its targets.

        A built-in KPI, or a custom KPI with measurements, is a CONFLICT on ``code``.
        """
        if code in domain.CATALOGUE:
            raise Conflict("code", f"{code} is a built-in catalogue KPI and cannot be deleted")
        if await self.measurements.count_documents({"kpi_code": code}, limit=1):
            raise Conflict(
                "code", f"KPI {code} has measurements; a KPI with data cannot be deleted"
            )
        location = Location.of(self.custom_kpis, code, gone=True)
        async with self.feed.recording("kpi", code, ChangeKind.DELETED, location):
            result = await self.custom_kpis.delete_one({"_id": code})
            if result.deleted_count == 0:
                raise NotFound("KPI", code, field="code")
        await self.targets.delete_many({"kpi_code": code})


def custom_definition(doc: Mapping[str, Any]) -> domain.KpiDefinition:
    """Rebuild a stored custom KPI through the domain's validation."""
    target = doc.get("default_target")
    return define_custom_kpi(
        code=doc["_id"],
        name=doc["name"],
        level=domain.KpiLevel(doc["level"]),
        unit=doc["unit"],
        direction=domain.Direction(doc["direction"]),
        formula=doc["formula"],
        input_kinds={name: domain.InputKind(kind) for name, kind in doc["inputs"].items()},
        default_target=(
            None
            if target is None
            else domain.Target(domain.Comparator(target["comparator"]), target["value"])
        ),
        parts=[(p["part"], p["whole"]) for p in doc.get("parts", [])],
    )
