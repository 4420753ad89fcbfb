"""Every constraint an OpenAPI document publishes for a request body is the one its field
validates (issue 14, item 20): a value at a documented bound is accepted, one beyond it is
refused, ``null`` is refused unless documented, numbers are never booleans, integers may be
written ``2.0``, and a pattern refuses what it does not match. A keyword JSON Schema does not
know (pydantic's ``ge`` leaking into a document) fails, as does an undocumented property."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Annotated, Any, get_args

import pytest
from pydantic import BaseModel, TypeAdapter, ValidationError

from services.kpi.routes import kpi_routes
from services.risk.routes import risk_routes
from services.runtime.openapi import ApiRoute, openapi_document
from services.scoring.routes import scoring_routes

pytestmark = pytest.mark.filterwarnings(
    "ignore::pydantic.warnings.UnsupportedFieldAttributeWarning"
)

ROUTES = {
    "scoring": scoring_routes(lambda: None),  # type: ignore[arg-type, return-value]
    "risk": risk_routes(lambda: None),  # type: ignore[arg-type, return-value]
    "kpi": kpi_routes(lambda: None),  # type: ignore[arg-type, return-value]
}
KNOWN_KEYWORDS = {
    "type", "title", "description", "default", "minimum", "maximum", "exclusiveMinimum",
    "exclusiveMaximum", "minLength", "maxLength", "pattern", "enum", "format", "anyOf", "$ref",
    "items", "minItems", "maxItems", "additionalProperties", "propertyNames", "maxProperties",
    "const", "examples", "patternProperties",
}  # fmt: skip
NOT_MATCHING = ("\x00", "a\x00b", "\x7f")
"""Texts tried against each documented pattern: those it does not match must be refused."""


def _models(annotation: object) -> Iterator[type[BaseModel]]:
    """The pydantic models in ``annotation`` (through unions, lists, dicts, Annotated)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
        for info in annotation.model_fields.values():
            yield from _models(info.annotation)
    for arg in get_args(annotation):
        yield from _models(arg)


def _body_fields() -> Iterator[tuple[str, type[BaseModel], str, dict[str, Any]]]:
    """(label, model, property, its documented schema) for every request body property."""
    for service, routes in ROUTES.items():
        document = openapi_document(service, routes)
        components = document["components"]["schemas"]
        bodies = [r.contract.body for r in routes if isinstance(r, ApiRoute) and r.contract.body]
        for model in {m for body in bodies for m in _models(body)}:
            schema = components.get(model.__name__) or components.get(f"{model.__name__}-Input")
            assert schema is not None, f"{service}: {model.__name__} is not documented"
            for name, prop in schema.get("properties", {}).items():
                yield f"{service}:{model.__name__}.{name}", model, name, prop


FIELDS = list(_body_fields())


def _adapter(model: type[BaseModel], name: str) -> TypeAdapter[Any]:
    fields = {info.alias or key: info for key, info in model.model_fields.items()}
    assert name in fields, f"{model.__name__} documents {name!r}, which it does not have"
    info = fields[name]
    field_type: Any = Annotated[info.annotation, info]  # the field's type with its constraints
    return TypeAdapter(field_type)


def _accepts(adapter: TypeAdapter[Any], value: object) -> bool:
    try:
        adapter.validate_json(json.dumps(value))
    except ValidationError:
        return False
    return True


def _options(prop: dict[str, Any]) -> list[dict[str, Any]]:
    options = prop.get("anyOf", [prop])
    return [o for o in options if o.get("type") != "null"]


def _check_number(adapter: TypeAdapter[Any], option: dict[str, Any]) -> list[str]:
    wrong = []
    if _accepts(adapter, True):
        wrong.append("accepts true")
    low, high = option.get("minimum"), option.get("maximum")
    if low is not None and (_accepts(adapter, low - 1) or not _accepts(adapter, low)):
        wrong.append(f"does not enforce exactly minimum {low}")
    if high is not None and (_accepts(adapter, high + 1) or not _accepts(adapter, high)):
        wrong.append(f"does not enforce exactly maximum {high}")
    if option["type"] == "integer":
        whole = low if low is not None else (high if high is not None else 0)
        if not _accepts(adapter, float(whole)):
            wrong.append(f"refuses {float(whole)}, an integer in JSON Schema")
        if _accepts(adapter, whole + 0.5) and high is None:
            wrong.append("accepts a fraction")
    return wrong


def _check_string(adapter: TypeAdapter[Any], option: dict[str, Any]) -> list[str]:
    wrong = []
    pattern = option.get("pattern")
    for text in NOT_MATCHING:
        if pattern is not None and re.search(pattern, text) is None and _accepts(adapter, text):
            wrong.append(f"accepts {text!r}, which the pattern refuses")
    longest = option.get("maxLength")
    if longest is not None and _accepts(adapter, "a" * (longest + 1)):
        wrong.append(f"accepts more than maxLength {longest}")
    if option.get("minLength", 0) >= 1 and _accepts(adapter, ""):
        wrong.append("accepts the empty text below minLength")
    if "enum" in option and _accepts(adapter, "NOT_A_MEMBER"):
        wrong.append("accepts a value outside its enum")
    return wrong


@pytest.mark.parametrize(("label", "model", "name", "prop"), FIELDS, ids=[f[0] for f in FIELDS])
def test_each_documented_constraint_is_the_validated_one(
    label: str, model: type[BaseModel], name: str, prop: dict[str, Any]
) -> None:
    adapter = _adapter(model, name)
    unknown = {k for o in [prop, *prop.get("anyOf", [])] for k in o} - KNOWN_KEYWORDS
    assert not unknown, f"{label}: keywords JSON Schema does not know: {unknown}"
    nullable = len(_options(prop)) < len(prop.get("anyOf", [prop]))
    wrong = []
    if _accepts(adapter, None) != nullable:
        wrong.append("null is " + ("refused though documented" if nullable else "accepted"))
    for option in _options(prop):
        if option.get("type") in ("integer", "number"):
            wrong += _check_number(adapter, option)
        elif option.get("type") == "string" and "format" not in option:
            wrong += _check_string(adapter, option)
    assert not wrong, f"{label} ({prop}): {'; '.join(wrong)}"


def test_the_walk_reaches_the_constrained_fields() -> None:
    labels = {label for label, *_ in FIELDS}
    assert {
        "scoring:Weights.U",
        "risk:AssessmentIn.likelihood",
        "risk:RiskUpdate.expectedVersion",
        "kpi:TargetPut.value",
    } <= labels
