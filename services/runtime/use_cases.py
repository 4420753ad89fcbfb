"""A service's use cases as both adapters see them: the role each needs, the routes calling them.

A service's use-case class (``RiskService``, ``ScoringService``) decorates each method with
``requires(role)`` of its own :class:`RoleTable`: the method answers FORBIDDEN unless the
caller of :mod:`services.runtime.caller` has the role (UNAUTHENTICATED without a caller),
whichever adapter calls it. Its HTTP adapter is a flat list of :class:`Operation`: each route
declares the role of the use case it calls (OpenAPI, 403), read from the same table.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from typing import Any, Generic, ParamSpec, TypeVar

from starlette.requests import Request
from starlette.responses import Response

from services.runtime.auth import Role
from services.runtime.caller import require_role
from services.runtime.openapi import ApiRoute

P = ParamSpec("P")
R = TypeVar("R")
S = TypeVar("S")
UseCase = Callable[P, Coroutine[Any, Any, R]]


class RoleTable:
    """The role each use case of one service needs, by method name (filled by
    :meth:`requires`)."""

    def __init__(self) -> None:
        self.roles: dict[str, Role] = {}

    def requires(self, role: Role) -> Callable[[UseCase[P, R]], UseCase[P, R]]:
        """A use case that answers FORBIDDEN unless the caller's role includes ``role``."""

        def decorate(method: UseCase[P, R]) -> UseCase[P, R]:
            self.roles[method.__name__] = role

            @functools.wraps(method)
            async def guarded(*args: P.args, **kwargs: P.kwargs) -> R:
                require_role(role)
                return await method(*args, **kwargs)

            return guarded

        return decorate


class Operation(Generic[S]):
    """One route: path, handler, method, the use case it calls (its role) and its contract.

    The handler is ``async def name(service, request) -> Response``; its name is the route's
    operation id and, unless ``uses`` says otherwise, the name of the use case it calls.
    """

    def __init__(
        self,
        path: str,
        handler: Callable[[S, Request], Awaitable[Response]],
        method: str,
        uses: str | None = None,
        **contract: Any,
    ) -> None:
        self.path, self.handler, self.method = path, handler, method
        self.uses = uses or handler.__name__
        self.contract = contract

    def route(self, service: Callable[[], S], roles: Mapping[str, Role]) -> ApiRoute:
        """The Starlette route of this operation over the service ``service()`` answers."""
        handler = self.handler

        async def endpoint(request: Request) -> Response:
            return await handler(service(), request)

        endpoint.__name__ = handler.__name__
        role = roles[self.uses]
        return ApiRoute(self.path, endpoint, self.method, role=role, **self.contract)
