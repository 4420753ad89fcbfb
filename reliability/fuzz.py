"""Schemathesis fuzzing of the services' OpenAPI documents and the gateway's GraphQL schema.

Every operation of a schema is fuzzed with positive (schema-valid) and negative
(schema-breaking) examples, a fixed number each with a fixed seed, so a run can be repeated.
An example fails when the answer is a 5xx, does not conform to the published document
(status code, content type, body schema), accepts schema-breaking input, or when the
application logged an ERROR (an unhandled exception) while answering it. Failures are
collected, not raised, so one run reports every failing operation and the number of examples
tried.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import hypothesis
from hypothesis import HealthCheck, Phase
from schemathesis import APIOperation, BaseSchema, Case, CheckContext, GenerationMode, Response
from schemathesis.checks import CheckFunction, not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from services.runtime.errors import ErrorCode

OPENAPI_CHECKS: list[CheckFunction] = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
LENIENCY_CHECKS: list[CheckFunction] = [negative_data_rejection]
"""Counted, not failed: schema-breaking input a service accepts. Pydantic's lax mode takes a
number as a date (a Unix time) and strips whitespace before checking a length, so a few such
inputs are accepted by design; the count is published with the figures."""
AnyOperation = APIOperation[Any, Any, Any, Any]
AnyCase = Case[Any]

UNEXPECTED_CODES = frozenset(
    {
        ErrorCode.INTERNAL_ERROR,
        ErrorCode.SERVICE_UNAVAILABLE,
        ErrorCode.DATABASE_UNAVAILABLE,
        # The fuzzer sends an ADMIN credential: being refused would make the run vacuous.
        ErrorCode.UNAUTHENTICATED,
        ErrorCode.FORBIDDEN,
        ErrorCode.RATE_LIMITED,
    }
)


def graphql_errors_are_client_errors(ctx: CheckContext, response: Response, case: AnyCase) -> None:
    """A GraphQL answer is a JSON object with ``data`` or ``errors``, below 500, and each error
    carries a stable ``extensions.code`` that blames the request (not the server, and not
    the fuzzer's ADMIN credential).

    (Schemathesis' own GraphQL checks count every resolver error as a server error; Integra's
    resolvers reject bad input with coded errors, which are the expected answer.)
    """
    assert response.status_code < 500, f"HTTP {response.status_code}"
    body = response.json()
    assert isinstance(body, dict), "the answer is not a JSON object"
    assert "data" in body or "errors" in body, "the answer has neither data nor errors"
    for error in body.get("errors") or []:
        code = (error.get("extensions") or {}).get("code")
        assert code is not None, f"an error without a code: {error}"
        assert code not in UNEXPECTED_CODES, f"an error the request did not cause: {error}"


GRAPHQL_CHECKS: list[CheckFunction] = [graphql_errors_are_client_errors]
_PATH_PARAMETER = re.compile(r"{(\w+)}")
MAX_REPORTED_FAILURES = 5
"""Failures kept per operation (the count of failing examples is always exact)."""


class ErrorLog(logging.Handler):
    """Collects the ERROR records of the ``integra`` loggers (unhandled exceptions)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        """Keep the record."""
        self.records.append(record)

    @contextmanager
    def attached(self, logger_name: str = "integra") -> Iterator[ErrorLog]:
        """Collect while the block runs."""
        logger = logging.getLogger(logger_name)
        logger.addHandler(self)
        try:
            yield self
        finally:
            logger.removeHandler(self)


@dataclass
class OperationFigures:
    """What fuzzing one operation found."""

    label: str
    examples: int = 0
    failing: int = 0
    lenient: int = 0
    failures: list[str] = field(default_factory=list)
    leniencies: list[str] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)

    def fail(self, message: str) -> None:
        """Count a failing example, keeping the first few messages."""
        self.failing += 1
        if len(self.failures) < MAX_REPORTED_FAILURES:
            self.failures.append(message)


@dataclass
class FuzzFigures:
    """What fuzzing a whole schema found."""

    name: str
    operations: list[OperationFigures]
    leniency_checked: bool = False

    @property
    def examples(self) -> int:
        """Examples tried over every operation."""
        return sum(o.examples for o in self.operations)

    @property
    def failing(self) -> int:
        """Failing examples over every operation."""
        return sum(o.failing for o in self.operations)

    @property
    def lenient(self) -> int:
        """Schema-breaking examples a service accepted (pydantic's lax coercions)."""
        return sum(o.lenient for o in self.operations)

    def report(self) -> str:
        """The failures, one block per failing operation (empty when none failed)."""
        blocks = [
            f"{o.label}: {o.failing} of {o.examples} examples failed\n" + "\n---\n".join(o.failures)
            for o in self.operations
            if o.failing
        ]
        return "\n\n".join(blocks)

    def as_dict(self) -> dict[str, object]:
        """The figures as JSON-ready data."""
        return {
            "name": self.name,
            "operations": len(self.operations),
            "examples": self.examples,
            "failing": self.failing,
            "lenient": self.lenient if self.leniency_checked else None,
            "lenient_samples": [t[:400] for o in self.operations for t in o.leniencies][:5],
        }


LONGEST_POLL_SECONDS = 0.2


def _shorten_long_polls(case: AnyCase) -> None:
    """A long poll's ``wait`` (``GET /changes``, up to 30 s) cut to a fifth of a second: how
    long it waits is what the feed's own tests check; fuzzing checks what it answers."""
    wait = (case.query or {}).get("wait")
    if isinstance(wait, int | float) and not isinstance(wait, bool) and wait > 0:
        case.query["wait"] = min(wait, LONGEST_POLL_SECONDS)


def _run_case(
    case: AnyCase,
    figures: OperationFigures,
    errors: ErrorLog,
    headers: Mapping[str, str],
    checks: list[CheckFunction],
    leniency_checks: list[CheckFunction],
) -> None:
    figures.examples += 1
    seen = len(errors.records)
    _shorten_long_polls(case)
    try:
        response = case.call(headers=dict(headers))
        figures.statuses[response.status_code] = figures.statuses.get(response.status_code, 0) + 1
        case.validate_response(response, checks=checks, headers=dict(headers))
        if leniency_checks:
            try:
                case.validate_response(response, checks=leniency_checks, headers=dict(headers))
            except FailureGroup as group:
                figures.lenient += 1
                if len(figures.leniencies) < MAX_REPORTED_FAILURES:
                    figures.leniencies.append(str(group))
    except FailureGroup as group:
        figures.fail(str(group))
        return
    except Exception as exc:  # a transport error: the app raised instead of answering
        figures.fail(f"{type(exc).__name__}: {exc}\n{case.as_curl_command(dict(headers))}")
        return
    new = errors.records[seen:]
    if new:
        logged = "; ".join(f"{r.name}: {r.getMessage()}" for r in new)
        figures.fail(f"ERROR logged: {logged}\n{case.as_curl_command(dict(headers))}")


def _rounds(operation: AnyOperation, known: Mapping[str, str]) -> list[dict[str, str] | None]:
    """Generated path parameters, and (when every one is known) the known records' ids, so
    the handlers behind a lookup are reached too."""
    names = _PATH_PARAMETER.findall(operation.path)
    if names and all(name in known for name in names):
        return [None, {name: known[name] for name in names}]
    return [None]


def fuzz_operation(
    operation: AnyOperation,
    *,
    examples: int,
    seed: int,
    headers: Mapping[str, str],
    checks: list[CheckFunction],
    errors: ErrorLog,
    modes: Sequence[GenerationMode] = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE),
    known: Mapping[str, str] | None = None,
    leniency_checks: list[CheckFunction] | None = None,
) -> OperationFigures:
    """Fuzz one operation with ``examples`` examples per generation mode (and per round:
    generated path parameters, then those of ``known`` records)."""
    figures = OperationFigures(operation.label)
    rounds = [(mode, path) for path in _rounds(operation, known or {}) for mode in modes]
    for mode, path in rounds:
        strategy = operation.as_strategy(generation_mode=mode, path_parameters=path)

        @hypothesis.seed(seed)
        @hypothesis.settings(
            max_examples=examples,
            deadline=None,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
            print_blob=False,
        )
        @hypothesis.given(strategy)
        def run(case: AnyCase) -> None:
            _run_case(case, figures, errors, headers, checks, leniency_checks or [])

        try:
            run()
        except hypothesis.errors.Unsatisfiable:
            continue  # the mode has no example for this operation (nothing to break)
    return figures


def fuzz_schema(
    name: str,
    schema: BaseSchema,
    *,
    examples: int,
    seed: int,
    headers: Mapping[str, str] | None = None,
    checks: list[CheckFunction] | None = None,
    modes: Sequence[GenerationMode] = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE),
    known: Mapping[str, str] | None = None,
) -> FuzzFigures:
    """Fuzz every operation of ``schema``; an operation the schema cannot describe fails.

    ``known`` maps path parameter names to ids of existing records; deletions run last so
    the other operations still find those records.
    """
    chosen = checks if checks is not None else OPENAPI_CHECKS
    operations: list[OperationFigures] = []
    usable: list[AnyOperation] = []
    for result in schema.get_all_operations():
        if isinstance(result, Ok):
            usable.append(result.ok())
        else:
            broken = OperationFigures(f"{name}: unusable operation")
            broken.fail(str(result.err()))
            operations.append(broken)
    usable.sort(key=lambda o: o.method.upper() == "DELETE")
    with ErrorLog().attached() as errors:
        for operation in usable:
            operations.append(
                fuzz_operation(
                    operation,
                    examples=examples,
                    seed=seed,
                    headers=headers or {},
                    checks=chosen,
                    leniency_checks=LENIENCY_CHECKS if checks is None else [],
                    errors=errors,
                    modes=modes,
                    known=known,
                )
            )
    return FuzzFigures(name, operations, leniency_checked=checks is None)
