"""Types shared by every part of the graph."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Collection, Sequence
from datetime import date, datetime
from enum import Enum
from operator import attrgetter
from typing import Generic, Protocol, Self, TypeVar

import strawberry

from services.runtime import caller
from services.runtime.errors import ValidationFailed
from services.runtime.wire import Model, parse, wire_alias

Item = TypeVar("Item")
Source = TypeVar("Source")
Built = TypeVar("Built")
Source_co = TypeVar("Source_co", covariant=True)

MAX_PAGE = 100


@strawberry.enum(description="How a caller proved who they are.")
class CredentialKind(Enum):
    API_KEY = "api-key"
    JWT = "jwt"
    SERVICE = "service"
    ANONYMOUS = "anonymous"
    UNKNOWN = "unknown"


@strawberry.type(
    description="Who did something, as their credential named them (set by the server, never "
    'by the request); records older than actors read clientId "unknown".'
)
class Actor:
    client_id: str = strawberry.field(description='"key:<id>", "jwt:<sub>", "service:<name>".')
    name: str
    role: str | None = strawberry.field(description="VIEWER, ANALYST or ADMIN at the time.")
    kind: CredentialKind

    @classmethod
    def from_model(cls, actor: caller.Actor) -> Actor:
        """The GraphQL form of a service's actor."""
        return cls(
            client_id=actor.client_id,
            name=actor.name,
            role=None if actor.role is None else actor.role.value,
            kind=CredentialKind(actor.kind),
        )


ON_BEHALF_OF = (
    "A person the caller acts for (free text, optional); who acted is always the "
    "authenticated caller (actor)."
)
CHANGED_BY_DEPRECATION = "Use onBehalfOf: who acted is taken from the credential (actor)."


@strawberry.type(description="Outcome of a delete.")
class DeletePayload:
    id: strawberry.ID
    deleted: bool


class WirePage(Protocol[Source_co]):
    """A service's page of records (``Page[...]`` or a batch's page of one shop)."""

    @property
    def items(self) -> Sequence[Source_co]:
        """The page's records."""
        ...

    @property
    def total_count(self) -> int:
        """How many records match."""
        ...

    @property
    def limit(self) -> int:
        """The page's size."""
        ...

    @property
    def offset(self) -> int:
        """Records skipped before the page."""
        ...


@strawberry.type
class ItemPage(Generic[Item]):
    """One page of a list; each list's page type is a described subclass (``ShopPage``)."""

    items: list[Item]
    total_count: int
    limit: int
    offset: int

    @classmethod
    def of(cls, page: WirePage[Source], convert: Callable[[Source], Item]) -> Self:
        """The GraphQL form of a service's page, each item converted by ``convert``."""
        return cls(
            items=[convert(item) for item in page.items],
            total_count=page.total_count,
            limit=page.limit,
            offset=page.offset,
        )


Getter = Callable[[object], tuple[object, ...]]
_COPIES: dict[tuple[type, tuple[str, ...]], tuple[tuple[str, ...], Getter]] = {}


def _copy_plan(cls: type, given: tuple[str, ...]) -> tuple[tuple[str, ...], Getter]:
    """The data fields of ``cls`` (not its resolvers) that are not ``given``, and a getter of
    the same-named attributes as one tuple; made once per type and set of given fields."""
    plan = _COPIES.get((cls, given))
    if plan is None:
        names = tuple(f.name for f in dataclasses.fields(cls) if f.init and f.name not in given)
        getter: Getter = attrgetter(*names) if len(names) > 1 else _one_by_one(names)
        plan = _COPIES[(cls, given)] = (names, getter)
    return plan


def _one_by_one(names: tuple[str, ...]) -> Getter:
    """A getter of ``names`` as a tuple (``attrgetter`` answers one name without one)."""
    return lambda source: tuple(getattr(source, name) for name in names)


def copied(cls: type[Built], source: object, **fields: object) -> Built:
    """An instance of the GraphQL type ``cls`` whose fields are the same-named attributes of
    a service's model ``source``, except the ``fields`` given (nested types, conversions)."""
    names, getter = _copy_plan(cls, tuple(fields))
    fields.update(zip(names, getter(source), strict=True))
    return cls(**fields)


def request_model(
    model: type[Model], value: object, *, without: Collection[str] = (), **fields: object
) -> Model:
    """A Strawberry input as the request model a service takes, validated as the service
    validates the JSON the gateway would send it (the same VALIDATION_ERROR, naming the same
    field); unset fields stay unset. ``without`` leaves fields of the input out, ``fields``
    sets fields (both by their Python names)."""
    wire = to_wire(value)
    if not isinstance(wire, dict):
        raise TypeError(f"{type(value).__name__} is not an input object")
    for name in without:
        wire.pop(wire_alias(name), None)
    wire.update({wire_alias(name): to_wire(field) for name, field in fields.items()})
    return parse(model, json.dumps(wire))


def page_args(limit: int, offset: int) -> dict[str, int]:
    """Validated limit/offset query parameters (limit 1–100, offset ≥ 0)."""
    if not 1 <= limit <= MAX_PAGE:
        raise ValidationFailed("limit", f"limit must be between 1 and {MAX_PAGE}")
    if offset < 0:
        raise ValidationFailed("offset", "offset must be ≥ 0")
    return {"limit": limit, "offset": offset}


def to_wire(value: object) -> object:
    """A Strawberry input as the services' JSON: camelCase keys, unset fields left out,
    dates as ISO text, enums by value."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            wire_alias(f.name): to_wire(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if getattr(value, f.name) is not strawberry.UNSET
        }
    if isinstance(value, list):
        return [to_wire(item) for item in value]
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    return value
