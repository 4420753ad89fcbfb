"""Request field types that accept exactly what their JSON Schema type says.

Pydantic's lax mode reads ``true`` as 1 and ``"2"`` as 2, so ``{"value": false}`` would be
stored as a target of 0.0; and a PATCH field declared ``X | None`` is documented as nullable
even where ``null`` is refused. These types close both gaps where the published documents are
generated, so the documents and the validation cannot say different things:

- :data:`Real`: a JSON number (an integer too), never a boolean or numeric text;
- :data:`Whole`: a JSON integer (``2`` or ``2.0``), never a boolean, text or ``2.5``;
- :data:`NOT_NULL`: a field that may be left out but is never ``null`` (documented without
  ``null``; an explicit ``null`` is a VALIDATION_ERROR naming the field).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, GetCoreSchemaHandler, GetJsonSchemaHandler, Strict
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema


def _integral_number(value: object) -> object:
    """Refuse what JSON does not call an integer before pydantic's lax int reads it."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PydanticCustomError("int_type", "Input should be an integer (a JSON number)")
    return value


Real = Annotated[float, Strict()]
"""A JSON number: an integer or a fraction; ``true`` and ``"1.5"`` are refused."""
INTEGRAL = BeforeValidator(_integral_number)
"""Metadata that makes an ``int`` a JSON integer; put it after the bounds, so the document
keeps them: ``Annotated[int, Field(ge=0), INTEGRAL]``."""
Whole = Annotated[int, INTEGRAL]
"""A JSON integer: ``2`` and ``2.0`` are accepted; ``true``, ``"2"`` and ``2.5`` are refused."""


def _refuse_null(value: object) -> object:
    if value is None:
        raise PydanticCustomError(
            "not_null", "Input may be left out but not null: this field cannot be cleared"
        )
    return value


class _NotNull:
    """Annotated metadata of an optional field whose ``None`` only means "not given"."""

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        """The field's own validation, behind a check that refuses ``null``."""
        return core_schema.no_info_before_validator_function(_refuse_null, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        """The field's schema without its ``null`` alternative."""
        json_schema = handler(schema)
        options = json_schema.get("anyOf")
        if isinstance(options, list):
            kept = [option for option in options if option != {"type": "null"}]
            rest = {k: v for k, v in json_schema.items() if k != "anyOf"}
            json_schema = {**rest, **kept[0]} if len(kept) == 1 else {**rest, "anyOf": kept}
        return json_schema


NOT_NULL = _NotNull()
"""Mark an optional field as "may be left out, never null": ``Annotated[X | None, NOT_NULL]``."""


def _null_as_empty(value: object) -> object:
    return "" if value is None else value


class _NullAsEmpty:
    """Annotated metadata of a text field where ``null`` means the empty text."""

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        """The text's own validation, after ``null`` became ``""``."""
        return core_schema.no_info_before_validator_function(_null_as_empty, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        """The text's schema, or ``null``."""
        return {"anyOf": [handler(schema), {"type": "null"}]}


NULL_AS_EMPTY = _NullAsEmpty()
"""Mark a text field as accepting ``null`` for "no text": ``Annotated[LongText, NULL_AS_EMPTY]``
(GraphQL declares such inputs nullable)."""
