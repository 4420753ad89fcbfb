"""GraphQL errors with stable codes, and GraphQL operation metrics.

Every error in a response carries ``extensions.code`` (and ``extensions.field`` where a
field is at fault). Errors the gateway did not anticipate are logged and masked as
``INTERNAL_ERROR``: a client never sees a stack trace or an internal message. Errors raised
with a code of their own (security, limits, persisted queries) keep it; with introspection off,
validation messages lose graphql-core's "Did you mean ...?" hints.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from gateway.security.limits import limit_code, without_suggestions
from services.runtime.errors import ErrorCode, IntegraError
from services.runtime.metrics import GRAPHQL_OPERATION_DURATION, GRAPHQL_OPERATIONS

log = logging.getLogger("integra.gateway")

PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
#: What a request's own fault raises before execution (graphql-core wraps a scalar's
#: ValueError or TypeError for a variable of the wrong type).
REQUEST_ERRORS = (GraphQLError, ValueError, TypeError)


def coded(error: GraphQLError, hide_suggestions: bool = False) -> GraphQLError:
    """``error`` with a stable ``extensions.code``; unexpected failures masked."""
    original = error.original_error
    if isinstance(original, IntegraError):
        extensions: dict[str, object] = {"code": original.code.value}
        if original.field is not None:
            extensions["field"] = original.field
        message = original.message
    elif original is None and error.extensions and "code" in error.extensions:
        extensions = dict(error.extensions)  # raised with a code of its own
        message = error.message
    elif original is None or (not error.path and isinstance(original, REQUEST_ERRORS)):
        # Without a path the error is about the request itself (syntax, validation, a
        # variable of the wrong type: its scalar raised ValueError or TypeError), not a
        # resolver's failure: the client's to fix. Anything else is masked below.
        parse = error.message.startswith("Syntax Error")
        code = limit_code(error.message)
        extensions = {"code": code or (PARSE_FAILED if parse else VALIDATION_FAILED)}
        message = without_suggestions(error.message) if hide_suggestions else error.message
    else:
        log.error("unexpected error in an operation", exc_info=original)
        extensions = {"code": ErrorCode.INTERNAL_ERROR.value}
        message = "internal error"
    return GraphQLError(
        message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=None,
        extensions=extensions,
    )


class ErrorCodesAndMetrics(SchemaExtension):
    """Codes every error and counts every operation by type and outcome."""

    hide_suggestions = False
    """Strip "Did you mean ...?" from validation messages (set when introspection is off)."""

    def on_operation(self) -> Iterator[None]:
        """Time the operation; afterwards code its errors and record the outcome.

        Strawberry hands execution errors over twice (in the result and as the context's
        ``pre_execution_errors``): each error is coded, and an unexpected one logged, once.
        """
        started = time.perf_counter()
        yield
        context = self.execution_context
        result = context.result
        once: dict[int, GraphQLError] = {}

        def code_once(error: GraphQLError) -> GraphQLError:
            if id(error) not in once:
                once[id(error)] = coded(error, self.hide_suggestions)
            return once[id(error)]

        if getattr(result, "errors", None):
            result.errors = [code_once(e) for e in result.errors]  # type: ignore[union-attr]
        if context.pre_execution_errors:
            context.pre_execution_errors = [code_once(e) for e in context.pre_execution_errors]
        errors = list(once.values())
        data = getattr(result, "data", None)
        outcome = "success" if not errors else ("partial" if data else "error")
        try:
            operation = context.operation_type.value
        except (RuntimeError, AttributeError, ValueError):
            operation = "unknown"
        GRAPHQL_OPERATIONS.labels(operation, outcome).inc()
        GRAPHQL_OPERATION_DURATION.labels(operation, outcome).observe(time.perf_counter() - started)


class ErrorCodesAndMetricsWithoutSuggestions(ErrorCodesAndMetrics):
    """:class:`ErrorCodesAndMetrics` for a server whose schema is not public."""

    hide_suggestions = True
