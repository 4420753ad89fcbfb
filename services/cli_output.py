"""What the one-shot ``integra`` commands show a person: plain lines, and one line per
expected failure.

The servers (``integra up``, ``integra serve``) log JSON lines for log shippers
(``services.runtime.json_logging``). A command a person runs once at a terminal (``seed``,
``create-api-key``, ``export-schema``) logs plain lines instead, and an expected failure
(an unreachable endpoint, a refused key, a non-200 answer, an invalid setting, an
unreachable MongoDB, a file that cannot be written) ends it with one line on stderr and exit
code 1, without a traceback; Ctrl-C ends it with ``interrupted`` and exit code 130.
Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import ast
import json
import logging
from typing import Final, TextIO, TypeVar

import httpx
from pydantic import ValidationError
from pydantic_settings import BaseSettings
from pymongo.errors import ConnectionFailure, InvalidURI, OperationFailure

from services.runtime.json_logging import send_logs_to

#: Exit code of a command that failed in an expected way (argparse's usage errors exit 2).
FAILED: Final = 1
#: Exit code after Ctrl-C, as a shell reports a process ended by SIGINT (128 + 2).
INTERRUPTED: Final = 130
#: MongoDB's error code for refused credentials.
_AUTHENTICATION_FAILED: Final = 18
#: services/seed.py raises RuntimeError(f"GraphQL errors: {errors!r}") for an answer with errors.
_GRAPHQL_ERRORS: Final = "GraphQL errors: "

Settings = TypeVar("Settings", bound=BaseSettings)


class CommandFailed(Exception):
    """An expected failure of a command, already worded for the person who ran it."""


class _PlainFormatter(logging.Formatter):
    """The message alone; a warning or an error says which it is."""

    def format(self, record: logging.LogRecord) -> str:
        """``message``, or ``warning: message`` from WARNING up."""
        text = record.getMessage()
        if record.levelno >= logging.WARNING:
            text = f"{record.levelname.lower()}: {text}"
        return text


def configure_plain_output(level: str, stream: TextIO | None = None) -> None:
    """Send every logger's records as plain lines to ``stream`` (stderr), so that stdout
    holds only a command's result (the key of ``create-api-key``, for a script)."""
    send_logs_to(_PlainFormatter(), level, stream)


def settings_or_fail(settings_class: type[Settings]) -> Settings:
    """The settings from the environment; an invalid variable is a ``CommandFailed`` naming
    the variable (pydantic's error names the field and spans several lines)."""
    try:
        return settings_class()
    except ValidationError as exc:
        prefix = str(settings_class.model_config.get("env_prefix", ""))
        problems = [
            f"{prefix}{'.'.join(map(str, error['loc']))}".upper() + f": {error['msg']}"
            for error in exc.errors()
        ]
        raise CommandFailed(f"invalid setting {'; '.join(problems)}") from exc


def seed_failure(url: str, exc: Exception) -> CommandFailed | None:
    """The one line for an expected failure of ``integra seed`` against ``url``; None when
    ``exc`` is not one (a bug)."""
    if isinstance(exc, httpx.TimeoutException):
        return CommandFailed(f"cannot reach {url} (timed out)")
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL):
        return CommandFailed(f"invalid URL {url!r} ({exc})")
    if isinstance(exc, httpx.TransportError):
        return CommandFailed(f"cannot reach {url} ({_os_reason(exc)})")
    if isinstance(exc, httpx.HTTPStatusError):
        return CommandFailed(_refusal(url, exc.response))
    if isinstance(exc, json.JSONDecodeError):
        return CommandFailed(f"{url} did not answer JSON: is it Integra's /graphql endpoint?")
    if isinstance(exc, RuntimeError) and str(exc).startswith(_GRAPHQL_ERRORS):
        return CommandFailed(f"{url} answered {_graphql_errors(str(exc))}")
    return None


def mongo_failure(exc: Exception, timeout_ms: int) -> CommandFailed | None:
    """The one line for a MongoDB that cannot be reached or refuses the credentials, or a
    ``MONGODB_URI`` that is no MongoDB URI (the URI is never repeated: it may hold a
    password); None for anything else."""
    if isinstance(exc, InvalidURI):
        return CommandFailed(f"MONGODB_URI is not a MongoDB URI ({exc})")
    if isinstance(exc, OperationFailure) and exc.code == _AUTHENTICATION_FAILED:
        return CommandFailed("MongoDB refused the credentials of MONGODB_URI")
    if isinstance(exc, ConnectionFailure):
        return CommandFailed(
            f"cannot reach the MongoDB of MONGODB_URI within {timeout_ms} ms "
            f"(INTEGRA_MONGO_TIMEOUT_MS): {type(exc).__name__}"
        )
    return None


def _os_reason(exc: BaseException) -> str:
    """``connection refused``, ``name or service not known``: the operating system's words
    from the exception chain, else the exception's own text."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, OSError) and seen.strerror:
            return seen.strerror.lower()
        seen = seen.__cause__ or seen.__context__
    text = str(exc)
    if "Connect call failed" in text or "Connection refused" in text:
        return "connection refused"
    return text or type(exc).__name__


def _refusal(url: str, response: httpx.Response) -> str:
    """A non-2xx answer: its status, the GraphQL error's code and message when it has one,
    and what to do about a refused key."""
    detail = f"HTTP {response.status_code} {response.reason_phrase}".rstrip()
    try:
        first = response.json()["errors"][0]
        detail += f", {first['extensions']['code']}: {first['message']}"
    except (ValueError, KeyError, IndexError, TypeError):
        pass  # not the gateway's refusal shape: the status alone says it
    hint = ""
    if response.status_code == 401:
        hint = "; pass a valid key with --api-key (default: INTEGRA_DATA_DIR/admin-api-key)"
    return f"{url} refused the request ({detail}){hint}"


def _graphql_errors(text: str) -> str:
    """``GraphQL errors: [{'message': ..., 'extensions': {'code': ...}}]`` (seed's text) as
    ``FORBIDDEN: message; ...``."""
    try:
        errors = ast.literal_eval(text.removeprefix(_GRAPHQL_ERRORS))
        described = [f"{e['extensions']['code']}: {e['message']}" for e in errors]
    except (ValueError, SyntaxError, KeyError, TypeError):
        return text
    return "GraphQL errors: " + "; ".join(described)
