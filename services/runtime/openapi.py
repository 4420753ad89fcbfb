"""OpenAPI 3.1 documents built from the routes' pydantic contracts.

Each service declares its routes as :class:`ApiRoute` entries: the path, the handler, and the
contract of the operation (path parameters, query model, body model, response type, success
and error statuses). The same table builds the Starlette routes and ``/openapi.json``, so the
published document cannot drift from what the handlers parse and answer; schemathesis fuzzes
the services against it (``tests/fuzz``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, StringConstraints, TypeAdapter
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from services.runtime.auth import Role
from services.runtime.caller import require_role
from services.runtime.errors import ErrorCode
from services.runtime.http import json_response

OPENAPI_VERSION = "3.1.0"
REF_TEMPLATE = "#/components/schemas/{model}"

Endpoint = Callable[[Request], Any]
JsonObject = dict[str, Any]

_STATUS_TEXT = {
    200: "OK",
    201: "Created",
    401: "No credential, or an invalid one (UNAUTHENTICATED)",
    403: "The caller's role does not allow the operation (FORBIDDEN)",
    404: "The record named does not exist (NOT_FOUND)",
    409: "The request contradicts what is stored (CONFLICT, INVALID_TRANSITION)",
    410: "The cursor is no longer retained; read the current state again (CURSOR_EXPIRED)",
    413: "The request body exceeds the size limit (PAYLOAD_TOO_LARGE)",
    422: "The request broke a rule; `field` names where (VALIDATION_ERROR, INVALID_ID)",
    500: "An unexpected error (INTERNAL_ERROR); logged, never a stack trace",
    503: "The database is unavailable; retry later (DATABASE_UNAVAILABLE)",
}


IDEMPOTENCY_KEY: dict[str, Any] = {
    "Idempotency-Key": Annotated[
        str,
        StringConstraints(
            min_length=1, max_length=128, pattern=r"^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$"
        ),
    ]
}
"""The optional header of creating operations (``services.runtime.idempotency``): a retry
with the same key answers what the first attempt created."""


class ErrorDetail(BaseModel):
    """The error of a failed request: a stable code, a message, the field it concerns."""

    model_config = ConfigDict(extra="forbid")

    code: ErrorCode
    message: str
    field: str | None


class ErrorBody(BaseModel):
    """The body of every error response: ``{"error": {"code", "message", "field"}}``."""

    model_config = ConfigDict(extra="forbid")

    error: ErrorDetail


class DeletedById(BaseModel):
    """Outcome of a delete of a record named by its id."""

    model_config = ConfigDict(extra="forbid")

    id: str
    deleted: bool


class DeletedByName(BaseModel):
    """Outcome of a delete of a record named by its name."""

    model_config = ConfigDict(extra="forbid")

    name: str
    deleted: bool


SECURITY_SCHEMES: JsonObject = {
    "bearer": {
        "type": "http",
        "scheme": "bearer",
        "description": "An Integra API key (ik_…), a JWT, or a service token one component "
        "signs for another",
    }
}


@dataclass(frozen=True)
class Contract:
    """What one operation accepts and answers, as pydantic types."""

    method: str
    summary: str
    response: Any
    role: Role = Role.VIEWER
    status: int = 200
    other_statuses: tuple[int, ...] = ()
    path: Mapping[str, Any] = field(default_factory=dict)
    headers: Mapping[str, Any] = field(default_factory=dict)
    query: type[BaseModel] | None = None
    body: type[BaseModel] | None = None
    errors: tuple[int, ...] = ()

    def error_statuses(self) -> list[int]:
        """Every error status the operation can answer.

        Any input can be rejected (422), a body can be too large (413), and every operation
        can meet a database that is down (503) or an unexpected error (500).
        """
        statuses = {401, 403, 500, 503, *self.errors}
        if self.path:
            statuses.add(404)  # a path parameter that cannot match (e.g. with a slash)
        if self.path or self.headers or self.query or self.body:
            statuses.add(422)
        if self.body:
            statuses.add(413)
        return sorted(statuses)


class ApiRoute(Route):
    """A Starlette route for one method that carries the contract of its operation."""

    def __init__(
        self,
        path: str,
        endpoint: Endpoint,
        method: str,
        *,
        summary: str,
        response: Any,
        status: int = 200,
        other_statuses: tuple[int, ...] = (),
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, Any] | None = None,
        query: type[BaseModel] | None = None,
        body: type[BaseModel] | None = None,
        errors: tuple[int, ...] = (),
        role: Role | None = None,
    ) -> None:
        required = role or (Role.VIEWER if method == "GET" else Role.ANALYST)
        super().__init__(path, _guarded(endpoint, required), methods=[method])
        self.contract = Contract(
            role=required,
            method=method.lower(),
            summary=summary,
            response=response,
            status=status,
            other_statuses=other_statuses,
            path=dict(params or {}),
            headers=dict(headers or {}),
            query=query,
            body=body,
            errors=errors,
        )
        self.operation_id = getattr(endpoint, "__name__", path)


def _guarded(endpoint: Endpoint, role: Role) -> Endpoint:
    """``endpoint`` answering FORBIDDEN unless the authenticated caller has ``role``: each
    service enforces the role table itself, whatever the gateway checked before."""

    async def guarded(request: Request) -> Any:
        require_role(role)
        return await endpoint(request)

    guarded.__name__ = getattr(endpoint, "__name__", "endpoint")
    guarded.__doc__ = endpoint.__doc__
    return guarded


class _Schemas:
    """Collects the JSON schemas of many types in one pass so shared models are one component."""

    def __init__(self) -> None:
        self._inputs: list[tuple[tuple[str, str], Any, Any]] = []
        self._resolved: dict[tuple[str, str], JsonObject] = {}
        self.components: JsonObject = {}

    def add(self, key: str, mode: str, annotation: Any) -> None:
        """Register ``annotation`` under ``key`` (mode ``validation`` or ``serialization``)."""
        self._inputs.append(((key, mode), mode, TypeAdapter(annotation)))

    def build(self) -> None:
        """Generate every registered schema; shared models land in :attr:`components`."""
        inputs = [(key, mode, adapter) for key, mode, adapter in self._inputs]
        by_key, defs = TypeAdapter.json_schemas(inputs, by_alias=True, ref_template=REF_TEMPLATE)
        self._resolved = {key: schema for (key, _), schema in by_key.items()}
        self.components = dict(defs.get("$defs", {}))
        for component in self.components.values():
            _drop_null_defaults(component)

    def get(self, key: str, mode: str) -> JsonObject:
        """The schema registered under ``key`` and ``mode``."""
        return self._resolved[(key, mode)]

    def deref(self, schema: JsonObject) -> JsonObject:
        """The component a ``$ref`` schema points to (or the schema itself)."""
        ref = schema.get("$ref")
        if isinstance(ref, str):
            return dict(self.components[ref.rsplit("/", 1)[-1]])
        return schema


def _allows_null(schema: JsonObject) -> bool:
    kind = schema.get("type")
    if kind == "null" or (isinstance(kind, list) and "null" in kind):
        return True
    return any(_allows_null(option) for option in schema.get("anyOf", []))


def _drop_null_defaults(schema: JsonObject) -> None:
    """Leave out ``default: null`` of a property that may be omitted but not null (see
    :data:`services.runtime.json_types.NOT_NULL`): the document never shows a refused value."""
    for prop in schema.get("properties", {}).values():
        if "default" in prop and prop["default"] is None and not _allows_null(prop):
            del prop["default"]


def _without_null(schema: JsonObject) -> JsonObject:
    """An optional query parameter's schema: absent means null, so ``null`` is not a value."""
    options = schema.get("anyOf")
    result = {k: v for k, v in schema.items() if k not in ("anyOf", "default")}
    if isinstance(options, list):
        kept = [o for o in options if o != {"type": "null"}]
        if len(kept) == 1:
            result.update(kept[0])
        else:
            result["anyOf"] = kept
    if schema.get("default") is not None:
        result["default"] = schema["default"]
    return result


def _query_parameters(model_schema: JsonObject) -> list[JsonObject]:
    required = set(model_schema.get("required", []))
    parameters = []
    for name, schema in model_schema.get("properties", {}).items():
        clean = _without_null(schema)
        parameter: JsonObject = {
            "name": name,
            "in": "query",
            "required": name in required,
            "schema": clean,
        }
        if clean.get("type") == "array":
            parameter["style"] = "form"
            parameter["explode"] = True
        parameters.append(parameter)
    return parameters


def _error_response(status: int) -> JsonObject:
    return {
        "description": _STATUS_TEXT.get(status, "Error"),
        "content": {
            "application/json": {"schema": {"$ref": REF_TEMPLATE.format(model="ErrorBody")}}
        },
    }


def _operation(route: ApiRoute, schemas: _Schemas) -> JsonObject:
    contract = route.contract
    key = route.operation_id
    parameters: list[JsonObject] = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": schemas.get(f"{key}.{name}", "validation"),
        }
        for name in contract.path
    ]
    parameters += [
        {
            "name": name,
            "in": "header",
            "required": False,
            "schema": schemas.get(f"{key}.header.{name}", "validation"),
        }
        for name in contract.headers
    ]
    if contract.query is not None:
        parameters += _query_parameters(schemas.deref(schemas.get(f"{key}.query", "validation")))
    response_schema = schemas.get(f"{key}.response", "serialization")
    responses: JsonObject = {
        str(status): {
            "description": _STATUS_TEXT.get(status, "OK"),
            "content": {"application/json": {"schema": response_schema}},
        }
        for status in sorted({contract.status, *contract.other_statuses})
    }
    for status in contract.error_statuses():
        responses[str(status)] = _error_response(status)
    operation: JsonObject = {
        "operationId": route.operation_id,
        "summary": f"{contract.summary} (role {contract.role.value})",
        "security": [{"bearer": []}],
        "x-integra-role": contract.role.value,
        "parameters": parameters,
        "responses": responses,
    }
    if contract.body is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": schemas.get(f"{key}.body", "validation")}},
        }
    return operation


def api_routes(routes: Iterable[BaseRoute]) -> list[ApiRoute]:
    """The routes of ``routes`` that carry a contract."""
    return [r for r in routes if isinstance(r, ApiRoute)]


def openapi_document(
    title: str, routes: Sequence[BaseRoute], server_url: str = "/", version: str = "0.1.0"
) -> JsonObject:
    """The OpenAPI 3.1 document of the :class:`ApiRoute` entries of ``routes``."""
    contracts = api_routes(routes)
    schemas = _Schemas()
    schemas.add("ErrorBody", "serialization", ErrorBody)
    for route in contracts:
        contract, key = route.contract, route.operation_id
        for name, annotation in contract.path.items():
            schemas.add(f"{key}.{name}", "validation", annotation)
        for name, annotation in contract.headers.items():
            schemas.add(f"{key}.header.{name}", "validation", annotation)
        if contract.query is not None:
            schemas.add(f"{key}.query", "validation", contract.query)
        if contract.body is not None:
            schemas.add(f"{key}.body", "validation", contract.body)
        schemas.add(f"{key}.response", "serialization", contract.response)
    schemas.build()
    paths: JsonObject = {}
    for route in contracts:
        operation = _operation(route, schemas)
        paths.setdefault(route.path, {})[route.contract.method] = operation
    return {
        "openapi": OPENAPI_VERSION,
        "info": {"title": title, "version": version},
        "servers": [{"url": server_url}],
        "paths": paths,
        "components": {"schemas": schemas.components, "securitySchemes": SECURITY_SCHEMES},
    }


def openapi_route(title: str, routes: Callable[[], Sequence[BaseRoute]]) -> Route:
    """``GET /openapi.json``: the document of ``routes()``, served under the app's mount path."""
    cache: dict[str, JsonObject] = {}

    async def openapi_json(request: Request) -> Response:
        server = str(request.scope.get("root_path") or "") or "/"
        if server not in cache:
            cache[server] = openapi_document(title, routes(), server)
        return json_response(cache[server])

    return Route("/openapi.json", openapi_json, methods=["GET"])
