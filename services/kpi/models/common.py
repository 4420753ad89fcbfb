"""Pieces the kpi wire contracts share: request-text types, batch limits, a delete's outcome."""

from __future__ import annotations

from typing import Annotated

from services.runtime.text import line, multi_line
from services.runtime.wire import WireModel

KpiCode = Annotated[str, line(min_length=1, max_length=64)]
"""A KPI code as a request names it (checked against the catalogue by the service)."""
Reason = Annotated[str, multi_line(strip=True, min_length=1, max_length=1000)]
InputName = Annotated[str, line(max_length=64)]
"""The name of a measurement's or a custom KPI's input."""

MAX_INPUTS = 50
"""The most inputs a measurement or a custom KPI may carry."""
MAX_BATCH = 100
"""The most ids, codes or shops one batch request may name."""


class Deleted(WireModel):
    """Outcome of a delete."""

    id: str
    deleted: bool
