"""The KPI reads a page of shops' selection asks for, started once for the whole page.

Batched by the loader either way (one kpi call per distinct ``codes``); read before the items
resolve, each shop's ``kpis`` answers at once instead of awaiting a loader future, which in a
list of 50 costs more than the read itself. A failed read is kept by the loader and raised by
each shop's ``kpis`` (null with an error), as when it is read per shop.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence

from strawberry.types.nodes import SelectedField, Selection

from gateway.context import Info
from gateway.types.kpi import kpi_codes
from services.runtime.errors import IntegraError


def kpi_code_sets(selections: Sequence[Selection]) -> Iterator[tuple[str, ...] | None]:
    """The ``codes`` of each ``kpis`` field of the shops under ``items`` of a page's selection
    (fragments included;
    ``None``: every KPI). A field under a directive (``@include``/``@skip``) is left to
    resolve itself."""
    for selection in selections:
        if not isinstance(selection, SelectedField):
            yield from kpi_code_sets(selection.selections)
        elif selection.name == "items":
            yield from _kpis_of(selection.selections)


def _kpis_of(selections: Sequence[Selection]) -> Iterator[tuple[str, ...] | None]:
    for selection in selections:
        if not isinstance(selection, SelectedField):
            if not selection.directives:
                yield from _kpis_of(selection.selections)
        elif selection.name == "kpis" and not selection.directives:
            codes = selection.arguments.get("codes")
            if codes is None:
                yield None
            elif isinstance(codes, list) and all(isinstance(c, str) for c in codes):
                yield tuple(codes)  # kpi_codes drops the repeats, as for the field


async def prefetch_kpis(info: Info, shop_ids: Sequence[str]) -> None:
    """Read the latest KPIs the selection of a page of shops asks for, one batch per distinct
    ``codes`` (a selection the resolver would reject is left to it)."""
    wanted: set[tuple[str, ...] | None] = set()
    for codes in (c for page in info.selected_fields for c in kpi_code_sets(page.selections)):
        with contextlib.suppress(IntegraError):
            checked = kpi_codes(codes)
            if checked != []:
                wanted.add(None if checked is None else tuple(checked))
    loader = info.context.kpi.latest
    for codes in wanted:
        # The loader keeps a failure for each shop's field to raise: it is not this field's.
        with contextlib.suppress(Exception):
            await loader.load_many([(shop_id, codes) for shop_id in shop_ids])
