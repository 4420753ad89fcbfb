"""Likelihood and impact as a request sends them: an integer 1–5 or the scale's code.

The domain's 5 × 5 scale (:mod:`services.risk.domain`) is the one source: the check is its
``parse_likelihood``/``parse_impact``, and the JSON Schema the OpenAPI document publishes is
built from its enums, so the document and the validation say the same thing.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import IntEnum
from typing import Annotated

from pydantic import BeforeValidator, StrictInt, StrictStr, WithJsonSchema
from pydantic_core import PydanticCustomError

from services.risk.domain import Impact, Likelihood, parse_impact, parse_likelihood
from services.runtime.errors import ValidationFailed


def _scale_check(parse: Callable[[object], IntEnum]) -> BeforeValidator:
    """The domain's check of a 1–5 value (or its code), as a pydantic error at its field;
    an integral number (``2.0``) counts as the integer."""

    def check(value: object) -> object:
        if isinstance(value, float) and value.is_integer():
            value = int(value)  # 2.0 is the integer JSON Schema says it is
        try:
            parse(value)
        except ValidationFailed as error:
            raise PydanticCustomError("scale", "{rule}", {"rule": error.message}) from None
        return value

    return BeforeValidator(check)


def _scale_schema(scale: type[IntEnum]) -> WithJsonSchema:
    """What the domain accepts for ``scale``, as JSON Schema: an integer 1–5 or a code."""
    values = [member.value for member in scale]
    return WithJsonSchema(
        {
            "anyOf": [
                {"type": "integer", "minimum": min(values), "maximum": max(values)},
                {"type": "string", "enum": list(scale.__members__)},
            ]
        }
    )


LikelihoodValue = Annotated[
    StrictInt | StrictStr, _scale_check(parse_likelihood), _scale_schema(Likelihood)
]
"""A likelihood: 1–5 or ``RARE`` … ``ALMOST_CERTAIN``."""
ImpactValue = Annotated[StrictInt | StrictStr, _scale_check(parse_impact), _scale_schema(Impact)]
"""An impact: 1–5 or ``NEGLIGIBLE`` … ``SEVERE``."""
