"""The shared field types and text rules every service's models are built from."""

from __future__ import annotations

import math
from typing import Annotated

import pytest
from pydantic import BaseModel, Field, ValidationError

from services.runtime.comparator import Comparator, within_fraction
from services.runtime.json_types import INTEGRAL, NOT_NULL, NULL_AS_EMPTY, Real, Whole
from services.runtime.text import has_lone_surrogate, line, lone_surrogate_path, multi_line


class Sample(BaseModel):
    name: Annotated[str, line(min_length=1, max_length=10, strip=True)] = "x"
    note: Annotated[str, multi_line(max_length=50), NULL_AS_EMPTY] = ""
    value: Real = 0.0
    count: Annotated[int, Field(ge=0), INTEGRAL] = 0
    size: Whole = 0
    label: Annotated[str | None, NOT_NULL] = None


def refusal(**fields: object) -> tuple[str, str]:
    with pytest.raises(ValidationError) as caught:
        Sample.model_validate(fields)
    error = caught.value.errors()[0]
    return ".".join(map(str, error["loc"])), error["type"]


@pytest.mark.parametrize("name", ["a\x00b", "tab\there", "new\nline", "del\x7f", "c1\x85x"])
def test_a_one_line_value_refuses_every_control_character(name: str) -> None:
    assert refusal(name=name) == ("name", "string_pattern_mismatch")


def test_a_one_line_value_is_stripped_before_its_length_is_checked() -> None:
    assert Sample(name="  shop  ").name == "shop"
    assert refusal(name="   ")[0] == "name"


def test_a_long_text_keeps_tab_and_newline_and_refuses_the_other_controls() -> None:
    assert Sample(note="one\ttwo\nthree").note == "one\ttwo\nthree"
    assert refusal(note="bell\x07") == ("note", "string_pattern_mismatch")
    assert refusal(note="return\r") == ("note", "string_pattern_mismatch")


def test_null_means_the_empty_text_where_declared() -> None:
    assert Sample.model_validate({"note": None}).note == ""
    assert Sample.model_json_schema()["properties"]["note"]["anyOf"][1] == {"type": "null"}


@pytest.mark.parametrize("value", [True, False, "1.5", "2"])
def test_a_real_is_a_json_number_never_a_boolean_or_text(value: object) -> None:
    assert refusal(value=value)[0] == "value"


def test_a_real_accepts_integers_and_fractions() -> None:
    assert Sample.model_validate({"value": 2}).value == 2.0
    assert Sample.model_validate({"value": 2.5}).value == 2.5


@pytest.mark.parametrize("field", ["count", "size"])
@pytest.mark.parametrize("value", [True, "2", 2.5])
def test_a_whole_number_refuses_booleans_text_and_fractions(field: str, value: object) -> None:
    assert refusal(**{field: value})[0] == field


def test_a_whole_number_accepts_an_integral_float_and_keeps_its_bounds() -> None:
    assert Sample.model_validate({"count": 2.0, "size": 3}).count == 2
    assert refusal(count=-1) == ("count", "greater_than_equal")
    assert Sample.model_json_schema()["properties"]["count"]["minimum"] == 0


def test_a_not_null_field_may_be_left_out_but_not_cleared() -> None:
    assert Sample().label is None
    assert refusal(label=None) == ("label", "not_null")
    label = Sample.model_json_schema()["properties"]["label"]
    assert label.get("type") == "string"
    assert "anyOf" not in label


def test_a_lone_surrogate_is_found_with_its_path() -> None:
    assert has_lone_surrogate("a\ud800b")
    assert not has_lone_surrogate("emoji 😀")
    document = {"name": "ok", "items": [{"note": "fine"}, {"note": "bad\udfff"}]}
    assert lone_surrogate_path(document) == "items.1.note"
    assert lone_surrogate_path("\ud800") == "body"
    assert lone_surrogate_path({"k\ud800": 1}, ("body",)) == "body"
    assert lone_surrogate_path({"deep": [[["fine"]]]}) is None


def test_a_very_deep_document_is_walked_without_recursion() -> None:
    document: object = "bad\ud800"
    for _ in range(5000):
        document = [document]
    assert lone_surrogate_path(document) == ".".join(["0"] * 5000)


@pytest.mark.parametrize(
    ("comparator", "below", "equal", "above", "symbol"),
    [
        (Comparator.LT, True, False, False, "<"),
        (Comparator.LTE, True, True, False, "<="),
        (Comparator.GT, False, False, True, ">"),
        (Comparator.GTE, False, True, True, ">="),
    ],
)
def test_each_comparator_holds_as_its_symbol_says(
    comparator: Comparator, below: bool, equal: bool, above: bool, symbol: str
) -> None:
    assert (comparator.holds(1, 2), comparator.holds(2, 2), comparator.holds(3, 2)) == (
        below,
        equal,
        above,
    )
    assert comparator.symbol == symbol
    assert not comparator.holds(math.nan, 2)


def test_a_band_edge_written_exactly_is_inside_the_band() -> None:
    assert within_fraction(0.525, 0.5, 0.05)  # 0.525 is not exact in binary
    assert within_fraction(0.95, 1.0, 0.05)
    assert not within_fraction(0.5251, 0.5, 0.05)
    assert within_fraction(0.0, 0.0, 0.05)
    assert not within_fraction(1e-12, 0.0, 0.05)
