"""Every GraphQL error gets a stable code; what is not the client's fault is masked."""

from __future__ import annotations

from graphql import GraphQLError

from gateway.errors import coded
from services.runtime.errors import ValidationFailed


def test_a_service_error_keeps_its_code_and_field() -> None:
    error = coded(GraphQLError("x", original_error=ValidationFailed("inputs.total", "bad")))
    assert error.extensions == {"code": "VALIDATION_ERROR", "field": "inputs.total"}


def test_a_variable_of_the_wrong_type_is_the_clients_to_fix() -> None:
    wrapped = GraphQLError("Expected type 'ID'. not an id", original_error=TypeError("not an id"))
    error = coded(wrapped)
    assert error.extensions == {"code": "GRAPHQL_VALIDATION_FAILED"}
    assert "not an id" in error.message


def test_an_unexpected_failure_outside_a_resolver_is_masked() -> None:
    leaked = GraphQLError("secret-token-123", original_error=KeyError("secret-token-123"))
    error = coded(leaked)
    assert error.extensions == {"code": "INTERNAL_ERROR"}
    assert error.message == "internal error"


def test_an_unexpected_failure_in_a_resolver_is_masked() -> None:
    failed = GraphQLError("db password", path=["shop"], original_error=RuntimeError("db password"))
    error = coded(failed)
    assert error.extensions == {"code": "INTERNAL_ERROR"}
    assert "password" not in error.message
