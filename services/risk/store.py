"""RiskStore: the only module of the risk service that touches MongoDB.

Collections of the ``<prefix>_risk`` database:

- ``risks``: one document per risk, with its mitigation actions and its full history
  embedded, so that a change and the history entry describing it are one atomic write;
  denormalised ``inherent_score``/``inherent_level`` (and residual), ``title_key`` and
  ``next_action_due`` make filters, sorting and the overdue view plain indexed queries;
- ``rules``: monitoring rules, the built-in ones seeded idempotently at start;
- ``applied_events``: one document per escalating event (``_id`` = the event id, unique), the
  record that makes every event escalate exactly once;
- ``breach_claims``: one document per breach (``_id`` = its key, see
  :mod:`services.risk.escalation`) naming the event that owns it, so that several events of
  one breach (revisions of a measurement, daily checks of one silence) escalate it once;
- ``roadmaps``: one document per shop (``_id`` = the shop id) holding its stages.

Every write to a risk or a roadmap is a compare-and-set on its ``version``: read, apply the
domain, ``update_one`` guarded by the version read; a concurrent change makes the guard miss
and the change is recomputed on fresh data. nx-27017, the embedded database, shapes this
module: ``$push`` of a subdocument stores it as a JSON string, so embedded arrays are written
whole with ``$set``; ``$ne`` on an array field does not mean "does not contain", so the event
guard uses ``$nin``; a top-level ``$or`` beside other keys ignores them, so ``$or`` is always
wrapped in ``$and``; a top-level boolean written by ``$set`` reads back as 0/1, so flags are
read through ``bool()`` and queried by ``True``/``False`` only; ``find_one_and_update`` is not
used.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from services.risk import domain
from services.risk.breach_claims import BreachClaims
from services.risk.escalation import EscalationItem, escalated_before, items_to_apply
from services.runtime.caller import current_actor
from services.runtime.concurrency import check_version, contention_pause
from services.runtime.errors import Conflict, NotFound
from services.runtime.idempotency import Idempotency
from services.runtime.records import Document, now
from services.runtime.shop_purge import ShopPurge

MAX_ATTEMPTS = 30
OPEN_STATUSES = sorted(s.value for s in domain.OPEN_STATUSES)

# --- values ---------------------------------------------------------------------------------


def today() -> date:
    """Today in UTC: the day overdue views and slippage are computed for."""
    return datetime.now(UTC).date()


def day(value: date | None) -> str | None:
    """A calendar day as stored: ``YYYY-MM-DD`` (sorts and compares as text)."""
    return value.isoformat() if value is not None else None


def parse_day(value: object) -> date | None:
    """A stored calendar day back as a :class:`date`."""
    return date.fromisoformat(str(value)) if value else None


def text(value: object) -> str | None:
    """A value as history text (``None`` stays ``None``)."""
    if value is None:
        return None
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


# --- risk documents (pure) ------------------------------------------------------------------


def assessment_doc(assessment: domain.Assessment | None) -> Document | None:
    """The stored form of an assessment: its two factors."""
    if assessment is None:
        return None
    return {"likelihood": int(assessment.likelihood), "impact": int(assessment.impact)}


def assessment_of(doc: Mapping[str, Any] | None) -> domain.Assessment | None:
    """A stored assessment back as a domain value."""
    if not doc:
        return None
    return domain.Assessment(
        domain.Likelihood(int(doc["likelihood"])), domain.Impact(int(doc["impact"]))
    )


def assessment_fields(inherent: domain.Assessment, residual: domain.Assessment | None) -> Document:
    """Both assessments and their denormalised scores and levels (for filters and sorting)."""
    return {
        "inherent": assessment_doc(inherent),
        "inherent_score": inherent.score,
        "inherent_level": inherent.level.value,
        "residual": assessment_doc(residual),
        "residual_score": residual.score if residual else None,
        "residual_level": residual.level.value if residual else None,
    }


def change(field_name: str, before: object, after: object) -> Document:
    """One changed field of a history entry, values as text."""
    return {"field": field_name, "before": text(before), "after": text(after)}


def history_entry(
    on_behalf_of: str | None,
    action: str,
    changes: Sequence[Document],
    reason: str | None,
    at: datetime,
    **escalation: object,
) -> Document:
    """A history entry: who, what (action and changed fields), when, why; escalations add
    ``rule_id``, ``kpi_code``, ``kpi_value`` and ``event_id``.

    Who is the authenticated caller of the request (``actor``, from the credential); a
    free-text name the caller gives is kept beside it as ``on_behalf_of``, never instead.
    """
    return {
        "at": at,
        "actor": current_actor().document(),
        "on_behalf_of": on_behalf_of,
        "action": action,
        "changes": list(changes),
        "reason": reason,
        **escalation,
    }


def next_action_due(actions: Iterable[Mapping[str, Any]]) -> str | None:
    """The earliest due day of the unfinished actions (drives the overdue view)."""
    dues = [a["due_at"] for a in actions if not a.get("done") and a.get("due_at")]
    return min(dues) if dues else None


def risk_document(
    *,
    risk_id: str,
    shop_id: str,
    category: domain.RiskCategoryCode,
    title: str,
    description: str,
    owner: str | None,
    inherent: domain.Assessment,
    residual: domain.Assessment | None,
    next_review_at: date | None,
    status: domain.RiskStatus,
    created: Document,
    at: datetime,
    applied_event_ids: Sequence[str] = (),
) -> Document:
    """A new risk document; ``created`` is its first history entry."""
    return {
        "_id": risk_id,
        "shop_id": shop_id,
        "category": category.value,
        "group": domain.RISK_CATEGORY_BY_CODE[category].group.value,
        "title": title,
        "title_key": title.casefold(),
        "description": description,
        "owner": owner,
        **assessment_fields(inherent, residual),
        "status": status.value,
        "next_review_at": day(next_review_at),
        "actions": [],
        "next_action_due": None,
        "history": [created],
        "applied_event_ids": list(applied_event_ids),
        "created_by_event": applied_event_ids[0] if applied_event_ids else None,
        "created_at": at,
        "updated_at": at,
        "version": 1,
    }


@dataclass(frozen=True)
class RiskChange:
    """What one modification of a risk writes: fields to ``$set`` and one history entry."""

    fields: Document
    entry: Document


RiskMutation = Callable[[Document], RiskChange | None]


# --- escalations (pure) ---------------------------------------------------------------------


@dataclass
class EventResult:
    """The outcome of an event; ``escalated`` lists the categories this call changed."""

    outcome: list[Document]
    duplicate: bool
    escalated: list[str] = field(default_factory=list)


def escalated_risk_id(shop_id: str, category: domain.RiskCategoryCode, existing: int) -> str:
    """The id of the risk an escalation creates for a shop's category when it had
    ``existing`` risks of that category: two events escalating the same category at once both
    derive the same id, so only one creates a risk and the other raises it."""
    digest = hashlib.sha256(f"{shop_id}\x00{category.value}\x00{existing}".encode()).hexdigest()
    return digest[:24]


def _escalation_marks(item: EscalationItem, event_id: str) -> Document:
    return {
        "rule_id": item.rule_id,
        "kpi_code": item.kpi_code,
        "kpi_value": item.kpi_value,
        "event_id": event_id,
    }


def escalated_risk(
    shop_id: str, item: EscalationItem, event_id: str, at: datetime, existing: int = 0
) -> Document:
    """A risk created by an escalation: IDENTIFIED, seeded by the domain, owner unassigned;
    ``existing`` counts the shop's risks of the category before it (see its id)."""
    inherent = domain.escalation_seed(item.category, item.step)
    created = history_entry(
        None,
        "CREATED",
        [
            change("status", None, domain.RiskStatus.IDENTIFIED.value),
            change("inherent.likelihood", None, int(inherent.likelihood)),
            change("inherent.impact", None, int(inherent.impact)),
        ],
        item.reason,
        at,
        **_escalation_marks(item, event_id),
    )
    return risk_document(
        risk_id=escalated_risk_id(shop_id, item.category, existing),
        shop_id=shop_id,
        category=item.category,
        title=item.title,
        description=domain.RISK_CATEGORY_BY_CODE[item.category].manifestation,
        owner=None,
        inherent=inherent,
        residual=None,
        next_review_at=None,
        status=domain.RiskStatus.IDENTIFIED,
        created=created,
        at=at,
        applied_event_ids=[event_id],
    )


def escalation_change(
    doc: Mapping[str, Any], item: EscalationItem, event_id: str, at: datetime
) -> RiskChange | None:
    """Raise an open risk's inherent likelihood by the item's step; ``None`` when the event
    was applied to it already or it has been closed meanwhile."""
    if event_id in doc.get("applied_event_ids", []):
        return None
    if not domain.is_open(domain.RiskStatus(doc["status"])):
        return None
    inherent = assessment_of(doc["inherent"])
    assert inherent is not None
    raised = domain.escalate_assessment(inherent, item.step)
    entry = history_entry(
        None,
        "ESCALATED",
        [change("inherent.likelihood", int(inherent.likelihood), int(raised.likelihood))],
        item.reason,
        at,
        **_escalation_marks(item, event_id),
    )
    fields = assessment_fields(raised, assessment_of(doc.get("residual")))
    return RiskChange(fields, entry)


# --- roadmap documents (pure) ---------------------------------------------------------------


def stage_of(code: domain.StageCode, doc: Mapping[str, Any] | None) -> domain.Stage:
    """A stored stage as a domain value (a missing one is NOT_STARTED)."""
    if not doc:
        return domain.Stage(code)
    return domain.Stage(
        code=code,
        status=domain.StageStatus(doc["status"]),
        planned_start=parse_day(doc.get("planned_start")),
        planned_end=parse_day(doc.get("planned_end")),
        actual_start=parse_day(doc.get("actual_start")),
        actual_end=parse_day(doc.get("actual_end")),
    )


def stages_of(roadmap: Mapping[str, Any] | None) -> list[domain.Stage]:
    """The five stages of a stored roadmap, in order."""
    stored = (roadmap or {}).get("stages", {})
    return [stage_of(info.code, stored.get(info.code.value)) for info in domain.STAGES]


def stage_doc(stage: domain.Stage, at: datetime, by: str | None) -> Document:
    """The stored form of a stage."""
    return {
        "status": stage.status.value,
        "planned_start": day(stage.planned_start),
        "planned_end": day(stage.planned_end),
        "actual_start": day(stage.actual_start),
        "actual_end": day(stage.actual_end),
        "updated_at": at,
        "updated_by": by,
        "actor": current_actor().document(),
    }


# --- the store ------------------------------------------------------------------------------

_SORT_KEYS = {
    "SCORE": "inherent_score",
    "RESIDUAL_SCORE": "residual_score",
    "CREATED_AT": "created_at",
    "UPDATED_AT": "updated_at",
    "TITLE": "title_key",
    "NEXT_REVIEW": "next_review_at",
}


def risk_filter(
    *,
    shop_ids: Sequence[str] | None = None,
    groups: Sequence[str] | None = None,
    categories: Sequence[str] | None = None,
    levels: Sequence[str] | None = None,
    statuses: Sequence[str] | None = None,
    owner: str | None = None,
) -> Document:
    """A query over risks from optional filters (each list is "any of"; levels are inherent)."""
    query: Document = {}
    for key, values in (
        ("shop_id", shop_ids),
        ("group", groups),
        ("category", categories),
        ("inherent_level", levels),
        ("status", statuses),
    ):
        if values is not None:
            query[key] = {"$in": list(values)}
    if owner is not None:
        query["owner"] = owner
    return query


def risk_sort(sort: str, descending: bool) -> list[tuple[str, int]]:
    """The sort of a risk list, ties broken by id."""
    return [(_SORT_KEYS[sort], DESCENDING if descending else ASCENDING), ("_id", ASCENDING)]


class RiskStore:
    """Risks, monitoring rules, applied events and roadmaps of the risk service."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.risks: AsyncCollection[Document] = db["risks"]
        self.rules: AsyncCollection[Document] = db["rules"]
        self.events: AsyncCollection[Document] = db["applied_events"]
        self.claims = BreachClaims(db["breach_claims"])
        self.roadmaps: AsyncCollection[Document] = db["roadmaps"]
        self.purge = ShopPurge(
            db, {"risks": "shop_id", "roadmaps": "_id", "breach_claims": "shop_id"}
        )
        """Deleted shops: their tombstones and the purge of their risks and roadmap."""

    async def prepare(self) -> None:
        """Create the indexes and the built-in rules; idempotent, and edits survive it."""
        await self.risks.create_index(
            [("shop_id", ASCENDING), ("inherent_score", DESCENDING)], name="shop_score"
        )
        await self.risks.create_index(
            [("shop_id", ASCENDING), ("category", ASCENDING), ("status", ASCENDING)],
            name="shop_category_status",
        )
        await self.risks.create_index([("next_review_at", ASCENDING)], name="next_review")
        await self.risks.create_index([("next_action_due", ASCENDING)], name="next_action_due")
        await self.risks.create_index([("created_at", ASCENDING)], name="created_at")
        await self.rules.create_index([("kpi_code", ASCENDING)], name="kpi_code")
        created = now()
        for rule in domain.DEFAULT_RULES:
            with contextlib.suppress(DuplicateKeyError):
                await self.rules.insert_one(
                    {**rule_fields(rule), "built_in": True, "created_at": created}
                )

    # --- risks -------------------------------------------------------------------------------

    async def insert_risk(self, doc: Document, key: Idempotency | None = None) -> Document:
        """Store a new risk; with an idempotency ``key`` a retry answers the risk the first
        attempt created (its id derives from the key). A deleted shop is NOT_FOUND."""
        await self.purge.check_not_deleted(doc["shop_id"])
        return await self._insert_keyed(self.risks, doc, key)

    @staticmethod
    async def _insert_keyed(
        collection: AsyncCollection[Document], doc: Document, key: Idempotency | None
    ) -> Document:
        if key is None:
            await collection.insert_one(doc)
            return doc
        doc = {**doc, "_id": key.record_id(), "idempotency": key.stamp()}
        try:
            await collection.insert_one(doc)
        except DuplicateKeyError:
            existing = await collection.find_one({"_id": doc["_id"]})
            if existing is None:
                raise
            key.check_same_request(existing)
            return existing
        return doc

    async def get_risk(self, risk_id: str, field_name: str = "id") -> Document:
        """The risk with this id, or NOT_FOUND naming ``field_name``."""
        doc = await self.risks.find_one({"_id": risk_id})
        if doc is None:
            raise NotFound("risk", risk_id, field_name)
        return doc

    async def risks_by_ids(self, ids: Sequence[str]) -> list[Document]:
        """The risks among ``ids`` that exist, in the order of ``ids`` (one command)."""
        found = {d["_id"]: d async for d in self.risks.find({"_id": {"$in": list(ids)}})}
        return [found[i] for i in ids if i in found]

    async def list_risks(
        self, query: Document, sort: list[tuple[str, int]], limit: int, offset: int
    ) -> tuple[list[Document], int]:
        """One page of the risks matching ``query``, and how many match."""
        cursor = self.risks.find(query).sort(sort).skip(offset).limit(limit)
        return [d async for d in cursor], await self.risks.count_documents(query)

    async def find_risks(self, query: Document, sort: list[tuple[str, int]]) -> list[Document]:
        """Every risk matching ``query`` in one query (batches over shops, views)."""
        return [d async for d in self.risks.find(query).sort(sort)]

    async def open_risks(self, shop_ids: Sequence[str]) -> list[Document]:
        """The open risks of the given shops (one command): the matrix and summary views."""
        query = risk_filter(shop_ids=shop_ids, statuses=OPEN_STATUSES)
        return await self.find_risks(query, risk_sort("SCORE", descending=True))

    async def overdue_candidates(self, shop_id: str, as_of: date) -> list[Document]:
        """Open risks of a shop whose review or earliest unfinished action is before
        ``as_of`` (one command); the caller decides with the domain's overdue rules."""
        cutoff = day(as_of)
        query = {
            "$and": [
                risk_filter(shop_ids=[shop_id], statuses=OPEN_STATUSES),
                {
                    "$or": [
                        {"next_review_at": {"$lt": cutoff}},
                        {"next_action_due": {"$lt": cutoff}},
                    ]
                },
            ]
        }
        return await self.find_risks(query, risk_sort("NEXT_REVIEW", descending=False))

    async def modify_risk(
        self,
        risk_id: str,
        mutate: RiskMutation,
        *,
        event_id: str | None = None,
        field_name: str = "id",
        expected_version: int | None = None,
    ) -> tuple[Document, bool]:
        """Apply ``mutate`` to the current risk and write it if unchanged meanwhile.

        ``mutate`` sees the stored document and answers the change (or ``None``: nothing to
        write); domain errors it raises leave the risk untouched. With ``event_id`` the write
        also records the event on the risk, guarded so that it happens once. With
        ``expected_version`` a risk at another version is a CONFLICT on ``expectedVersion``
        (also when a concurrent writer wins the race). Answers the risk as written and whether
        this call wrote.
        """
        for attempt in range(MAX_ATTEMPTS):
            if attempt:
                await contention_pause(attempt)
            doc = await self.get_risk(risk_id, field_name)
            check_version("risk", risk_id, doc["version"], expected_version)
            change_ = mutate(doc)
            if change_ is None:
                return doc, False
            fields: Document = {
                **change_.fields,
                "history": [*doc["history"], change_.entry],
                "updated_at": change_.entry["at"],
            }
            guard: Document = {"_id": risk_id, "version": doc["version"]}
            written = {**doc, **fields, "version": doc["version"] + 1}
            if event_id is not None:
                guard["applied_event_ids"] = {"$nin": [event_id]}
                written["applied_event_ids"] = [*doc["applied_event_ids"], event_id]
            # A whole replacement, not $set: nx-27017 stores a date written by $set
            # (updated_at) as a string, which reads back without its time zone.
            replacement = {k: v for k, v in written.items() if k != "_id"}
            result = await self.risks.replace_one(guard, replacement)
            if result.matched_count == 1:
                return written, True
        raise Conflict("id", f"risk {risk_id!r} keeps changing concurrently; retry")

    # --- monitoring rules --------------------------------------------------------------------

    async def list_rules(self) -> list[Document]:
        """Every rule, built-in first, then by KPI and id."""
        cursor = self.rules.find({}).sort(
            [("built_in", DESCENDING), ("kpi_code", ASCENDING), ("_id", ASCENDING)]
        )
        return [d async for d in cursor]

    async def get_rule(self, rule_id: str) -> Document:
        """The rule with this id, or NOT_FOUND."""
        doc = await self.rules.find_one({"_id": rule_id})
        if doc is None:
            raise NotFound("monitoring rule", rule_id)
        return doc

    async def rules_for(self, kpi_code: str) -> list[Document]:
        """The enabled rules on a KPI (one command)."""
        cursor = self.rules.find({"kpi_code": kpi_code, "enabled": True}).sort("_id", ASCENDING)
        return [d async for d in cursor]

    async def insert_rule(self, doc: Document, key: Idempotency | None = None) -> Document:
        """Store a new rule; with an idempotency ``key`` a retry answers the rule the first
        attempt created."""
        return await self._insert_keyed(self.rules, doc, key)

    async def replace_rule(self, rule_id: str, fields: Document) -> Document:
        """Overwrite a rule's fields (built-in rules are editable).

        A whole replacement, not ``$set``: nx-27017 stores a date written by ``$set``
        (``updated_at``) as a string, which reads back without its time zone.
        """
        current = await self.get_rule(rule_id)
        replacement = {k: v for k, v in {**current, **fields}.items() if k != "_id"}
        result = await self.rules.replace_one({"_id": rule_id}, replacement)
        if result.matched_count == 0:
            raise NotFound("monitoring rule", rule_id)
        return {"_id": rule_id, **replacement}

    async def delete_rule(self, rule_id: str) -> None:
        """Delete a custom rule; built-in ones can only be disabled (they would come back)."""
        result = await self.rules.delete_one({"_id": rule_id, "built_in": False})
        if result.deleted_count == 0:
            if await self.rules.count_documents({"_id": rule_id}, limit=1):
                raise Conflict(
                    "id",
                    f"the built-in rule {rule_id!r} cannot be deleted; disable it instead "
                    "(PATCH /rules/{id} or updateMonitoringRule with enabled: false)",
                )
            raise NotFound("monitoring rule", rule_id)

    # --- escalations -------------------------------------------------------------------------

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
            stored = await self.events.find_one({"_id": event_id})
            if stored is None:  # deleted meanwhile: never by this service
                raise Conflict("eventId", f"event {event_id!r} is being recorded") from None
            if stored.get("fingerprint") != fingerprint:
                raise Conflict(
                    "eventId", f"event id {event_id!r} was used for a different event"
                ) from None
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

    # --- roadmaps ----------------------------------------------------------------------------

    async def roadmaps_of(self, shop_ids: Sequence[str]) -> dict[str, Document]:
        """The stored roadmaps of the given shops by shop id (one command)."""
        cursor = self.roadmaps.find({"_id": {"$in": list(shop_ids)}})
        return {d["_id"]: d async for d in cursor}

    async def modify_roadmap(
        self, shop_id: str, mutate: Callable[[list[domain.Stage]], Mapping[str, Document]]
    ) -> Document:
        """Apply ``mutate`` (which answers the changed stages' documents) to a shop's roadmap,
        compare-and-set on its version so the order rule holds under concurrent changes. A
        deleted shop is NOT_FOUND."""
        await self.purge.check_not_deleted(shop_id)
        for _ in range(MAX_ATTEMPTS):
            stored = await self.roadmaps.find_one({"_id": shop_id})
            stages = {**(stored or {}).get("stages", {}), **mutate(stages_of(stored))}
            if stored is None:
                doc: Document = {"_id": shop_id, "stages": stages, "version": 1}
                try:
                    await self.roadmaps.insert_one(doc)
                except DuplicateKeyError:
                    continue
                return doc
            result = await self.roadmaps.update_one(
                {"_id": shop_id, "version": stored["version"]},
                {"$set": {"stages": stages}, "$inc": {"version": 1}},
            )
            if result.matched_count == 1:
                return {**stored, "stages": stages, "version": stored["version"] + 1}
        raise Conflict("shopId", f"the roadmap of {shop_id!r} keeps changing concurrently; retry")


def rule_fields(rule: domain.MonitoringRule) -> Document:
    """The stored form of a rule (its id is ``_id``)."""
    return {
        "_id": rule.id,
        "kpi_code": rule.kpi_code,
        "comparator": rule.comparator.value,
        "threshold": rule.threshold,
        "category": rule.category.value,
        "likelihood_step": rule.likelihood_step,
        "enabled": rule.enabled,
        "updated_at": now(),
    }


def rule_of(doc: Mapping[str, Any]) -> domain.MonitoringRule:
    """A stored rule as a domain value."""
    return domain.MonitoringRule(
        id=doc["_id"],
        kpi_code=doc["kpi_code"],
        comparator=domain.Comparator(doc["comparator"]),
        threshold=float(doc["threshold"]),
        category=domain.RiskCategoryCode(doc["category"]),
        likelihood_step=int(doc["likelihood_step"]),
        enabled=bool(doc["enabled"]),
    )
