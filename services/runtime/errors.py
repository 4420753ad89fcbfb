"""The error model shared by every service and the gateway.

Every failure a client can cause is an :class:`IntegraError` with a stable ``code``, the
``field`` it concerns (a dotted path in the request, when there is one) and a message that
names the rule that was broken. Services answer them as JSON
``{"error": {"code", "message", "field"}}`` with the HTTP status of the code; the gateway turns
them back into GraphQL errors carrying the same code and field in ``extensions``.

This module is pure: domain code raises these errors without importing any I/O.
"""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    """Stable error codes; part of the public API."""

    VALIDATION_ERROR = "VALIDATION_ERROR"
    INVALID_ID = "INVALID_ID"
    NOT_FOUND = "NOT_FOUND"
    METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED"
    CONFLICT = "CONFLICT"
    INVALID_TRANSITION = "INVALID_TRANSITION"
    PAYLOAD_TOO_LARGE = "PAYLOAD_TOO_LARGE"
    UNAUTHENTICATED = "UNAUTHENTICATED"
    FORBIDDEN = "FORBIDDEN"
    RATE_LIMITED = "RATE_LIMITED"
    CURSOR_EXPIRED = "CURSOR_EXPIRED"
    SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"
    DATABASE_UNAVAILABLE = "DATABASE_UNAVAILABLE"
    INTERNAL_ERROR = "INTERNAL_ERROR"


HTTP_STATUS: dict[ErrorCode, int] = {
    ErrorCode.VALIDATION_ERROR: 422,
    ErrorCode.INVALID_ID: 422,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.METHOD_NOT_ALLOWED: 405,
    ErrorCode.CONFLICT: 409,
    ErrorCode.INVALID_TRANSITION: 409,
    ErrorCode.PAYLOAD_TOO_LARGE: 413,
    ErrorCode.UNAUTHENTICATED: 401,
    ErrorCode.FORBIDDEN: 403,
    ErrorCode.RATE_LIMITED: 429,
    ErrorCode.CURSOR_EXPIRED: 410,
    ErrorCode.SERVICE_UNAVAILABLE: 503,
    ErrorCode.DATABASE_UNAVAILABLE: 503,
    ErrorCode.INTERNAL_ERROR: 500,
}


class IntegraError(Exception):
    """A failure with a stable code, the field it concerns and a human-readable message."""

    def __init__(self, code: ErrorCode, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field

    @property
    def status(self) -> int:
        """The HTTP status a service answers this error with."""
        return HTTP_STATUS[self.code]

    def to_dict(self) -> dict[str, str | None]:
        """The wire form: ``{"code", "message", "field"}``."""
        return {"code": self.code.value, "message": self.message, "field": self.field}

    def __repr__(self) -> str:
        return f"IntegraError({self.code.value}, {self.message!r}, field={self.field!r})"


class ValidationFailed(IntegraError):
    """Input broke a rule of the domain; ``field`` names where, the message names the rule."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(ErrorCode.VALIDATION_ERROR, message, field)


class NotFound(IntegraError):
    """The record a request names does not exist."""

    def __init__(self, what: str, ident: str, field: str = "id") -> None:
        super().__init__(ErrorCode.NOT_FOUND, f"{what} {ident!r} does not exist", field)


class Conflict(IntegraError):
    """The request contradicts what is stored (a duplicate name, a stale version)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(ErrorCode.CONFLICT, message, field)


class InvalidTransition(IntegraError):
    """A lifecycle change that the rules do not allow."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(ErrorCode.INVALID_TRANSITION, message, field)
