"""services/cli_output.py: the plain lines and one-line failures of the one-shot commands."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest
from pymongo.errors import InvalidURI, OperationFailure

from services.cli import build_parser
from services.cli_output import configure_plain_output, mongo_failure, seed_failure

URL = "http://127.0.0.1:8000/graphql"


@pytest.fixture
def restored_logging() -> Iterator[None]:
    """The root logger's handlers and level as they were (pytest's capture relies on them)."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.mark.usefixtures("restored_logging")
def test_plain_output_is_the_message_and_names_warnings() -> None:
    stream = io.StringIO()
    configure_plain_output("info", stream)
    logging.getLogger("integra.seed").info("created shop %s", "Bluebell Books")
    logging.getLogger("integra").warning("authentication is off")
    logging.getLogger("httpx").info("HTTP Request: POST ...")  # kept quiet
    assert stream.getvalue() == "created shop Bluebell Books\nwarning: authentication is off\n"


def test_graphql_errors_of_seed_read_as_code_and_message() -> None:
    errors = [{"message": "needs ANALYST", "extensions": {"code": "FORBIDDEN"}, "path": ["x"]}]
    failure = seed_failure(URL, RuntimeError(f"GraphQL errors: {errors}"))
    assert str(failure) == f"{URL} answered GraphQL errors: FORBIDDEN: needs ANALYST"


def test_an_unexpected_exception_is_not_worded_away() -> None:
    assert seed_failure(URL, KeyError("data")) is None
    assert seed_failure(URL, RuntimeError("something else")) is None


def test_host_and_port_are_parsed_for_the_servers_only() -> None:
    parser = build_parser()
    served = parser.parse_args(["serve", "gateway", "--host", "::1", "--port", "65535"])
    assert (served.host, served.port) == ("::1", 65535)
    assert parser.parse_args(["up"]).port is None  # unset: INTEGRA_PORT decides
    with pytest.raises(SystemExit):
        parser.parse_args(["seed", "--port", "8000"])


def test_mongodb_failures_never_repeat_the_uri() -> None:
    refused = mongo_failure(OperationFailure("Authentication failed.", code=18), 3000)
    assert str(refused) == "MongoDB refused the credentials of MONGODB_URI"
    malformed = mongo_failure(InvalidURI("Invalid URI scheme: URI must begin with 'mongodb://'"), 1)
    assert str(malformed).startswith("MONGODB_URI is not a MongoDB URI (Invalid URI scheme")
    assert mongo_failure(OperationFailure("not allowed", code=13), 3000) is None
