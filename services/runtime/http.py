"""HTTP edges shared by every app: JSON responses, the error boundary, the body limit."""

from __future__ import annotations

import json
import logging
from types import UnionType
from typing import Union, get_args, get_origin

from pydantic import BaseModel
from pymongo.errors import AutoReconnect, ConnectionFailure, ServerSelectionTimeoutError
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.runtime.errors import ErrorCode, IntegraError
from services.runtime.wire import Model, check_id, check_scope, parse

log = logging.getLogger("integra.http")

JSON = "application/json"
_DATABASE_DOWN = (ServerSelectionTimeoutError, ConnectionFailure, AutoReconnect)


def json_response(
    body: BaseModel | list[BaseModel] | dict[str, object], status: int = 200
) -> Response:
    """A JSON response; pydantic bodies are serialised by alias (camelCase)."""
    if isinstance(body, BaseModel):
        content = body.model_dump_json(by_alias=True)
    elif isinstance(body, list):
        content = "[" + ",".join(item.model_dump_json(by_alias=True) for item in body) + "]"
    else:
        content = json.dumps(body, separators=(",", ":"))
    return Response(content, status_code=status, media_type=JSON)


def error_response(error: IntegraError) -> Response:
    """The wire form of an error: ``{"error": {"code", "message", "field"}}``."""
    return Response(
        json.dumps({"error": error.to_dict()}), status_code=error.status, media_type=JSON
    )


async def read_model(request: Request, model: type[Model]) -> Model:
    """Parse the request body into ``model`` (malformed JSON and rule breaks are 422)."""
    return parse(model, await request.body())


def _is_list(annotation: object) -> bool:
    if get_origin(annotation) is list:
        return True
    return get_origin(annotation) in (Union, UnionType) and any(
        _is_list(arg) for arg in get_args(annotation)
    )


def query_model(request: Request, model: type[Model]) -> Model:
    """Parse the query string into ``model``; list fields take every value of their key."""
    list_keys = {
        info.alias or name for name, info in model.model_fields.items() if _is_list(info.annotation)
    }
    data: dict[str, object] = {}
    for key in request.query_params:
        values = request.query_params.getlist(key)
        data[key] = values if key in list_keys else values[-1]
    return parse(model, data)


def path_id(request: Request, name: str) -> str:
    """A record id from the path; a malformed one is INVALID_ID naming the parameter."""
    return check_id(str(request.path_params[name]), name)


def path_scope(request: Request, name: str, field: str | None = None) -> str:
    """A shop id or ``platform`` from the path; anything else is INVALID_ID naming ``field``
    (default: the parameter)."""
    return check_scope(str(request.path_params[name]), field or name)


def as_integra_error(exc: Exception, where: str) -> IntegraError:
    """The error a caller of a service sees for ``exc``, whichever adapter it came through:
    an :class:`IntegraError` as it is; a database that cannot be reached DATABASE_UNAVAILABLE;
    anything else logged (``where`` names the operation) and INTERNAL_ERROR, never its text."""
    if isinstance(exc, IntegraError):
        return exc
    if isinstance(exc, _DATABASE_DOWN):
        log.warning("database unavailable on %s: %s", where, exc)
        return IntegraError(
            ErrorCode.DATABASE_UNAVAILABLE, "the database is unavailable; retry later"
        )
    log.exception("unhandled error on %s", where)
    return IntegraError(ErrorCode.INTERNAL_ERROR, "internal error")


class ErrorBoundary:
    """Turns every exception into a JSON error with a stable code; never a stack trace.

    :class:`IntegraError` keeps its code and status; a database that cannot be reached is
    503 ``DATABASE_UNAVAILABLE``; anything else is logged and answered 500 ``INTERNAL_ERROR``.
    """

    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            self._check_declared_length(scope)
            await self.app(scope, self._limited(receive), tracking_send)
        except Exception as exc:
            if started:
                raise
            where = f"{scope['method']} {scope['path']}"
            response = error_response(as_integra_error(exc, where))
            await response(scope, receive, send)

    def _check_declared_length(self, scope: Scope) -> None:
        for name, value in scope["headers"]:
            if name == b"content-length" and value.isdigit() and int(value) > self.max_body_bytes:
                raise self._too_large()

    def _limited(self, receive: Receive) -> Receive:
        seen = 0

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_body_bytes:
                    raise self._too_large()
            return message

        return limited_receive

    def _too_large(self) -> IntegraError:
        return IntegraError(
            ErrorCode.PAYLOAD_TOO_LARGE,
            f"request body exceeds the limit of {self.max_body_bytes} bytes",
            "body",
        )
