"""The authenticated caller of the request a service is serving, and the actor it records.

The service's authentication middleware sets the caller for the request's duration (a context
variable); routes check roles against it and stores record it as the ``actor`` of every
history entry and created record. The actor is always taken from the credential, never from
the request body: free-text names travel as ``onBehalfOf`` beside it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Annotated, Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field

from services.runtime.auth import Principal, Role
from services.runtime.errors import ErrorCode, IntegraError
from services.runtime.text import line

OnBehalfOf = Annotated[
    Annotated[str, line(strip=True, min_length=1, max_length=200)] | None,
    Field(
        # The free-text names of before (changedBy, assessor) are accepted as this field.
        validation_alias=AliasChoices("onBehalfOf", "on_behalf_of", "changedBy", "assessor"),
        description="A person the authenticated caller acts for (free text, optional); who "
        "acted is always the caller the credential names (`actor`).",
    ),
]
"""The optional free-text name of a write; never the only record of who wrote."""

_CURRENT: ContextVar[Principal | None] = ContextVar("integra_caller", default=None)


class Actor(BaseModel):
    """Who did something, as the credential named them; ``unknown`` for older records."""

    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="forbid")

    client_id: str = Field(alias="clientId")
    name: str
    role: Role | None
    kind: str

    @classmethod
    def of(cls, principal: Principal) -> Actor:
        """The actor of ``principal``."""
        return cls(client_id=principal.client_id, name=principal.name, role=principal.role,
                   kind=principal.kind)  # fmt: skip

    @classmethod
    def from_document(cls, doc: object) -> Actor:
        """The actor stored in ``doc`` (``{clientId, name, role, kind}``), else :data:`UNKNOWN`."""
        if not isinstance(doc, dict):
            return UNKNOWN_ACTOR
        try:
            return cls.model_validate(doc)
        except ValueError:
            return UNKNOWN_ACTOR

    def document(self) -> dict[str, Any]:
        """The stored form: ``{clientId, name, role, kind}``."""
        return self.model_dump(by_alias=True, mode="json")


UNKNOWN_ACTOR = Actor(client_id="unknown", name="unknown", role=None, kind="unknown")
"""The actor of records written before actors were recorded: nothing is rewritten."""

BUILT_IN_ACTOR = Actor(client_id="service:integra", name="built-in", role=None, kind="service")
"""The creator of the built-in records a service seeds itself (profiles, rules)."""


def creator_of(doc: Mapping[str, Any]) -> Actor:
    """Who created the record ``doc`` (its ``created_by``): the built-in actor for seeded
    records, :data:`UNKNOWN_ACTOR` for records older than actors."""
    if "created_by" not in doc and doc.get("built_in"):
        return BUILT_IN_ACTOR
    return Actor.from_document(doc.get("created_by"))


@contextmanager
def calling_as(principal: Principal) -> Iterator[None]:
    """Serve the enclosed work as ``principal``."""
    token = _CURRENT.set(principal)
    try:
        yield
    finally:
        _CURRENT.reset(token)


def current_principal() -> Principal:
    """The authenticated caller; UNAUTHENTICATED outside an authenticated request."""
    principal = _CURRENT.get()
    if principal is None:
        raise IntegraError(ErrorCode.UNAUTHENTICATED, "a credential is required")
    return principal


def current_actor() -> Actor:
    """The actor to record for the current request."""
    return Actor.of(current_principal())


def actor_or(background: Actor) -> Actor:
    """The actor of the current request; ``background`` for work a service does on its own
    (a dispatcher, a recorder), which serves no request."""
    principal = _CURRENT.get()
    return background if principal is None else Actor.of(principal)


def require_role(role: Role) -> Principal:
    """The caller, if their role includes ``role``; FORBIDDEN naming the role otherwise."""
    principal = current_principal()
    if not principal.role.includes(role):
        raise IntegraError(
            ErrorCode.FORBIDDEN, f"this operation needs the {role.value} role", "role"
        )
    return principal
