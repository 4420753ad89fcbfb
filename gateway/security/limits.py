"""Limits on one GraphQL document: depth, tokens, aliases; introspection by setting.

Strawberry's limiters do the counting; their errors get stable codes here
(``QUERY_TOO_DEEP``, ``QUERY_TOO_MANY_TOKENS``, ``QUERY_TOO_MANY_ALIASES``), so clients and
dashboards never parse messages. List page sizes are limited by the schema's arguments (at
most 100) and the request body by the error boundary (413).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import suppress
from functools import lru_cache
from typing import Any

from graphql import ASTValidationRule, FieldNode, GraphQLError, ValidationRule, parse
from strawberry.extensions import (
    AddValidationRules,
    MaxTokensLimiter,
    SchemaExtension,
    ValidationCache,
    max_aliases,
    query_depth_limiter,
)

from gateway.security.input_checks import FiniteFloatLiterals, VariablesAreText
from services.runtime.settings import IntegraSettings

INTROSPECTION_DISABLED = "INTROSPECTION_DISABLED"

_LIMIT_CODES = (
    (re.compile(r"exceeds maximum operation depth of \d+"), "QUERY_TOO_DEEP"),
    (re.compile(r"Document contains more than \d+ tokens"), "QUERY_TOO_MANY_TOKENS"),
    (re.compile(r"^\d+ aliases found\. Allowed: \d+"), "QUERY_TOO_MANY_ALIASES"),
)
_SUGGESTION = re.compile(r"\s*Did you mean .*$", re.DOTALL)


def limit_code(message: str) -> str | None:
    """The code of a limiter's error message (``None`` for any other message)."""
    for pattern, code in _LIMIT_CODES:
        if pattern.search(message):
            return code
    return None


def without_suggestions(message: str) -> str:
    """A validation message without graphql-core's "Did you mean ...?" hints, which would
    reveal field and type names when introspection is off."""
    return _SUGGESTION.sub("", message)


class NoIntrospection(ValidationRule):
    """Refuses ``__schema``, ``__type`` and federation's ``_service { sdl }``."""

    def enter_field(self, node: FieldNode, *_args: Any) -> None:
        """Report an introspection field (``__typename`` stays allowed)."""
        name = node.name.value
        if name in ("__schema", "__type", "_service"):
            self.report_error(
                GraphQLError(
                    f"introspection is disabled on this server ({name})",
                    node,
                    extensions={"code": INTROSPECTION_DISABLED},
                )
            )


DOCUMENT_CACHE_SIZE = 256
"""Parsed and validated documents kept per process (LRU, so unique texts cannot grow memory)."""
MAX_CACHED_QUERY_CHARS = 16_384
"""Longer texts (comments and string literals are not tokens) are parsed and validated anew
each time, and never persisted by APQ: the caches hold at most 256 × 16 KiB of text."""


def limit_rules(settings: IntegraSettings) -> tuple[type[ASTValidationRule], ...]:
    """The validation rules of ``settings``' depth, alias and introspection limits, and the
    finiteness of Float literals.

    Built once per schema: Strawberry's limiter extensions create a new rule class on every
    request, which would make every request's validation-cache key new.
    """
    rules: list[type[ASTValidationRule]] = [
        query_depth_limiter.create_validator(settings.max_query_depth, None),
        max_aliases.create_validator(settings.max_aliases),
        FiniteFloatLiterals,
    ]
    if not settings.introspection_enabled:
        rules.append(NoIntrospection)
    return tuple(rules)


def limit_extensions(settings: IntegraSettings) -> list[type[SchemaExtension]]:
    """The document limits (and the introspection switch) of ``settings`` as extensions, with
    per-process caches of parsed and validated documents, and the check of the variables'
    text (:mod:`gateway.security.input_checks`).

    The validation cache is keyed by (schema, document, rules); the rules are the same objects
    for every request of a schema and the role check runs at execution, per caller, so a
    cached validation can neither skip a limit nor stand in for a role check.
    """
    rules = list(limit_rules(settings))

    class TokenLimit(MaxTokensLimiter):
        def __init__(self) -> None:
            super().__init__(max_token_count=settings.max_query_tokens)

    class DocumentLimits(AddValidationRules):
        def __init__(self) -> None:
            super().__init__(rules)

    class CachedValidation(ValidationCache):
        def __init__(self) -> None:
            super().__init__(maxsize=DOCUMENT_CACHE_SIZE)

        def on_validate(self) -> Iterator[None]:
            """Cached validation of small texts; Strawberry validates the others itself."""
            if cacheable(self.execution_context.query):
                yield from super().on_validate()
            else:
                yield

    return [TokenLimit, DocumentLimits, CachedParse, CachedValidation, VariablesAreText]


_cached_parse = lru_cache(maxsize=DOCUMENT_CACHE_SIZE)(parse)


def cacheable(query: str | None) -> bool:
    """Whether a query text is small enough to be kept by the per-process caches."""
    return query is not None and len(query) <= MAX_CACHED_QUERY_CHARS


class CachedParse(SchemaExtension):
    """Parses a query text once per process (keyed by the text and the parser's options, so
    the token limit still applies). A text that does not parse is left to Strawberry's own
    parse, which reports the error as usual."""

    def on_parse(self) -> Iterator[None]:
        """Use the cached document of this text, if it parses."""
        context = self.execution_context
        if context.graphql_document is None and context.query and cacheable(context.query):
            # A text that fails is parsed again, uncached, by Strawberry: its error is the answer.
            with suppress(GraphQLError):
                context.graphql_document = _cached_parse(context.query, **context.parse_options)
        yield
