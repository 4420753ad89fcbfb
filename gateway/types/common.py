"""Types shared by every part of the graph."""

from __future__ import annotations

import strawberry

from services.runtime.errors import ValidationFailed

MAX_PAGE = 100


@strawberry.type(description="Outcome of a delete.")
class DeletePayload:
    id: strawberry.ID
    deleted: bool


def page_args(limit: int, offset: int) -> dict[str, int]:
    """Validated limit/offset query parameters (limit 1–100, offset ≥ 0)."""
    if not 1 <= limit <= MAX_PAGE:
        raise ValidationFailed("limit", f"limit must be between 1 and {MAX_PAGE}")
    if offset < 0:
        raise ValidationFailed("offset", "offset must be ≥ 0")
    return {"limit": limit, "offset": offset}
