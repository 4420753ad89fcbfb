"""The request id: one id per incoming request, carried through logs and service calls.

A client may send ``X-Request-ID`` (printable ASCII, at most 128 characters); anything else
is replaced by a generated id. The id is kept in a context variable for the request's
duration, so every log line and every call the gateway makes to a service carries it, and
it is returned in the response's ``X-Request-ID`` header.
"""

from __future__ import annotations

import logging
import time
import uuid
from contextvars import ContextVar
from typing import Final

from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEADER: Final = "X-Request-ID"
MAX_LENGTH: Final = 128
_HEADER_KEY: Final = HEADER.lower().encode("latin-1")

access_log = logging.getLogger("integra.access")

_current: ContextVar[str | None] = ContextVar("integra_request_id", default=None)


def current_request_id() -> str | None:
    """The id of the request being served, or ``None`` outside a request."""
    return _current.get()


def new_request_id() -> str:
    """A fresh, unguessable id (32 hex digits)."""
    return uuid.uuid4().hex


def accepted_request_id(value: str | None) -> str:
    """``value`` if it is a usable request id (1-128 printable ASCII characters, no spaces
    at the ends), else a generated one: a hostile header never reaches logs or services."""
    if (
        value
        and len(value) <= MAX_LENGTH
        and value.isascii()
        and value.isprintable()
        and value == value.strip()
    ):
        return value
    return new_request_id()


class RequestIdMiddleware:
    """ASGI middleware: sets the request id for the request and returns it in a header.

    At log level ``debug`` it also writes one access line per request (method, path,
    status, duration), which shows a gateway request's id arriving at each service.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given: str | None = None
        for name, value in scope["headers"]:
            if name == _HEADER_KEY:
                given = value.decode("latin-1")
                break
        request_id = accepted_request_id(given)
        token = _current.set(request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [(k, v) for k, v in message.get("headers", []) if k != _HEADER_KEY]
                headers.append((_HEADER_KEY, request_id.encode("latin-1")))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            if access_log.isEnabledFor(logging.DEBUG):
                access_log.debug(
                    "%s %s %d",
                    scope["method"],
                    scope["path"],
                    status,
                    extra={"duration_ms": round((time.perf_counter() - started) * 1000, 1)},
                )
            _current.reset(token)
