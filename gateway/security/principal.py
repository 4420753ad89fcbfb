"""The caller of the request being served, available to every resolver and extension.

The security gate authenticates a request before GraphQL sees it and sets the caller (and the
API key store, for the key management fields) for the duration of the request: a context
variable, so concurrent requests never mix and the per-request GraphQL context stays as is.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING

from services.runtime.auth import Principal
from services.runtime.errors import ErrorCode, IntegraError

if TYPE_CHECKING:
    from services.runtime.api_keys import ApiKeyStore


@dataclass(frozen=True)
class RequestSecurity:
    """Who calls, and the key store the key management fields use (``None``: no database)."""

    principal: Principal
    keys: ApiKeyStore | None


_CURRENT: ContextVar[RequestSecurity | None] = ContextVar("integra_security", default=None)


@contextmanager
def serving(security: RequestSecurity) -> Iterator[None]:
    """Serve the enclosed request with ``security``."""
    token = _CURRENT.set(security)
    try:
        yield
    finally:
        _CURRENT.reset(token)


def set_serving(security: RequestSecurity) -> None:
    """Serve the rest of the current task (a subscription connection and the operations it
    starts) with ``security``; the task's end ends it."""
    _CURRENT.set(security)


def current_caller() -> Principal | None:
    """The caller of the current request (``None`` outside an authenticated request)."""
    security = _CURRENT.get()
    return None if security is None else security.principal


def current_key_store() -> ApiKeyStore:
    """The API key store of the current request; SERVICE_UNAVAILABLE without a database."""
    security = _CURRENT.get()
    if security is None or security.keys is None:
        raise IntegraError(
            ErrorCode.SERVICE_UNAVAILABLE,
            "API keys need the gateway's database (set MONGODB_URI)",
        )
    return security.keys
