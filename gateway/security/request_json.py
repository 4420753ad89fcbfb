"""The JSON of a GraphQL request (body, or the ``variables``/``extensions`` parameters of a GET).

Python's decoder recurses once per level and fails with ``RecursionError`` at about 1 000: a
body of ``[[[[…]]]]`` answered HTTP 500. No operation needs its JSON nested deeper than
:data:`MAX_DEPTH` levels (GraphQL's own depth limit is far lower), so deeper JSON is refused
as a ``VALIDATION_ERROR`` on ``body``, an HTTP 400 in the GraphQL shape like every request the
gateway refuses before running it.
"""

from __future__ import annotations

import json
from typing import Final

from services.runtime.errors import ValidationFailed

MAX_DEPTH: Final = 64
"""The deepest nesting of arrays and objects a request's JSON may have."""
TOO_DEEP: Final = f"the request's JSON nests arrays and objects deeper than {MAX_DEPTH} levels"


def depth(value: object) -> int:
    """How deeply arrays and objects nest in decoded JSON (a scalar: 0); iterative."""
    deepest = 0
    stack: list[tuple[object, int]] = [(value, 0)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            item = list(item.values())
        if isinstance(item, list):
            deepest = max(deepest, level + 1)
            if level + 1 <= MAX_DEPTH:  # deeper is refused anyway: stop counting there
                stack.extend((child, level + 1) for child in item)
    return deepest


def decode(data: str | bytes) -> object:
    """Decoded JSON; malformed JSON raises ``ValueError``, too deep a nesting
    :class:`ValidationFailed` on ``body``."""
    try:
        value = json.loads(data)
    except RecursionError:
        raise ValidationFailed("body", TOO_DEEP) from None
    if depth(value) > MAX_DEPTH:
        raise ValidationFailed("body", TOO_DEEP)
    return value
