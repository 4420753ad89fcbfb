"""Checks of an operation's input that GraphQL itself does not make.

- A Float literal must be finite: graphql-core reads ``reach: 1e999`` as infinity (a variable
  with that value is refused by the Float scalar, a literal is not), and no service takes it.
- No string of the variables may hold a lone surrogate (``"\\ud800"``: legal JSON, not
  encodable as UTF-8, so no service call could carry it). String literals cannot: the parser
  refuses such an escape. Control characters are the services' rule (names refuse them, long
  texts allow tab and newline), checked where each field's type is known.

Both are refused before anything runs, as ``GRAPHQL_VALIDATION_FAILED`` and
``VALIDATION_ERROR`` (``extensions.field`` naming the variable) respectively.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

from graphql import ExecutionResult, FloatValueNode, GraphQLError, ValidationRule
from strawberry.extensions import SchemaExtension

from services.runtime.errors import ErrorCode
from services.runtime.text import SURROGATE_RULE, lone_surrogate_path


class FiniteFloatLiterals(ValidationRule):
    """Refuses a Float literal beyond the range of a double (it would be infinity)."""

    def enter_float_value(self, node: FloatValueNode, *_args: Any) -> None:
        """Report a literal that reads as infinity."""
        if not math.isfinite(float(node.value)):
            self.report_error(
                GraphQLError(
                    f"Float literal {node.value} is out of range: a Float must be finite",
                    node,
                )
            )


class VariablesAreText(SchemaExtension):
    """Refuses an operation whose variables hold a string that is not valid Unicode."""

    def on_execute(self) -> Iterator[None]:
        """Answer the error instead of executing (``execution_context.result`` set first)."""
        context = self.execution_context
        path = lone_surrogate_path(context.variables or {})
        if path is not None:
            context.result = ExecutionResult(
                data=None,
                errors=[
                    GraphQLError(
                        f"variable {path}: {SURROGATE_RULE}",
                        extensions={"code": ErrorCode.VALIDATION_ERROR.value, "field": path},
                    )
                ],
            )
        yield
