"""RiskStore against a real nx-27017 through the driver: what the service relies on.

The first tests pin the behaviour of the embedded database that the store is built around
(and around its gaps); the others check the store's own guarantees: built-in rules seeded
once, compare-and-set writes, exactly-once escalation including the resumption of an event
interrupted half-way, and bounded commands for batches.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime

import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from pymongo.errors import DuplicateKeyError

from services.risk import domain, models, monitoring, roadmap
from services.risk.app import RiskService
from services.risk.changes import (
    escalated_risk,
    escalated_risk_id,
    escalation_change,
    new_risk,
    status_change,
)
from services.risk.documents import risk_filter, risk_sort, rule_of
from services.risk.escalation import EscalationItem
from services.risk.service import kpi_plan
from services.risk.store import RiskStore
from services.runtime.errors import Conflict, ErrorCode, IntegraError
from services.runtime.metrics import REGISTRY
from services.runtime.records import Document, now
from services.runtime.settings import IntegraSettings
from tests.store.conftest import STORE_TEST_PRINCIPAL

SHOP = "a" * 24
OTHER = "b" * 24
C = domain.RiskCategoryCode


@pytest.fixture
async def store(settings: IntegraSettings) -> AsyncIterator[RiskStore]:
    service = RiskService(settings)
    await service.start()
    assert service.prepared.is_set()
    try:
        yield service.store
    finally:
        await service.stop()


async def add_risk(
    store: RiskStore,
    category: C = C.PERFORMANCE_UX,
    shop_id: str = SHOP,
    likelihood: int = 2,
    **extra: object,
) -> Document:
    body = models.RiskCreate.model_validate(
        {
            "shopId": shop_id,
            "category": category,
            "title": f"{category} risk",
            "owner": "ann",
            "inherent": {"likelihood": likelihood},
            "changedBy": "ann",
            **extra,
        }
    )
    return await store.insert_risk(new_risk(body, now()))


def item(category: C = C.PERFORMANCE_UX, step: int = 1) -> EscalationItem:
    return EscalationItem(category, "rule-x", step, "breach", "Escalated", "kpi", 1.0)


# --- the database's behaviour the store relies on -------------------------------------------


async def test_nx_semantics_the_store_is_built_on(store: RiskStore) -> None:
    coll = store.risks
    await coll.insert_one({"_id": "x", "ev": ["e1"], "d": "2024-01-05", "v": 1, "s": "OPEN"})
    await coll.insert_one({"_id": "y", "ev": [], "d": "2025-01-05", "v": 1, "s": "CLOSED"})
    # $nin on an array means "does not contain" ($ne does not, on nx-27017).
    assert [d["_id"] async for d in coll.find({"ev": {"$nin": ["e1"]}})] == ["y"]
    # Equality on an array means "contains", also inside $and/$or.
    query = {"$and": [{"v": 1}, {"$or": [{"s": "OPEN"}, {"ev": "e1"}]}]}
    assert [d["_id"] async for d in coll.find(query)] == ["x"]
    # Calendar days stored as ISO text compare as days.
    assert [d["_id"] async for d in coll.find({"d": {"$lt": "2024-06-01"}})] == ["x"]
    # $set of a whole list of subdocuments keeps them as subdocuments; $push of a scalar works.
    moment = now()
    entries = [{"at": moment, "changes": [{"field": "f", "before": None, "after": "1"}]}]
    result = await coll.update_one(
        {"_id": "y", "v": 1, "ev": {"$nin": ["e2"]}},
        {"$set": {"history": entries}, "$inc": {"v": 1}, "$push": {"ev": "e2"}},
    )
    assert result.modified_count == 1
    stored = await coll.find_one({"_id": "y"})
    assert stored is not None
    assert stored["history"] == entries
    assert stored["ev"] == ["e2"]
    # A stale version guard matches nothing.
    stale = await coll.update_one({"_id": "y", "v": 1}, {"$inc": {"v": 1}})
    assert stale.matched_count == 0
    # A top-level boolean written by $set reads back as 0/1, yet still matches True/False:
    # the store reads flags through bool() and queries them by True/False only.
    await coll.update_one({"_id": "x"}, {"$set": {"flag": False}})
    assert [d["flag"] async for d in coll.find({"flag": False})] == [0]
    # An event id is unique: a second insert is a duplicate-key error.
    await store.events.insert_one({"_id": "evt"})
    with pytest.raises(DuplicateKeyError):
        await store.events.insert_one({"_id": "evt"})


# --- rules ----------------------------------------------------------------------------------


async def test_built_in_rules_are_seeded_once_and_edits_survive_a_restart(
    store: RiskStore,
) -> None:
    rules = await store.list_rules()
    assert {r["_id"] for r in rules} == {r.id for r in monitoring.DEFAULT_RULES}
    rule_id = monitoring.default_rule_id("sla_compliance", C.PERFORMANCE_UX)
    await store.replace_rule(rule_id, {"threshold": 90.0, "enabled": False})
    await store.prepare()
    again = rule_of(await store.get_rule(rule_id))
    assert again.threshold == 90.0
    assert again.enabled is False
    assert len(await store.list_rules()) == len(monitoring.DEFAULT_RULES)
    assert [r["_id"] for r in await store.rules_for("sla_compliance")] == [
        monitoring.default_rule_id("sla_compliance", C.VENDOR_RELIABILITY)
    ]
    with pytest.raises(Conflict):
        await store.delete_rule(rule_id)


# --- risks ----------------------------------------------------------------------------------


async def test_filters_sorting_and_batches(store: RiskStore) -> None:
    low = await add_risk(store, C.PERSONNEL, likelihood=1)
    high = await add_risk(store, C.DATA_SECURITY, likelihood=5)
    other = await add_risk(store, C.DATA_SECURITY, shop_id=OTHER, likelihood=3)
    query = risk_filter(shop_ids=[SHOP])
    docs, total = await store.list_risks(query, risk_sort("SCORE", descending=True), 10, 0)
    assert [d["_id"] for d in docs] == [high["_id"], low["_id"]]
    assert total == 2
    cyber = risk_filter(groups=["CYBER"], levels=["CRITICAL", "HIGH"])
    docs, total = await store.list_risks(cyber, risk_sort("SCORE", descending=False), 10, 0)
    assert [d["_id"] for d in docs] == [other["_id"], high["_id"]]
    batch = await store.find_risks(
        risk_filter(shop_ids=[SHOP, OTHER]), risk_sort("TITLE", descending=False)
    )
    assert {d["_id"] for d in batch} == {low["_id"], high["_id"], other["_id"]}
    assert [d["_id"] for d in await store.risks_by_ids([other["_id"], "f" * 24])] == [other["_id"]]


def find_commands() -> float:
    total = 0.0
    for family in text_string_to_metric_families(generate_latest(REGISTRY).decode()):
        for sample in family.samples:
            if (
                sample.name == "db_client_operation_duration_seconds_count"
                and sample.labels.get("service") == "risk"
                and sample.labels.get("db_operation_name") == "find"
            ):
                total += sample.value
    return total


async def test_a_batch_over_many_shops_is_one_find(store: RiskStore) -> None:
    shops = [f"{index:024x}" for index in range(30)]
    for shop_id in shops:
        await add_risk(store, shop_id=shop_id)
    before = find_commands()
    risks = await store.find_risks(risk_filter(shop_ids=shops), risk_sort("SCORE", True))
    open_risks = await store.open_risks(shops)
    assert len(risks) == len(open_risks) == 30
    assert find_commands() - before == 2


async def test_modify_is_compare_and_set_and_recomputes_on_a_concurrent_change(
    store: RiskStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    risk = await add_risk(store)
    body = models.StatusChange.model_validate(
        {"status": "ASSESSED", "reason": "audited", "changedBy": "bob"}
    )
    reads = 0
    original = store.get_risk

    async def read_then_race(risk_id: str, field_name: str = "id") -> Document:
        # The first read is overtaken by another writer before its write lands.
        nonlocal reads
        reads += 1
        doc = await original(risk_id, field_name)
        if reads == 1:
            await store.risks.update_one({"_id": risk_id}, {"$inc": {"version": 1}})
        return doc

    monkeypatch.setattr(store, "get_risk", read_then_race)
    written, wrote = await store.modify_risk(
        risk["_id"], lambda doc: status_change(doc, body, now())
    )
    monkeypatch.undo()
    assert wrote
    assert reads == 2
    assert written["version"] == 3
    stored = await store.get_risk(risk["_id"])
    assert stored["status"] == "ASSESSED"
    assert [h["action"] for h in stored["history"]] == ["CREATED", "STATUS_CHANGED"]
    assert stored["history"][1]["on_behalf_of"] == "bob"
    assert stored["history"][1]["actor"]["clientId"] == STORE_TEST_PRINCIPAL.client_id

    # A mutation that raises leaves the risk untouched.
    closing = models.StatusChange.model_validate(
        {"status": "CLOSED", "reason": "x", "changedBy": "bob"}
    )
    with pytest.raises(IntegraError) as caught:
        await store.modify_risk(risk["_id"], lambda doc: status_change(doc, closing, now()))
    assert caught.value.code is ErrorCode.INVALID_TRANSITION
    assert (await store.get_risk(risk["_id"]))["version"] == 3


async def test_overdue_candidates_are_open_risks_with_a_past_review_or_action(
    store: RiskStore,
) -> None:
    late = await add_risk(store, C.COMPLIANCE, nextReviewAt="2020-01-01")
    await add_risk(store, C.PERSONNEL, nextReviewAt="2999-01-01")
    closed = await add_risk(store, C.DATA_QUALITY, nextReviewAt="2020-01-01")
    await store.risks.update_one({"_id": closed["_id"]}, {"$set": {"status": "CLOSED"}})
    action_late = await add_risk(store, C.VENDOR_RELIABILITY)
    await store.risks.update_one(
        {"_id": action_late["_id"]}, {"$set": {"next_action_due": "2021-05-01"}}
    )
    found = await store.overdue_candidates(SHOP, date(2024, 1, 1))
    assert {d["_id"] for d in found} == {late["_id"], action_late["_id"]}


# --- escalations: exactly once --------------------------------------------------------------


async def test_an_event_applied_twice_escalates_once(store: RiskStore) -> None:
    risk = await add_risk(store, likelihood=2)
    first = await store.apply_event("m-1", SHOP, "fp", [item(step=2)])
    second = await store.apply_event("m-1", SHOP, "fp", [item(step=2)])
    assert not first.duplicate
    assert first.escalated == ["PERFORMANCE_UX"]
    assert second.duplicate
    assert second.escalated == []
    assert second.outcome == first.outcome
    stored = await store.get_risk(risk["_id"])
    assert stored["inherent"]["likelihood"] == 4
    assert stored["applied_event_ids"] == ["m-1"]
    assert [h["action"] for h in stored["history"]] == ["CREATED", "ESCALATED"]
    entry = stored["history"][1]
    assert entry["actor"]["clientId"] == STORE_TEST_PRINCIPAL.client_id  # who delivered it
    assert entry["on_behalf_of"] is None
    assert entry["event_id"] == "m-1"
    assert entry["rule_id"] == "rule-x"


async def test_an_event_id_reused_for_another_event_is_a_conflict(store: RiskStore) -> None:
    await store.apply_event("m-2", SHOP, "fp-a", [item()])
    with pytest.raises(Conflict) as caught:
        await store.apply_event("m-2", SHOP, "fp-b", [item()])
    assert caught.value.field == "eventId"


async def test_an_interrupted_event_is_resumed_without_raising_twice(store: RiskStore) -> None:
    first = await add_risk(store, likelihood=1)
    second = await add_risk(store, likelihood=1)
    plan = [item(step=1), item(C.DATA_QUALITY, step=2)]
    at = now()
    # The state a crash leaves: the event recorded as applying, one risk raised, not the rest.
    await store.events.insert_one(
        {
            "_id": "m-3",
            "state": "applying",
            "shop_id": SHOP,
            "fingerprint": "fp",
            "plan": [p.to_doc() for p in plan],
            "outcome": [],
            "received_at": at,
        }
    )
    await store.modify_risk(
        first["_id"], lambda doc: escalation_change(doc, plan[0], "m-3", at), event_id="m-3"
    )
    # A redelivery resumes the stored plan (even if the rules changed meanwhile).
    result = await store.apply_event("m-3", SHOP, "fp", [])
    assert not result.duplicate
    assert result.escalated == ["PERFORMANCE_UX", "DATA_QUALITY"]
    by_category = {o["category"]: o for o in result.outcome}
    assert set(by_category["PERFORMANCE_UX"]["raised_risk_ids"]) == {first["_id"], second["_id"]}
    created = by_category["DATA_QUALITY"]["created_risk_id"]
    assert created == escalated_risk_id(SHOP, C.DATA_QUALITY, 0)
    for risk in (first, second):
        assert (await store.get_risk(risk["_id"]))["inherent"]["likelihood"] == 2
    new = await store.get_risk(created)
    assert new["status"] == "IDENTIFIED"
    assert new["inherent"] == {"likelihood": 5, "impact": 4}  # POSSIBLE + 2, default MAJOR
    assert new["owner"] is None
    assert new["history"][0]["actor"]["clientId"] == STORE_TEST_PRINCIPAL.client_id
    # Once finished, the event is a duplicate and nothing moves.
    again = await store.apply_event("m-3", SHOP, "fp", plan)
    assert again.duplicate
    assert (await store.get_risk(first["_id"]))["inherent"]["likelihood"] == 2
    assert await store.risks.count_documents({"shop_id": SHOP}) == 3


async def test_resuming_after_the_created_risk_was_written_creates_no_second_one(
    store: RiskStore,
) -> None:
    at = now()
    await store.events.insert_one(
        {
            "_id": "m-4",
            "state": "applying",
            "shop_id": SHOP,
            "fingerprint": "fp",
            "plan": [item(C.COMPLIANCE).to_doc()],
            "outcome": [],
            "received_at": at,
        }
    )
    await store.insert_risk(escalated_risk(SHOP, item(C.COMPLIANCE), "m-4", at))
    result = await store.apply_event("m-4", SHOP, "fp", [])
    assert result.escalated == []
    assert result.outcome[0]["created_risk_id"] == escalated_risk_id(SHOP, C.COMPLIANCE, 0)
    assert await store.risks.count_documents({"category": "COMPLIANCE"}) == 1


async def test_an_escalation_is_not_stuck_when_its_derived_id_is_taken(store: RiskStore) -> None:
    """The id derives from the count of the shop's risks of the category; should that count
    ever go down (a restore, a clean-up), the id may be taken by a risk the escalation does
    not see: it takes the next one rather than failing on the duplicate forever."""
    taken = escalated_risk(OTHER, item(C.COMPLIANCE), "elsewhere", now())
    taken["_id"] = escalated_risk_id(SHOP, C.COMPLIANCE, 0)
    await store.insert_risk(taken)
    result = await store.apply_event("m-7", SHOP, "fp", [item(C.COMPLIANCE)])
    created = result.outcome[0]["created_risk_id"]
    assert created == escalated_risk_id(SHOP, C.COMPLIANCE, 1)
    assert await store.risks.count_documents({"shop_id": SHOP, "category": "COMPLIANCE"}) == 1
    again = await store.apply_event("m-7", SHOP, "fp", [item(C.COMPLIANCE)])
    assert again.duplicate


async def test_closed_risks_are_not_raised_and_a_new_one_is_created(store: RiskStore) -> None:
    closed = await add_risk(store, C.PERSONNEL)
    await store.risks.update_one({"_id": closed["_id"]}, {"$set": {"status": "CLOSED"}})
    accepted = await add_risk(store, C.DATA_SECURITY)
    await store.risks.update_one({"_id": accepted["_id"]}, {"$set": {"status": "ACCEPTED"}})
    result = await store.apply_event("m-5", SHOP, "fp", [item(C.PERSONNEL), item(C.DATA_SECURITY)])
    personnel, security = result.outcome
    assert personnel["raised_risk_ids"] == []
    assert personnel["created_risk_id"] is not None
    assert security["raised_risk_ids"] == [accepted["_id"]]
    assert (await store.get_risk(closed["_id"]))["inherent"]["likelihood"] == 2


async def test_an_event_breaching_nothing_is_recorded_as_judged(store: RiskStore) -> None:
    rules = [monitoring.DEFAULT_RULES[0]]
    event = models.KpiMeasurementEvent.model_validate(
        {
            "eventId": "m-6",
            "shopId": SHOP,
            "kpiCode": "sla_compliance",
            "value": 99.0,
            "measuredAt": datetime(2025, 1, 1, tzinfo=UTC),
        }
    )
    assert kpi_plan(rules, event) == []
    result = await store.apply_event("m-6", SHOP, "fp", [])
    assert result.outcome == []
    again = await store.apply_event("m-6", SHOP, "fp", [item()])
    assert again.duplicate
    assert await store.risks.count_documents({}) == 0


# --- roadmaps -------------------------------------------------------------------------------


async def test_roadmap_is_created_on_first_change_then_compare_and_set(store: RiskStore) -> None:
    at = now()

    def start_audit(stages: list[roadmap.Stage]) -> dict[str, Document]:
        assert [s.status for s in stages] == [domain.StageStatus.NOT_STARTED] * 5
        return {"AUDIT": {"status": "IN_PROGRESS", "actual_start": "2024-01-01", "updated_at": at}}

    first = await store.modify_roadmap(SHOP, start_audit)
    assert first["version"] == 1

    def finish_audit(stages: list[roadmap.Stage]) -> dict[str, Document]:
        assert stages[0].actual_start == date(2024, 1, 1)
        return {
            "AUDIT": {
                "status": "DONE",
                "actual_start": "2024-01-01",
                "actual_end": "2024-01-10",
                "updated_at": at,
            }
        }

    second = await store.modify_roadmap(SHOP, finish_audit)
    assert second["version"] == 2
    stored = await store.roadmaps_of([SHOP, OTHER])
    assert list(stored) == [SHOP]
    assert stored[SHOP]["stages"]["AUDIT"]["status"] == "DONE"
