"""The change feed against a real server: order, the two steps, a dead writer, expiry."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from services.runtime.change_feed import (
    ChangeFeed,
    ChangeKind,
    CursorExpired,
    FeedOptions,
    Location,
)
from services.runtime.errors import NotFound
from services.runtime.mongo import connect, database
from services.runtime.records import Document, new_id
from services.runtime.settings import IntegraSettings


@pytest.fixture
async def db(settings: IntegraSettings) -> AsyncIterator[AsyncDatabase[Document]]:
    client = connect(settings, "feedtest")
    try:
        yield database(client, settings, "feedtest")
    finally:
        await client.close()


async def feed_of(db: AsyncDatabase[Document], **options: float) -> ChangeFeed:
    feed = ChangeFeed(db, "feedtest", FeedOptions(**options))  # type: ignore[arg-type]
    await feed.prepare()
    return feed


async def write(feed: ChangeFeed, db: AsyncDatabase[Document], shop_id: str = "s1") -> str:
    """Insert a thing inside a recording, as a use case does."""
    ident = new_id()
    location = Location("things", {"_id": ident})
    async with feed.recording("thing", ident, ChangeKind.CREATED, location) as change:
        doc = {"_id": ident, "shop_id": shop_id, "version": 1}
        await db["things"].insert_one(doc)
        change.written(doc)
    return ident


async def test_committed_writes_are_read_in_order_with_who_wrote_them(
    db: AsyncDatabase[Document],
) -> None:
    feed = await feed_of(db)
    ids = [await write(feed, db, f"s{i}") for i in range(3)]
    items, cursor = await feed.read(None, 10)
    assert [d["entity_id"] for d in items] == ids
    assert [d["shop_id"] for d in items] == ["s0", "s1", "s2"]
    assert {d["actor"]["name"] for d in items} == {"store-test"}
    assert cursor == items[-1]["_id"]
    later = await write(feed, db)
    items, next_cursor = await feed.read(cursor, 10)
    assert [d["entity_id"] for d in items] == [later]
    assert next_cursor == cursor + 1


async def test_a_write_that_failed_on_a_rule_leaves_no_change(db: AsyncDatabase[Document]) -> None:
    feed = await feed_of(db)
    with pytest.raises(NotFound):
        async with feed.recording("thing", "x", ChangeKind.CHANGED, Location("things", {})):
            raise NotFound("thing", "x")
    assert await db["changes"].count_documents({}) == 0  # the refused write left nothing
    kept = await write(feed, db)
    items, cursor = await feed.read(None, 10)
    assert [d["entity_id"] for d in items] == [kept]
    assert cursor == await feed.latest() == 1


async def test_a_write_refused_by_a_unique_index_leaves_no_change(
    db: AsyncDatabase[Document],
) -> None:
    feed = await feed_of(db)
    taken = await write(feed, db)
    location = Location("things", {"_id": taken})
    with pytest.raises(DuplicateKeyError):  # an id collision, as concurrent escalations meet
        async with feed.recording("thing", taken, ChangeKind.CREATED, location):
            await db["things"].insert_one({"_id": taken})
    assert await db["changes"].count_documents({}) == 1  # nothing pending holds readers up
    assert [d["entity_id"] for d in (await feed.read(None, 10))[0]] == [taken]


async def test_concurrent_writers_number_their_changes_densely(
    db: AsyncDatabase[Document],
) -> None:
    feed = await feed_of(db)
    ids = await asyncio.gather(*(write(feed, db) for _ in range(12)))
    items, _ = await feed.read(None, 100)
    assert sorted(d["entity_id"] for d in items) == sorted(ids)
    assert [d["_id"] for d in items] == list(range(1, 13))


async def test_a_write_in_flight_holds_readers_back_until_it_commits(
    db: AsyncDatabase[Document],
) -> None:
    feed = await feed_of(db)
    first = await write(feed, db)
    release = asyncio.Event()

    async def slow_write() -> None:
        async with feed.recording("thing", "slow", ChangeKind.CHANGED, Location("things", {})):
            await release.wait()

    task = asyncio.create_task(slow_write())
    await asyncio.sleep(0.05)
    after_it = await write(feed, db)
    items, cursor = await feed.read(None, 10)
    assert [d["entity_id"] for d in items] == [first]  # not after_it: the slow one comes first
    assert await feed.start() == cursor  # "from now on" still sees the write in flight
    release.set()
    await task
    items, _ = await feed.read(cursor, 10)
    assert [d["entity_id"] for d in items] == ["slow", after_it]


async def die_while_writing(feed: ChangeFeed, db: AsyncDatabase[Document], write: bool) -> str:
    """A writer that dies (an exception the feed cannot judge) after its write, or before."""
    ident = new_id()
    location = Location("things", {"_id": ident})
    try:
        async with feed.recording("thing", ident, ChangeKind.CREATED, location):
            if write:
                await db["things"].insert_one({"_id": ident, "shop_id": "s9", "version": 3})
            raise RuntimeError("killed")
    except RuntimeError:
        return ident
    raise AssertionError("the writer did not die")


async def test_a_dead_writer_holds_the_feed_up_briefly_and_its_write_is_recovered(
    db: AsyncDatabase[Document],
) -> None:
    feed = await feed_of(db, block_after_ms=200, resolve_after_ms=0)
    written = await die_while_writing(feed, db, write=True)
    await die_while_writing(feed, db, write=False)
    kept = await write(feed, db)
    assert (await feed.read(None, 10)) == ([], 0)  # held up by the first, in flight
    await asyncio.sleep(0.25)
    assert [d["entity_id"] for d in (await feed.read(None, 10))[0]] == [kept]
    await feed.sweep()
    items, _ = await feed.read(3, 10)
    assert [(d["entity_id"], d["shop_id"], d["version"]) for d in items] == [(written, "s9", 3)]
    assert items[0]["origin"] == 1


async def test_a_writer_that_commits_late_appends_its_change_again(
    db: AsyncDatabase[Document],
) -> None:
    feed = await feed_of(db, block_after_ms=0)  # every commit is late
    ident = await write(feed, db)
    items, cursor = await feed.read(None, 10)
    assert [(d["entity_id"], d["origin"]) for d in items] == [(ident, 1)]
    assert cursor == 2


async def test_an_expired_or_unknown_cursor_is_refused(db: AsyncDatabase[Document]) -> None:
    feed = await feed_of(db, retention_ms=0)
    for _ in range(3):
        await write(feed, db)
    await asyncio.sleep(0.01)
    await feed.sweep()
    assert await db["changes"].count_documents({}) == 1  # the newest keeps the numbering
    with pytest.raises(CursorExpired):
        await feed.read(1, 10)
    assert await feed.read(2, 10) == ([await db["changes"].find_one({"_id": 3})], 3)
    with pytest.raises(CursorExpired):
        await feed.read(9, 10)


async def test_a_long_poll_answers_as_soon_as_a_change_is_written(
    db: AsyncDatabase[Document],
) -> None:
    feed = await feed_of(db)
    waiting = asyncio.create_task(feed.wait(0, 10, 10))
    await asyncio.sleep(0.1)
    assert not waiting.done()
    ident = await write(feed, db)
    items, _ = await asyncio.wait_for(waiting, 2)
    assert [d["entity_id"] for d in items] == [ident]
