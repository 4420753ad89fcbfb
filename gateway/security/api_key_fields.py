"""GraphQL fields to manage API keys (ADMIN only, see :mod:`gateway.security.roles`)."""

from __future__ import annotations

from datetime import datetime

import strawberry

from gateway.context import Info
from gateway.security.principal import current_key_store
from services.runtime.api_keys import ApiKeyRecord
from services.runtime.auth import Role as AuthRole
from services.runtime.errors import ValidationFailed

Role = strawberry.enum(AuthRole, name="Role", description="What a caller may do.")


@strawberry.type(description="An API key (its secret is shown only when it is created).")
class ApiKey:
    id: strawberry.ID
    name: str
    role: Role  # type: ignore[valid-type]
    created_at: datetime
    last_used_at: datetime | None = strawberry.field(
        description="Last use, updated at most once a minute."
    )
    revoked: bool

    @classmethod
    def of(cls, record: ApiKeyRecord) -> ApiKey:
        """The GraphQL view of a stored key."""
        return cls(
            id=strawberry.ID(record.id),
            name=record.name,
            role=record.role,
            created_at=record.created_at,
            last_used_at=record.last_used_at,
            revoked=record.revoked,
        )


@strawberry.type(description="A new API key and its secret, which is never shown again.")
class CreatedApiKey:
    key: ApiKey
    secret: str = strawberry.field(
        description="Send it as 'Authorization: Bearer <secret>'; store it now, it is not kept."
    )


@strawberry.type
class ApiKeyQuery:
    @strawberry.field(description="Every API key, oldest first (ADMIN).")
    async def api_keys(self, info: Info) -> list[ApiKey]:
        return [ApiKey.of(record) for record in await current_key_store().all()]


@strawberry.type
class ApiKeyMutation:
    @strawberry.mutation(description="Create an API key with a role (ADMIN).")
    async def create_api_key(
        self,
        info: Info,
        name: str,
        role: Role,  # type: ignore[valid-type]
    ) -> CreatedApiKey:
        record, secret = await current_key_store().create(name, AuthRole(role))
        return CreatedApiKey(key=ApiKey.of(record), secret=secret)

    @strawberry.mutation(description="Revoke an API key at once (ADMIN).")
    async def revoke_api_key(self, info: Info, id: strawberry.ID) -> ApiKey:
        key_id = str(id)
        return ApiKey.of(await current_key_store().revoke(check_key_id(key_id)))


def check_key_id(key_id: str) -> str:
    """A key id as :func:`services.runtime.auth.generate_api_key` makes them (16 hex digits)."""
    if len(key_id) != 16 or any(c not in "0123456789abcdef" for c in key_id):
        raise ValidationFailed("id", "an API key id is 16 lowercase hex digits")
    return key_id
