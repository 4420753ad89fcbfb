"""Whether a selection of a shop's score needs the full assessment or its summary answers it.

A shop carries a summary of its current score (SH, band, criteria); a selection asking only
for what the summary holds needs no read of the assessment. What the summary holds is told by
the types themselves: the fields of ``Assessment`` and ``CriterionScore`` that are plain
values (the others resolve from the full assessment).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

from strawberry.types.base import StrawberryObjectDefinition
from strawberry.types.nodes import SelectedField, Selection
from strawberry.utils.str_converters import to_camel_case

#: Fields of a shop whose selection decides whether its full current assessment is needed.
_SHOP_PATH = frozenset({"shop", "shops", "items"})


@cache
def plain_fields(definition: StrawberryObjectDefinition) -> frozenset[str]:
    """The GraphQL names of a type's fields that are values, not resolvers (and
    ``__typename``)."""
    names = {to_camel_case(f.python_name) for f in definition.fields if f.base_resolver is None}
    return frozenset({"__typename", *names})


def summary_answers(
    selections: Sequence[Selection], summary: frozenset[str], criterion: frozenset[str]
) -> bool:
    """Whether a selection of an assessment (fragments included) asks only for the fields in
    ``summary`` and, within its ``criteria``, in ``criterion``."""
    for selection in selections:
        if isinstance(selection, SelectedField):
            if selection.name == "criteria":
                if not _only(selection.selections, criterion):
                    return False
            elif selection.name not in summary:
                return False
        elif not summary_answers(selection.selections, summary, criterion):
            return False
    return True


def _only(selections: Sequence[Selection], allowed: frozenset[str]) -> bool:
    return all(
        selection.name in allowed
        if isinstance(selection, SelectedField)
        else _only(selection.selections, allowed)
        for selection in selections
    )


def needs_full_score(
    selections: Sequence[Selection], summary: frozenset[str], criterion: frozenset[str]
) -> bool:
    """Whether a selection of shops (through ``shop``, ``shops``, ``items`` and fragments)
    asks for ``advice`` or for more of ``score`` than the summary holds: then the shops are
    read with their full current assessments, in the same call."""
    for selection in selections:
        if isinstance(selection, SelectedField):
            if selection.name == "advice":
                return True
            if selection.name == "score" and not summary_answers(
                selection.selections, summary, criterion
            ):
                return True
            if selection.name in _SHOP_PATH and needs_full_score(
                selection.selections, summary, criterion
            ):
                return True
        elif needs_full_score(selection.selections, summary, criterion):
            return True
    return False
