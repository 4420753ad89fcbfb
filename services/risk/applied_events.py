"""AppliedEvents: escalations applied exactly once per event and per breach (domain.md §3.5).

An event is recorded in ``applied_events`` before it escalates anything; a redelivery finds
the record and answers its outcome, or resumes its stored plan. Which breach an item belongs
to and who owns it is pure (:mod:`services.risk.escalation`); the claims are
:mod:`services.risk.breach_claims`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from pymongo.errors import DuplicateKeyError

from services.risk.changes import escalated_risk, escalation_change
from services.risk.documents import OPEN_STATUSES, EventResult, risk_sort
from services.risk.escalation import EscalationItem, escalated_before, items_to_apply
from services.risk.risk_documents import MAX_ATTEMPTS, RiskDocuments
from services.runtime.errors import Conflict
from services.runtime.records import Document, now


class AppliedEvents(RiskDocuments):
    """The documents, and the escalations that events apply to them."""

    async def apply_event(
        self,
        event_id: str,
        shop_id: str,
        fingerprint: str,
        plan: Sequence[EscalationItem],
    ) -> EventResult:
        """Escalate ``plan`` for an event exactly once, whatever the number of deliveries.

        The event is recorded first (``applying``, with its plan); a second delivery collides
        with that record: if it was ``applied`` its outcome is answered as a duplicate, else
        (a crash or a concurrent delivery) the stored plan is resumed. Each risk records the
        event in the same write that raises it, and a created risk carries the event
        (``created_by_event``, ``applied_event_ids``), so resuming never raises or creates
        twice. An event id reused for a different event is a CONFLICT. An item whose breach
        another event claimed first (an earlier revision of the measurement, an earlier check
        of the silence) changes nothing and names that event. An event of a deleted shop (one
        in flight when the shop was deleted) escalates nothing.
        """
        if await self.purge.is_deleted(shop_id):
            return EventResult([], duplicate=False)
        at = now()
        record: Document = {
            "_id": event_id,
            # An event that escalates nothing is final at once; it stays recorded so that a
            # redelivery after a rule change is still the same, already judged, event.
            "state": "applying" if plan else "applied",
            "outcome": [],
            "shop_id": shop_id,
            "fingerprint": fingerprint,
            "plan": [item.to_doc() for item in plan],
            "received_at": at,
        }
        try:
            await self.events.insert_one(record)
        except DuplicateKeyError:
            stored = await self._recorded(event_id, fingerprint)
            if stored["state"] == "applied":
                return EventResult(stored["outcome"], duplicate=True)
            plan = [EscalationItem.from_doc(item) for item in stored["plan"]]
        result = EventResult([], duplicate=False)
        if not plan:
            return result
        claims = await self.claims.claim(event_id, shop_id, plan, at)
        owned = items_to_apply(plan, claims, event_id)
        for item in plan:
            if item not in owned:
                result.outcome.append(escalated_before(item, claims[item.breach_key(event_id)]))
                continue
            outcome, changed = await self._escalate(event_id, shop_id, item, at)
            result.outcome.append(outcome)
            if changed:
                result.escalated.append(item.category.value)
        await self.events.update_one(
            {"_id": event_id},
            {"$set": {"state": "applied", "outcome": result.outcome, "applied_at": now()}},
        )
        return result

    async def _recorded(self, event_id: str, fingerprint: str) -> Document:
        """The record of an event delivered before; CONFLICT if it was another event."""
        stored = await self.events.find_one({"_id": event_id})
        if stored is None:  # deleted meanwhile: never by this service
            raise Conflict("eventId", f"event {event_id!r} is being recorded")
        if stored.get("fingerprint") != fingerprint:
            raise Conflict("eventId", f"event id {event_id!r} was used for a different event")
        return stored

    async def _escalate(
        self, event_id: str, shop_id: str, item: EscalationItem, at: datetime
    ) -> tuple[Document, bool]:
        """Raise every open risk of the item's category for the shop, or create one.

        Creation races with other events of the same shop and category: the created risk's id
        derives from how many risks of the category the shop had, so of two events that both
        found none, one inserts and the other collides, looks again and raises that risk.
        """
        scope = {"shop_id": shop_id, "category": item.category.value}
        query = {
            "$and": [
                {"shop_id": shop_id},
                {"category": item.category.value},
                {"$or": [{"status": {"$in": OPEN_STATUSES}}, {"applied_event_ids": event_id}]},
            ]
        }
        changed = False
        created_id: str | None = None
        raised: list[str] = []
        ordinal = -1
        for _ in range(MAX_ATTEMPTS):
            existing = await self.risks.count_documents(scope)
            docs = await self.find_risks(query, risk_sort("CREATED_AT", descending=False))
            if docs:
                break
            # After a collision with a risk the query does not match (the count went down
            # since that id was taken), the next ordinal: the escalation is never stuck.
            ordinal = max(existing, ordinal + 1)
            doc = escalated_risk(shop_id, item, event_id, at, ordinal)
            try:
                await self.insert_risk(doc)
            except DuplicateKeyError:
                continue
            created_id, changed = doc["_id"], True
            break
        else:
            raise Conflict("eventId", f"risks of {shop_id!r} keep changing concurrently; retry")
        for doc in docs:
            if doc.get("created_by_event") == event_id:
                created_id = doc["_id"]
                continue
            written, wrote = await self.modify_risk(
                doc["_id"],
                lambda current: escalation_change(current, item, event_id, at),
                event_id=event_id,
            )
            changed = changed or wrote
            if event_id in written.get("applied_event_ids", []):
                raised.append(doc["_id"])
        outcome = {
            "category": item.category.value,
            "rule_id": item.rule_id,
            "step": item.step,
            "raised_risk_ids": raised,
            "created_risk_id": created_id,
        }
        return outcome, changed
