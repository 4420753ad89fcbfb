"""Domain errors under the request's field names: the one place errors are renamed.

The domain names its fields in its own terms: snake_case paths (``actual_start``,
``likelihood_step``) or paths of its values (``period.start``, ``target.value``); requests
name them in camelCase or by their own structure (``actualStart``, ``periodStart``,
``defaultTarget.value``), and errors are reported under the request's names.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping

from services.runtime.errors import IntegraError
from services.runtime.wire import wire_alias


def wire_field(path: str) -> str:
    """A domain field path under its wire name (``actual_start`` → ``actualStart``)."""
    return ".".join(wire_alias(part) for part in path.split("."))


@contextlib.contextmanager
def wire_fields(names: Mapping[str, str] | None = None) -> Iterator[None]:
    """Report the domain errors raised in the block under the request's field names.

    Without ``names`` each part of the path is camelCased, in the field and where the message
    quotes it. With ``names`` the fields it maps are renamed (``period.start`` →
    ``periodStart``) and the others kept; the messages, which speak of the request's fields in
    words, stay as they are.
    """
    try:
        yield
    except IntegraError as error:
        if not error.field:
            raise
        if names is None:
            name = wire_field(error.field)
            error.message = error.message.replace(error.field, name)
            error.field = name
        else:
            error.field = names.get(error.field, error.field)
        raise
