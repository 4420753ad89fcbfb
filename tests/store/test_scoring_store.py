"""ScoreStore against a real server (nx-27017, or INTEGRA_TEST_MONGODB_URI) via the driver."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from pymongo.errors import DuplicateKeyError

from services.runtime.errors import Conflict, NotFound
from services.runtime.records import new_id, now
from services.runtime.settings import IntegraSettings
from services.scoring.app import ScoringService
from services.scoring.store import ScoreStore


@pytest.fixture
async def store(settings: IntegraSettings) -> AsyncIterator[ScoreStore]:
    service = ScoringService(settings)
    await service.start()
    assert service.prepared.is_set()
    try:
        yield service.store
    finally:
        await service.stop()


def assessment(shop_id: str, sh: float, at_offset_s: float = 0) -> dict[str, Any]:
    criteria = dict.fromkeys("UIRCTLSM", sh) | {"E": 0.0}
    return {
        "_id": new_id(),
        "shop_id": shop_id,
        "assessor": "t",
        "note": None,
        "profile": {"name": "sherdani-default", "weights": {}},
        "criteria": criteria,
        "derived": [],
        "components": {},
        "sh": sh,
        "band": "GOOD",
        "created_at": now() + timedelta(seconds=at_offset_s),
    }


async def test_names_are_unique_ignoring_case(store: ScoreStore) -> None:
    await store.create_shop("Straße Shop", None, None)
    with pytest.raises(Conflict):
        await store.create_shop("STRASSE shop", None, None)
    other = await store.create_shop("Other", None, None)
    with pytest.raises(Conflict):
        await store.update_shop(other["_id"], {"name": "straße SHOP"})
    assert (await store.get_shop(other["_id"]))["name"] == "Other"


async def test_current_score_is_the_newest_even_when_an_older_arrives_late(
    store: ScoreStore,
) -> None:
    shop = await store.create_shop("Timely", None, None)
    other = await store.create_shop("Bystander", None, None)
    newer = assessment(shop["_id"], 80, at_offset_s=10)
    older = assessment(shop["_id"], 20, at_offset_s=0)
    await store.insert_assessment(newer)
    await store.insert_assessment(older)
    current = await store.current_assessments([shop["_id"], other["_id"]])
    assert [a["_id"] for a in current] == [newer["_id"]]
    assert (await store.get_shop(other["_id"]))["current"] is None


async def test_ranking_and_batches_keep_order(store: ScoreStore) -> None:
    ids = []
    for name, sh in (("a", 10.0), ("b", 90.0), ("c", 50.0)):
        shop = await store.create_shop(name, None, None)
        await store.insert_assessment(assessment(shop["_id"], sh))
        ids.append(shop["_id"])
    await store.create_shop("unassessed", None, None)
    ranked, total = await store.ranking(limit=10, offset=0)
    assert [d["name"] for d in ranked] == ["b", "c", "a"]
    assert total == 3
    missing = "0" * 24
    batch = await store.shops_by_ids([ids[2], missing, ids[0]])
    assert [d["_id"] for d in batch] == [ids[2], ids[0]]
    page, count = await store.list_shops("SH", descending=True, limit=2, offset=0)
    assert [d["name"] for d in page] == ["b", "c"]
    assert count == 4


async def test_remove_deletes_the_shop_and_its_history_idempotently(store: ScoreStore) -> None:
    shop = await store.create_shop("Doomed", None, None)
    record = assessment(shop["_id"], 50)
    await store.insert_assessment(record)
    await store.remove_shop(shop["_id"])
    with pytest.raises(NotFound):
        await store.get_shop(shop["_id"])
    with pytest.raises(NotFound):
        await store.get_assessment(record["_id"])
    # The deletion dispatcher repeats it to heal a crash: a second removal changes nothing.
    await store.remove_shop(shop["_id"])


async def test_prepare_is_idempotent(store: ScoreStore) -> None:
    await store.prepare()
    await store.prepare()
    profiles = await store.list_profiles()
    assert [p["_id"] for p in profiles] == ["sherdani-default"]


# --- what the stores rely on from the server (nx-27017 gaps worked around) -------------------


async def test_and_of_or_matches_only_the_named_document(store: ScoreStore) -> None:
    """A top-level $or beside _id matched another document on nx-27017; $and does not."""
    collection = store.shops.database["probe"]
    for key in "abc":
        await collection.insert_one({"_id": key, "v": None})
    for key in "abc":
        await collection.update_one(
            {"$and": [{"_id": key}, {"$or": [{"v": None}, {"v": {"$lte": 0}}]}]},
            {"$set": {"v": key}},
        )
    assert [d["v"] async for d in collection.find({}).sort("_id")] == ["a", "b", "c"]


async def test_update_one_reports_unique_violations(store: ScoreStore) -> None:
    """findAndModify hid this on nx-27017, so updates that may collide use update_one."""
    collection = store.shops.database["probe_unique"]
    await collection.create_index("k", unique=True)
    await collection.insert_one({"_id": "a", "k": 1})
    await collection.insert_one({"_id": "b", "k": 2})
    with pytest.raises(DuplicateKeyError):
        await collection.update_one({"_id": "b"}, {"$set": {"k": 1}})
    assert (await collection.find_one({"_id": "b"}) or {})["k"] == 2


async def test_operator_shaped_strings_are_values(store: ScoreStore) -> None:
    await store.create_shop("$where", None, "{'$gt': ''}")
    found = await store.shops.find_one({"name": "$where"})
    assert found is not None
    assert found["segment"] == "{'$gt': ''}"


async def test_update_keeps_dates_as_dates_and_the_current_score(store: ScoreStore) -> None:
    """$set of a bare date stored a string on nx-27017; updates must keep real dates."""
    shop = await store.create_shop("Dated", None, None)
    record = assessment(shop["_id"], 70)
    await store.insert_assessment(record)
    updated = await store.update_shop(shop["_id"], {"segment": "B2B"})
    stored = await store.get_shop(shop["_id"])
    assert isinstance(stored["updated_at"], datetime)
    assert stored["updated_at"] >= stored["created_at"]
    assert stored["segment"] == "B2B"
    assert stored["current"]["assessment_id"] == record["_id"]
    assert updated["version"] == stored["version"]
    page, _ = await store.list_shops("UPDATED_AT", descending=True, limit=5, offset=0)
    assert [d["_id"] for d in page] == [shop["_id"]]
