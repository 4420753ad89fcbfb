"""Domain errors under the request's field names.

The domain names snake_case fields (``actual_start``, ``likelihood_step``); requests name them
in camelCase (``actualStart``, ``likelihoodStep``), and errors are reported under those names.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from services.runtime.errors import IntegraError
from services.runtime.wire import wire_alias


def wire_field(path: str) -> str:
    """A domain field path under its wire name (``actual_start`` → ``actualStart``)."""
    return ".".join(wire_alias(part) for part in path.split("."))


@contextlib.contextmanager
def wire_fields() -> Iterator[None]:
    """Report the domain errors raised in the block under the wire's field names."""
    try:
        yield
    except IntegraError as error:
        if error.field:
            name = wire_field(error.field)
            error.message = error.message.replace(error.field, name)
            error.field = name
        raise
