"""What text a request may carry: no control characters, and only valid Unicode.

Names, titles, codes and other one-line values refuse every control character (C0, DEL and
C1, NUL included); long texts (descriptions, notes, reasons, formulas) allow tab and newline
and refuse the rest. The rules are regular expressions of the field types, so the OpenAPI
documents publish exactly what the services enforce. A lone surrogate (``"\\ud800"``: legal
JSON, not encodable as UTF-8) is never text; :func:`lone_surrogate_path` finds one in decoded
JSON so that the error names its field.

This module is pure.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Final

from pydantic import StringConstraints

SINGLE_LINE: Final = r"^[^\x00-\x1f\x7f-\x9f]*$"
"""No control character at all (one-line values: names, titles, codes, ids)."""
MULTI_LINE: Final = r"^[^\x00-\x08\x0b-\x1f\x7f-\x9f]*$"
"""No control character but tab and newline (long texts)."""
TEXT_RULES: Final = {
    SINGLE_LINE: "must not contain control characters (NUL, tab, newline and the like)",
    MULTI_LINE: "must not contain control characters other than tab and newline",
}
"""The rule each text pattern stands for, as an error message says it."""
SURROGATE_RULE: Final = (
    "must be valid Unicode text: a lone surrogate (such as \\ud800) cannot be encoded as UTF-8"
)


def line(
    *, min_length: int | None = None, max_length: int | None = None, strip: bool = False
) -> StringConstraints:
    """The constraints of a one-line value (no control characters)."""
    return StringConstraints(
        strip_whitespace=strip or None,
        min_length=min_length,
        max_length=max_length,
        pattern=SINGLE_LINE,
    )


def multi_line(
    *, min_length: int | None = None, max_length: int | None = None, strip: bool = False
) -> StringConstraints:
    """The constraints of a long text (tab and newline allowed)."""
    return StringConstraints(
        strip_whitespace=strip or None,
        min_length=min_length,
        max_length=max_length,
        pattern=MULTI_LINE,
    )


def has_lone_surrogate(value: str) -> bool:
    """Whether ``value`` holds a surrogate code point (which no valid UTF-8 text does)."""
    return any("\ud800" <= char <= "\udfff" for char in value)


def _strings(value: object, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], str]]:
    """Every string of decoded JSON with its path (a key is reported at its object's path, so
    a path never holds a bad key); iterative, so a deep document cannot exhaust the stack."""
    stack: list[tuple[object, tuple[str, ...]]] = [(value, path)]
    while stack:
        item, at = stack.pop()
        if isinstance(item, str):
            yield at, item
        elif isinstance(item, dict):
            for key, child in reversed(list(item.items())):
                yield at, str(key)
                stack.append((child, (*at, str(key))))
        elif isinstance(item, list):
            stack.extend((child, (*at, str(i))) for i, child in reversed(list(enumerate(item))))


def lone_surrogate_path(value: object, root: tuple[str, ...] = ()) -> str | None:
    """The dotted path of the first string of ``value`` with a lone surrogate, else ``None``
    (``"body"`` when ``value`` itself is such a string)."""
    for path, text in _strings(value, root):
        if has_lone_surrogate(text):
            return ".".join(path) or "body"
    return None
