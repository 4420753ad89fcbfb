"""BreachClaims: the ``breach_claims`` collection of the risk service (domain.md §3.5).

One document per breach (``_id`` = its key, :meth:`EscalationItem.breach_key`) names the event
that owns it. The unique ``_id`` decides between concurrent events of one breach; a resumed
event finds its own claims. The decision itself is pure: :mod:`services.risk.escalation`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from services.risk.escalation import EscalationItem


class BreachClaims:
    """Who owns each breach: the first event that claimed it."""

    def __init__(self, collection: AsyncCollection[dict[str, Any]]) -> None:
        self.collection = collection

    async def claim(
        self, event_id: str, shop_id: str, plan: Sequence[EscalationItem], at: datetime
    ) -> dict[str, str]:
        """Claim the breach of every item of ``plan`` for ``event_id``; answers the owner of
        each breach by key (``event_id`` where its claim won, or was its own already)."""
        owners: dict[str, str] = {}
        for item in plan:
            key = item.breach_key(event_id)
            claim = {"_id": key, "event_id": event_id, "shop_id": shop_id, "claimed_at": at}
            try:
                await self.collection.insert_one(claim)
            except DuplicateKeyError:
                stored = await self.collection.find_one({"_id": key})
                owners[key] = str(stored["event_id"]) if stored else event_id
            else:
                owners[key] = event_id
        return owners
