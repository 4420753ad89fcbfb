"""Base of every JSON wire contract: camelCase on the wire, unknown fields rejected."""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from typing import Annotated, Generic, TypeVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
)
from pydantic.alias_generators import to_camel

from services.runtime.errors import ErrorCode, IntegraError, ValidationFailed
from services.runtime.text import SURROGATE_RULE, TEXT_RULES, line, lone_surrogate_path, multi_line

Model = TypeVar("Model", bound=BaseModel)
Item = TypeVar("Item")

# Ids are 24 lowercase hex digits (an ObjectId's string form), so a malformed id is rejected
# before it reaches a query and a MongoDB operator can never pass for one.
ID_PATTERN = r"^[0-9a-f]{24}$"
RecordId = Annotated[str, StringConstraints(pattern=ID_PATTERN)]
# Free text fields: bounded so that oversized input is rejected with a clear error; no control
# characters (services.runtime.text), but tab and newline in long texts.
ShortText = Annotated[str, line(strip=True, min_length=1, max_length=200)]
LongText = Annotated[str, multi_line(max_length=5000)]


def wire_alias(name: str) -> str:
    """The JSON name of a field: camelCase, but criterion codes such as ``U`` stay as they are."""
    return name if name.isupper() else to_camel(name)


class WireModel(BaseModel):
    """A request or response body of a service API."""

    model_config = ConfigDict(
        alias_generator=wire_alias,
        populate_by_name=True,
        extra="forbid",
        frozen=True,
        allow_inf_nan=False,
    )


class Page(WireModel, Generic[Item]):
    """One page of a list, with the total number of matching records (limit/offset)."""

    items: list[Item]
    total_count: int
    limit: int
    offset: int


class PageQuery(WireModel):
    """Limit/offset parameters shared by every list endpoint."""

    limit: int = Field(default=20, ge=1, le=100)
    offset: int = Field(default=0, ge=0, le=1_000_000)


def field_path(location: tuple[int | str, ...]) -> str:
    """A pydantic error location as a dotted field path (``criteria.U``, ``p.3``)."""
    return ".".join(str(part) for part in location) or "body"


def validation_error(error: ValidationError) -> IntegraError:
    """The first problem of a pydantic error as an :class:`IntegraError` naming the field."""
    first = error.errors(include_url=False)[0]
    if first["type"] == "json_invalid":
        return IntegraError(ErrorCode.VALIDATION_ERROR, "request body is not valid JSON", "body")
    location = tuple(part for part in first["loc"] if part != "body")
    path = field_path(location)
    rule: str | None = None
    if first["type"] == "string_pattern_mismatch":
        rule = TEXT_RULES.get((first.get("ctx") or {}).get("pattern", ""))
    elif first["type"] == "string_unicode":
        rule = SURROGATE_RULE
    return ValidationFailed(path, f"{path}: {rule or first['msg']}")


def _surrogate_error(data: bytes | str) -> IntegraError | None:
    """The error naming the field of a lone surrogate in a JSON body pydantic refused as
    invalid JSON (Python's decoder reads it, so the path can be found)."""
    try:
        path = lone_surrogate_path(json.loads(data))
    except (ValueError, RecursionError):
        return None
    return None if path is None else ValidationFailed(path, f"{path}: {SURROGATE_RULE}")


def parse(model: type[Model], data: object) -> Model:
    """Validate ``data`` into ``model``; a failure is a VALIDATION_ERROR naming the field."""
    try:
        if isinstance(data, bytes | str):
            return model.model_validate_json(data)
        return model.model_validate(data)
    except ValidationError as error:
        invalid_json = error.errors(include_url=False)[0]["type"] == "json_invalid"
        surrogate = (
            _surrogate_error(data) if invalid_json and isinstance(data, bytes | str) else None
        )
        raise (surrogate or validation_error(error)) from None


_ID_RE = re.compile(ID_PATTERN)


_NUMBER = re.compile(r"^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$")


def _not_a_number(value: object) -> object:
    """Refuse numbers (and numeric text) where a date is meant: pydantic would read them as
    Unix times, so ``{"plannedEnd": 0}`` would silently mean 1 January 1970."""
    numeric_text = isinstance(value, str) and _NUMBER.match(value) is not None
    if (isinstance(value, int | float) and not isinstance(value, bool)) or numeric_text:
        raise ValueError("must be an ISO 8601 date or date-time, not a number")
    return value


WireDate = Annotated[date, BeforeValidator(_not_a_number)]
"""A date a request sends: ISO 8601 text (``2026-06-01``), never a number."""
WireDateTime = Annotated[datetime, BeforeValidator(_not_a_number)]
"""A date-time a request sends: ISO 8601 text, never a number."""


PLATFORM_SCOPE = "platform"
"""The scope of the platform's own KPIs and risks (§4.6), accepted wherever a shop id is."""
SCOPE_PATTERN = rf"^(?:{ID_PATTERN[1:-1]}|{PLATFORM_SCOPE})$"
ScopeId = Annotated[str, StringConstraints(pattern=SCOPE_PATTERN)]
"""A shop id or ``platform``."""


def check_scope(value: str, field: str = "shopId") -> str:
    """``value`` if it is a shop id or ``platform``, else INVALID_ID naming ``field``."""
    if value != PLATFORM_SCOPE and not _ID_RE.match(value):
        raise IntegraError(
            ErrorCode.INVALID_ID,
            f"{field} must be 24 lowercase hexadecimal digits or {PLATFORM_SCOPE!r}",
            field,
        )
    return value


def check_id(value: str, field: str = "id") -> str:
    """``value`` if it is a well-formed record id, else INVALID_ID naming ``field``."""
    if not _ID_RE.match(value):
        raise IntegraError(
            ErrorCode.INVALID_ID, f"{field} must be 24 lowercase hexadecimal digits", field
        )
    return value
