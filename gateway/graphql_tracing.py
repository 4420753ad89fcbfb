"""A span per GraphQL operation (:mod:`services.runtime.tracing`), named as OpenTelemetry's
GraphQL conventions name it (``query Dashboard``), around parsing, validation and execution:
the service calls and batched loads the operation makes are its children. No span per
field: a list of 50 shops resolves hundreds, and the calls are what a slow answer is made of.
"""

from __future__ import annotations

from collections.abc import Iterator

from opentelemetry.trace import SpanKind
from strawberry.extensions import SchemaExtension

from services.runtime.tracing import traced


class GraphQLTracing(SchemaExtension):
    """The operation's span; its name and type are known once the document is parsed."""

    def on_operation(self) -> Iterator[None]:
        """Open the span for the whole operation and name it when it ends."""
        with traced("graphql", {}, SpanKind.INTERNAL) as span:
            yield
            if span is None:
                return
            context = self.execution_context
            try:
                kind = context.operation_type
            except RuntimeError:  # the document did not parse: no operation
                kind = None
            name = context.operation_name
            type_name = str(getattr(kind, "value", "operation"))  # Strawberry's OperationType
            span.update_name(f"{type_name} {name}" if name else type_name)
            span.set_attribute("graphql.operation.type", type_name)
            if name:
                span.set_attribute("graphql.operation.name", name)
            if context.result is not None and context.result.errors:
                span.set_attribute("graphql.errors", len(context.result.errors))
