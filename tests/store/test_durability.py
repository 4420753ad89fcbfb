"""An acknowledged write survives a crash of the database server (kill -9) and a restart."""

from __future__ import annotations

from pathlib import Path

from pymongo import AsyncMongoClient

from services.runtime.change_feed import ChangeFeed, FeedOptions
from services.runtime.embedded import EmbeddedMongo
from services.runtime.mongo import connect, database
from services.runtime.settings import IntegraSettings
from services.scoring.store import ScoreStore


async def test_acknowledged_writes_survive_a_server_crash(tmp_path: Path) -> None:
    server = EmbeddedMongo(tmp_path / "db").start()
    try:
        settings = IntegraSettings(mongodb_uri=server.uri, db_prefix="durable")
        client = connect(settings, "scoring")
        db = database(client, settings, "scoring")
        store = ScoreStore(db, ChangeFeed(db, "scoring", FeedOptions()))
        await store.feed.prepare()
        await store.prepare()
        ids = [(await store.create_shop(f"shop {i}", None, None))["_id"] for i in range(20)]
        await client.close()
        server.kill()

        restarted = EmbeddedMongo(tmp_path / "db", port=server.port).start()
        check: AsyncMongoClient[dict[str, object]] = connect(settings, "scoring")
        try:
            shops = database(check, settings, "scoring")["shops"]
            stored = {d["_id"] async for d in shops.find({}, {"_id": 1})}
            assert stored == set(ids)
        finally:
            await check.close()
            restarted.stop()
    finally:
        server.stop()
