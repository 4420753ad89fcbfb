"""KpiStore against a real server (nx-27017, or INTEGRA_TEST_MONGODB_URI) via the driver.

Also checks what the store relies on from the server, where nx-27017 has gaps.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pymongo import AsyncMongoClient
from pymongo.monitoring import (
    CommandFailedEvent,
    CommandListener,
    CommandStartedEvent,
    CommandSucceededEvent,
)

from services.kpi import domain, measuring
from services.kpi.custom_kpis import define_custom_kpi
from services.kpi.outbox import NoDataMonitor, OutboxDispatcher
from services.kpi.outbox_store import EventSource
from services.kpi.platform import HistogramSnapshot, SeriesCounts
from services.kpi.platform_recorder import PlatformRecorder
from services.kpi.recording import check_measurement
from services.kpi.store import MAX_REVISIONS, KpiStore
from services.runtime.auth import Principal, Role
from services.runtime.caller import Actor
from services.runtime.change_feed import ChangeFeed, FeedOptions
from services.runtime.embedded import free_port
from services.runtime.errors import Conflict, NotFound, ValidationFailed
from services.runtime.records import epoch_ms, from_epoch_ms, now
from services.runtime.settings import IntegraSettings

SHOP = "a" * 24
OTHER = "b" * 24
JAN = datetime(2025, 1, 1, tzinfo=UTC)
SYSTEM = domain.MeasurementSource.SYSTEM
MANUAL = domain.MeasurementSource.MANUAL
SLA = domain.CATALOGUE["sla_compliance"]

ACTOR = Actor.of(Principal("jwt:store-test", "store-test", Role.ANALYST, "jwt"))


class CommandCounter(CommandListener):
    """Counts the commands a block of code sends (housekeeping excluded)."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def started(self, event: CommandStartedEvent) -> None:
        if event.command_name not in {"hello", "ismaster", "isMaster", "endSessions"}:
            self.names.append(event.command_name)

    def succeeded(self, event: CommandSucceededEvent) -> None:
        """Nothing to do."""

    def failed(self, event: CommandFailedEvent) -> None:
        """Nothing to do."""


@pytest.fixture
def commands() -> CommandCounter:
    return CommandCounter()


@pytest.fixture
async def store(settings: IntegraSettings, commands: CommandCounter) -> AsyncIterator[KpiStore]:
    assert settings.mongodb_uri is not None
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        settings.mongodb_uri, tz_aware=True, event_listeners=[commands]
    )
    db = client[settings.database_name("kpi")]
    kpi_store = KpiStore(db, ChangeFeed(db, "kpi", FeedOptions()))
    await kpi_store.feed.prepare()
    await kpi_store.prepare()
    try:
        yield kpi_store
    finally:
        await client.close()


def day(n: int) -> datetime:
    return JAN + timedelta(days=n)


async def record_sla(
    store: KpiStore,
    within: int,
    total: int,
    start: datetime = JAN,
    days: int = 7,
    shop: str = SHOP,
    **kwargs: Any,
) -> dict[str, Any]:
    inputs = {"within_sla": within, "total": total}
    return await record(store, SLA, shop, (start, start + timedelta(days=days)), inputs, **kwargs)


async def record(
    store: KpiStore,
    definition: domain.KpiDefinition,
    shop: str,
    period: tuple[datetime, datetime],
    inputs: Mapping[str, measuring.InputValue],
    source: domain.MeasurementSource = MANUAL,
    *,
    replace: bool = False,
    reason: str | None = None,
    **kwargs: Any,
) -> dict[str, Any]:
    """Store a measurement as the use cases do: checked by the domain first."""
    checked = check_measurement(
        definition, shop, period, inputs, source, replace=replace, reason=reason
    )
    return await store.record(checked, actor=ACTOR, **kwargs)


# --- measurements ------------------------------------------------------------------------------


async def test_a_measurement_is_stored_with_its_value_and_pending_event(store: KpiStore) -> None:
    doc = await record_sla(store, 90, 100)
    stored = await store.get_measurement(doc["_id"])
    assert stored["current"]["value"] == pytest.approx(90.0)
    assert stored["current"]["inputs"] == {"within_sla": 90, "total": 100}
    assert stored["period_start"] == JAN
    assert isinstance(stored["current"]["recorded_at"], datetime)
    assert stored["outbox"]["event_id"] == doc["_id"]
    assert stored["outbox"]["state"] == "PENDING"
    assert stored["outbox"]["attempts"] == 0
    assert isinstance(stored["outbox"]["next_attempt_at"], datetime)


async def test_invalid_measurements_write_nothing(store: KpiStore) -> None:
    with pytest.raises(ValidationFailed) as zero:
        await record_sla(store, 0, 0)
    assert zero.value.field == "inputs.total"
    with pytest.raises(ValidationFailed) as part:
        await record_sla(store, 101, 100)
    assert part.value.field == "inputs.within_sla"
    with pytest.raises(ValidationFailed) as period:
        await record_sla(store, 1, 1, days=0)
    assert period.value.field == "period"
    assert await store.measurements.count_documents({}) == 0
    assert await store.latest.count_documents({}) == 0


async def test_a_period_is_measured_once_unless_replaced_with_a_reason(store: KpiStore) -> None:
    first = await record_sla(store, 90, 100)
    with pytest.raises(Conflict) as conflict:
        await record_sla(store, 80, 100)
    assert conflict.value.field == "periodStart"
    assert first["_id"] in conflict.value.message
    with pytest.raises(ValidationFailed) as no_reason:
        await record_sla(store, 80, 100, replace=True)
    assert no_reason.value.field == "reason"
    await record_sla(store, 80, 100, days=6)  # another period of the same KPI is fine
    assert await store.measurements.count_documents({}) == 2

    second = await record_sla(store, 80, 100, replace=True, reason="recount")
    assert second["_id"] == first["_id"]
    stored = await store.get_measurement(first["_id"])
    assert stored["current"]["revision"] == 2
    assert stored["current"]["value"] == pytest.approx(80.0)
    assert stored["current"]["reason"] == "recount"
    [old] = stored["history"]
    assert old["revision"] == 1
    assert old["value"] == pytest.approx(90.0)
    assert old["inputs"] == {"within_sla": 90, "total": 100}
    # Dates inside a $set array stay dates (a bare $set date is a string on nx-27017).
    assert isinstance(old["recorded_at"], datetime)
    assert isinstance(old["replaced_at"], datetime)
    assert old["escalation"] == {
        "event_id": first["_id"],
        "state": "SUPERSEDED",
        "attempts": 0,
        "delivered_at": None,
    }
    assert stored["outbox"]["event_id"] == f"{first['_id']}:2"
    assert stored["outbox"]["state"] == "PENDING"
    assert await store.measurements.count_documents({}) == 2


async def test_replace_without_a_previous_measurement_inserts(store: KpiStore) -> None:
    doc = await record_sla(store, 5, 10, replace=True, reason="initial import")
    assert doc["current"]["revision"] == 1
    assert doc["current"]["reason"] == "initial import"


async def test_revisions_are_bounded(store: KpiStore) -> None:
    doc = await record_sla(store, 1, 10)
    await store.measurements.update_one(
        {"_id": doc["_id"]},
        {"$set": {"current": {**doc["current"], "revision": MAX_REVISIONS}}},
    )
    with pytest.raises(Conflict) as bounded:
        await record_sla(store, 2, 10, replace=True, reason="one too many")
    assert bounded.value.field == "replace"


async def test_lists_filter_paginate_and_batch(store: KpiStore) -> None:
    ids = [(await record_sla(store, i, 10, start=day(7 * i)))["_id"] for i in range(5)]
    await record_sla(store, 1, 10, shop=OTHER)
    page, total = await store.list_measurements(SHOP, "sla_compliance", day(7), day(28), 2, 0)
    assert total == 3
    assert [d["_id"] for d in page] == [ids[3], ids[2]]
    everything, count = await store.list_measurements(None, None, None, None, 100, 0)
    assert count == 6
    assert len(everything) == 6
    batch = await store.measurements_by_ids([ids[4], "f" * 24, ids[0]])
    assert [d["_id"] for d in batch] == [ids[4], ids[0]]
    series = await store.series_measurements(SHOP, "sla_compliance", None, None, cap=3)
    assert [d["_id"] for d in series] == ids[:4]  # cap + 1, oldest first


# --- the latest view ---------------------------------------------------------------------------


async def test_latest_is_the_latest_period_whatever_the_arrival_order(
    store: KpiStore, commands: CommandCounter
) -> None:
    newer = await record_sla(store, 90, 100, start=day(7))
    await record_sla(store, 10, 100, start=day(0))  # older, arrives late
    await record_sla(store, 50, 100, shop=OTHER)
    shops = [SHOP, OTHER, "c" * 24]
    commands.names.clear()
    latest = {d["shop_id"]: d for d in await store.latest_for(shops)}
    assert commands.names == ["find"]
    assert latest[SHOP]["current"]["measurement_id"] == newer["_id"]
    assert latest[SHOP]["current"]["value"] == pytest.approx(90.0)
    assert isinstance(latest[SHOP]["current"]["period_end"], datetime)
    assert latest[OTHER]["current"]["value"] == pytest.approx(50.0)

    await record_sla(store, 10, 100, start=day(0), replace=True, reason="older fix")
    still = await store.latest_for([SHOP])
    assert still[0]["current"]["measurement_id"] == newer["_id"]
    await record_sla(store, 70, 100, start=day(7), replace=True, reason="newer fix")
    replaced = await store.latest_for([SHOP])
    assert replaced[0]["current"]["value"] == pytest.approx(70.0)
    assert replaced[0]["current"]["revision"] == 2


async def test_a_longer_period_ending_at_the_same_time_is_not_newer(store: KpiStore) -> None:
    week = await record_sla(store, 9, 10, start=day(24), days=7)
    await record_sla(store, 5, 10, start=day(0), days=31)  # the month, same end
    [latest] = await store.latest_for([SHOP])
    assert latest["current"]["measurement_id"] == week["_id"]


async def test_views_heal_when_a_writer_died_between_its_writes(store: KpiStore) -> None:
    doc = await record_sla(store, 9, 10)
    await store.latest.delete_many({})
    await store.activity.delete_many({})
    closed = f"http://127.0.0.1:{free_port()}"
    async with OutboxDispatcher(lambda: store, closed) as dispatcher:
        report = await dispatcher.run_once()
    assert report.failed == 1
    [latest] = await store.latest_for([SHOP])
    assert latest["current"]["measurement_id"] == doc["_id"]
    assert await store.activity.count_documents({"_id": SHOP}) == 1


# --- the outbox --------------------------------------------------------------------------------


async def test_an_event_is_claimed_once_retried_later_and_delivered(store: KpiStore) -> None:
    doc = await record_sla(store, 9, 10)
    due = await store.due_events(EventSource.BREACH, now(), 10)
    assert [d["_id"] for d in due] == [doc["_id"]]
    assert "history" not in due[0]
    lease = timedelta(seconds=30)
    claimed = await store.claim(EventSource.BREACH, due[0], now(), lease)
    assert claimed is not None
    assert await store.claim(EventSource.BREACH, due[0], now(), lease) is None  # stale copy
    assert await store.due_events(EventSource.BREACH, now(), 10) == []  # leased

    retry_at = now() + timedelta(seconds=5)
    assert await store.mark_failed(EventSource.BREACH, doc["_id"], claimed, retry_at, "HTTP 500")
    stored = (await store.get_measurement(doc["_id"]))["outbox"]
    assert stored["attempts"] == 1
    assert stored["claim"] is None
    assert stored["last_error"] == "HTTP 500"
    assert stored["next_attempt_at"] == retry_at
    assert await store.due_events(EventSource.BREACH, now(), 10) == []
    [again] = await store.due_events(EventSource.BREACH, retry_at, 10)

    reclaimed = await store.claim(EventSource.BREACH, again, retry_at, lease)
    assert reclaimed is not None
    assert not await store.mark_failed(EventSource.BREACH, doc["_id"], claimed, now(), "stale")
    assert await store.mark_delivered(EventSource.BREACH, doc["_id"], reclaimed, now())
    stored = (await store.get_measurement(doc["_id"]))["outbox"]
    assert stored["state"] == "DELIVERED"
    assert stored["attempts"] == 2
    assert isinstance(stored["delivered_at"], datetime)
    assert await store.due_events(EventSource.BREACH, now() + timedelta(days=1), 10) == []
    assert await store.pending_stats(EventSource.BREACH) == (0, None)


async def test_a_lease_that_runs_out_makes_the_event_due_again(store: KpiStore) -> None:
    doc = await record_sla(store, 9, 10)
    [due] = await store.due_events(EventSource.BREACH, now(), 10)
    dead = await store.claim(EventSource.BREACH, due, now(), timedelta(0))
    assert dead is not None
    [again] = await store.due_events(EventSource.BREACH, now() + timedelta(seconds=1), 10)
    taken = await store.claim(EventSource.BREACH, again, now(), timedelta(seconds=30))
    assert taken is not None
    # The first dispatcher lost its lease: its settlement is refused.
    assert not await store.mark_delivered(EventSource.BREACH, doc["_id"], dead, now())
    assert await store.mark_delivered(EventSource.BREACH, doc["_id"], taken, now())


async def test_a_replaced_delivered_revision_keeps_its_state_in_history(store: KpiStore) -> None:
    doc = await record_sla(store, 9, 10)
    [due] = await store.due_events(EventSource.BREACH, now(), 10)
    claimed = await store.claim(EventSource.BREACH, due, now(), timedelta(seconds=30))
    assert claimed is not None
    await store.mark_delivered(EventSource.BREACH, doc["_id"], claimed, now())
    await record_sla(store, 8, 10, replace=True, reason="fix")
    stored = await store.get_measurement(doc["_id"])
    assert stored["history"][0]["escalation"]["state"] == "DELIVERED"
    assert stored["history"][0]["escalation"]["attempts"] == 1
    count, oldest = await store.pending_stats(EventSource.BREACH)
    assert count == 1
    assert isinstance(oldest, datetime)


async def test_no_data_events_are_enqueued_once_per_scope_and_silence(store: KpiStore) -> None:
    check = datetime(2025, 6, 1, 12, tzinfo=UTC)
    await record_sla(store, 9, 10, start=check - timedelta(days=45))
    await record_sla(store, 9, 10, start=check - timedelta(days=45), shop=OTHER)
    await record_sla(store, 9, 10, start=check - timedelta(days=10), shop=OTHER, days=1)
    await record(
        store,
        domain.CATALOGUE["security_level"],
        "platform",
        (check - timedelta(days=40), check - timedelta(days=39)),
        {"vulnerabilities": 0, "incidents": 0},
        SYSTEM,
    )
    monitor = NoDataMonitor(lambda: store)
    first = await monitor.check_once(check)
    shop_event = f"no-data:{SHOP}:2025-04-24T12:00:00Z"
    assert sorted(first) == [shop_event, "no-data:platform:2025-04-23T12:00:00Z"]
    assert await monitor.check_once(check + timedelta(hours=3)) == []
    assert await monitor.check_once(check + timedelta(days=1)) == []  # the same silences
    event = await store.outbox_events.find_one({"_id": shop_event})
    assert event is not None
    assert event["path"] == "/escalations/no-data"
    assert event["payload"] == {
        "eventId": shop_event,
        "shopId": SHOP,
        "lastMeasurementAt": "2025-04-24T12:00:00Z",
    }
    assert event["outbox"]["state"] == "PENDING"
    due = await store.due_events(EventSource.NO_DATA, now(), 10)
    assert len(due) == 2


# --- custom KPIs and targets ---------------------------------------------------------------------


def conversion_per_visit() -> domain.KpiDefinition:
    return define_custom_kpi(
        code="orders_per_visit",
        name="orders per visit",
        level=domain.KpiLevel.CUSTOMER,
        unit="ratio",
        direction=domain.Direction.UP,
        formula="(orders + 0) / visits",
        input_kinds={"orders": domain.InputKind.COUNT, "visits": domain.InputKind.COUNT},
        default_target=domain.Target(domain.Comparator.GTE, 0.02),
        parts=[("orders", "visits")],
    )


async def test_custom_kpis_round_trip_and_cannot_be_deleted_with_data(store: KpiStore) -> None:
    definition = conversion_per_visit()
    await store.create_custom(definition)
    with pytest.raises(Conflict):
        await store.create_custom(definition)
    loaded = await store.definition("orders_per_visit")
    assert loaded == definition
    found = await store.definitions(["orders_per_visit", "sla_compliance", "nope"])
    assert sorted(found) == ["orders_per_visit", "sla_compliance"]
    with pytest.raises(NotFound) as missing:
        await store.definition("nope")
    assert missing.value.field == "kpiCode"

    await store.put_target(SHOP, "orders_per_visit", domain.Target(domain.Comparator.GTE, 1), None)
    await record(store, loaded, SHOP, (JAN, day(1)), {"orders": 1, "visits": 10})
    with pytest.raises(Conflict):
        await store.delete_custom("orders_per_visit")
    with pytest.raises(Conflict):
        await store.delete_custom("sla_compliance")
    await store.measurements.delete_many({})
    await store.delete_custom("orders_per_visit")
    assert await store.targets.count_documents({}) == 0
    with pytest.raises(NotFound):
        await store.delete_custom("orders_per_visit")


async def test_targets_are_set_replaced_listed_and_deleted(store: KpiStore) -> None:
    target = domain.Target(domain.Comparator.GTE, 95)
    await store.put_target(SHOP, "sla_compliance", target, (JAN, day(31)))
    stored = await store.get_target(SHOP, "sla_compliance")
    assert stored["target"]["period_start"] == JAN  # a date inside a $set subdocument
    assert isinstance(stored["target"]["updated_at"], datetime)
    await store.put_target(SHOP, "sla_compliance", domain.Target(domain.Comparator.GT, 99), None)
    await store.put_target(SHOP, "churn_rate", domain.Target(domain.Comparator.LTE, 5), None)
    await store.put_target(OTHER, "churn_rate", domain.Target(domain.Comparator.LTE, 5), None)
    page, total = await store.list_targets(SHOP, 10, 0)
    assert total == 2
    assert [d["kpi_code"] for d in page] == ["churn_rate", "sla_compliance"]
    assert page[1]["target"]["comparator"] == "GT"
    assert page[1]["target"]["period_start"] is None
    assert len(await store.targets_for([SHOP, OTHER])) == 3
    await store.delete_target(SHOP, "churn_rate")
    with pytest.raises(NotFound):
        await store.get_target(SHOP, "churn_rate")
    with pytest.raises(NotFound):
        await store.delete_target(SHOP, "churn_rate")


# --- the platform's own KPIs ---------------------------------------------------------------------


class Snapshots:
    """A metrics reader over hand-made snapshots, read in order."""

    def __init__(self, snapshots: list[HistogramSnapshot]) -> None:
        self._snapshots: Iterator[HistogramSnapshot] = iter(snapshots)

    async def read(self) -> HistogramSnapshot:
        return next(self._snapshots)


def snapshot(series: Mapping[str, tuple[float, float, float]]) -> HistogramSnapshot:
    """Series by status code: (count, sum, count in the 0.5 s bucket)."""
    return HistogramSnapshot(
        {
            (("http_response_status_code", status), ("http_route", "/x")): SeriesCounts(
                count, seconds, {0.25: 0.0, 0.5: within, float("inf"): count}
            )
            for status, (count, seconds, within) in series.items()
        }
    )


async def test_platform_kpis_are_recorded_as_system_measurements(store: KpiStore) -> None:
    before = snapshot({"200": (100, 10.0, 95), "503": (0, 0.0, 0)})
    after = snapshot({"200": (290, 40.0, 270), "503": (10, 5.0, 10)})
    recorder = PlatformRecorder(
        lambda: store, Snapshots([before, after, after]), 0.5, interval=60, window=60
    )
    t0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
    assert await recorder.tick(t0) == []  # no snapshot a window ago yet
    docs = await recorder.tick(t0 + timedelta(minutes=1))
    by_code = {d["kpi_code"]: d for d in docs}
    assert sorted(by_code) == sorted(["system_response_time", "sla_compliance", "process_errors"])
    for doc in docs:
        stored = await store.get_measurement(doc["_id"])
        assert stored["shop_id"] == "platform"
        assert stored["current"]["source"] == "SYSTEM"
        assert stored["period_start"] == t0
        assert stored["period_end"] == t0 + timedelta(minutes=1)
        assert stored["outbox"]["state"] == "PENDING"
    assert by_code["system_response_time"]["current"]["inputs"] == {
        "total_response_seconds": 35.0,
        "requests": 200,
    }
    assert by_code["system_response_time"]["current"]["value"] == pytest.approx(0.175)
    assert by_code["sla_compliance"]["current"]["inputs"] == {"within_sla": 175, "total": 200}
    assert by_code["sla_compliance"]["current"]["value"] == pytest.approx(87.5)
    assert by_code["process_errors"]["current"]["value"] == pytest.approx(50.0)
    # No traffic in the next window: nothing is recorded (zero denominators).
    assert await recorder.tick(t0 + timedelta(minutes=2)) == []
    assert await store.measurements.count_documents({"shop_id": "platform"}) == 3


async def test_after_a_stall_the_next_period_counts_the_requests_since_the_last_snapshot(
    store: KpiStore,
) -> None:
    recorder = PlatformRecorder(
        lambda: store,
        Snapshots([snapshot({"200": (100, 10.0, 95)}), snapshot({"200": (190, 19.0, 180)})]),
        0.5,
        interval=60,
        window=60,
    )
    t0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
    assert await recorder.tick(t0) == []
    # The loop wakes 10½ minutes late (a stalled host): it starts again on the coming grid time.
    resumed = recorder.next_tick(epoch_ms(t0), epoch_ms(t0 + timedelta(minutes=10, seconds=30)))
    assert from_epoch_ms(resumed) == t0 + timedelta(minutes=11)
    docs = await recorder.tick(from_epoch_ms(resumed))
    sla = {d["kpi_code"]: d for d in docs}["sla_compliance"]
    assert sla["current"]["inputs"] == {"within_sla": 85, "total": 90}  # every request since
    assert (sla["period_start"], sla["period_end"]) == (
        t0 + timedelta(minutes=10),
        t0 + timedelta(minutes=11),
    )


async def test_a_second_replica_records_the_same_period_once(store: KpiStore) -> None:
    t0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
    snaps = [snapshot({"200": (0, 0, 0)}), snapshot({"200": (10, 1.0, 10)})]
    for _ in range(2):
        recorder = PlatformRecorder(lambda: store, Snapshots(list(snaps)), 0.5, 60, 60)
        await recorder.tick(t0)
        await recorder.tick(t0 + timedelta(minutes=1))
    assert await store.measurements.count_documents({"shop_id": "platform"}) == 3


# --- what the store relies on from the server (nx-27017 gaps worked around) ----------------------


async def test_dates_survive_inserts_and_whole_subdocument_sets(store: KpiStore) -> None:
    probe = store.measurements.database["probe_dates"]
    await probe.insert_one({"_id": 1, "at": JAN, "sub": {"at": JAN}})
    await probe.update_one({"_id": 1}, {"$set": {"sub": {"at": day(1)}, "list": [{"at": day(2)}]}})
    doc = await probe.find_one({"_id": 1})
    assert doc is not None
    assert doc["at"] == JAN
    assert doc["sub"]["at"] == day(1)
    assert doc["list"][0]["at"] == day(2)
    assert await probe.count_documents({"sub.at": {"$lte": day(1)}}) == 1
    assert await probe.count_documents({"sub.at": {"$lt": day(1)}}) == 0


async def test_guarded_updates_match_only_the_named_document(store: KpiStore) -> None:
    probe = store.measurements.database["probe_guard"]
    for key in "abc":
        await probe.insert_one({"_id": key, "end_ms": 10, "start_ms": 5, "revision": 1})
    newer = [
        {"end_ms": {"$lt": 10}},
        {"end_ms": 10, "start_ms": {"$lt": 5}},
        {"end_ms": 10, "start_ms": 5, "revision": {"$lt": 2}},
    ]
    result = await probe.update_one(
        {"$and": [{"_id": "b"}, {"$or": newer}]}, {"$set": {"revision": 2}}
    )
    assert result.modified_count == 1
    assert [d["revision"] async for d in probe.find({}).sort("_id")] == [1, 2, 1]


async def test_upserts_by_id_and_max(store: KpiStore) -> None:
    probe = store.measurements.database["probe_upsert"]
    await probe.update_one({"_id": "s"}, {"$max": {"ms": epoch_ms(day(1))}}, upsert=True)
    await probe.update_one({"_id": "s"}, {"$max": {"ms": epoch_ms(JAN)}}, upsert=True)
    await probe.update_one({"_id": "t"}, {"$set": {"v": {"at": JAN}}}, upsert=True)
    assert [d async for d in probe.find({}).sort("_id")] == [
        {"_id": "s", "ms": epoch_ms(day(1))},
        {"_id": "t", "v": {"at": JAN}},
    ]


async def test_compare_and_set_on_a_null_subdocument_field(store: KpiStore) -> None:
    probe = store.measurements.database["probe_cas"]
    await probe.insert_one({"_id": 1, "o": {"claim": None, "n": 0}})
    first = await probe.update_one({"_id": 1, "o.claim": None}, {"$set": {"o": {"claim": "x"}}})
    second = await probe.update_one({"_id": 1, "o.claim": None}, {"$set": {"o": {"claim": "y"}}})
    assert (first.modified_count, second.modified_count) == (1, 0)
