"""The ranking's index key: its order is (SH highest first, then id), ties and old documents
included, against a real server (nx-27017, or INTEGRA_TEST_MONGODB_URI)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from services.runtime.settings import IntegraSettings
from services.scoring.app import ScoringService
from services.scoring.store import RANKED_COUNTER, ScoreStore, ranking_key
from tests.store.test_scoring_store import assessment


@pytest.fixture
async def store(settings: IntegraSettings) -> AsyncIterator[ScoreStore]:
    service = ScoringService(settings)
    await service.start()
    try:
        yield service.store
    finally:
        await service.stop()


def test_the_key_orders_like_sh_descending_then_id() -> None:
    values = [100.0, 99.99999999999999, 50.5, 50.5, 1e-300, 0.0, -0.0, -1e-300, -2.5]
    ids = ["b", "a", "c", "a0", "z", "m", "n", "y", "x"]
    pairs = list(zip(values, ids, strict=True))
    by_key = sorted(pairs, key=lambda pair: ranking_key(*pair))
    assert by_key == sorted(pairs, key=lambda pair: (-pair[0], pair[1]))


async def test_ties_are_ranked_by_id_and_pages_do_not_overlap(store: ScoreStore) -> None:
    ids = []
    for index in range(5):
        shop = await store.create_shop(f"Tie {index}", None, None)
        await store.insert_assessment(assessment(shop["_id"], 70.0))
        ids.append(shop["_id"])
    first, total = await store.ranking(limit=3, offset=0)
    second, _ = await store.ranking(limit=3, offset=3)
    assert total == 5
    assert [d["_id"] for d in first + second] == sorted(ids)


async def test_a_new_score_moves_the_shop(store: ScoreStore) -> None:
    low = await store.create_shop("Low", None, None)
    high = await store.create_shop("High", None, None)
    await store.insert_assessment(assessment(low["_id"], 20.0))
    await store.insert_assessment(assessment(high["_id"], 60.0))
    await store.insert_assessment(assessment(low["_id"], 80.0, at_offset_s=1))
    ranked, total = await store.ranking(limit=10, offset=0)
    assert [d["name"] for d in ranked] == ["Low", "High"]
    assert total == 2


async def test_shops_stored_without_a_key_get_one_at_start(
    store: ScoreStore, settings: IntegraSettings
) -> None:
    old = await store.create_shop("Stored before keys", None, None)
    await store.insert_assessment(assessment(old["_id"], 40.0))
    await store.shops.update_one({"_id": old["_id"]}, {"$unset": {"rank_key": ""}})
    assert (await store.ranking(limit=10, offset=0))[1] == 0

    restarted = ScoringService(settings)
    await restarted.start()
    try:
        ranked, total = await restarted.store.ranking(limit=10, offset=0)
    finally:
        await restarted.stop()
    assert [d["name"] for d in ranked] == ["Stored before keys"]
    assert total == 1


async def test_the_count_follows_first_scores_and_deletions(store: ScoreStore) -> None:
    ids = []
    for index in range(4):
        shop = await store.create_shop(f"Counted {index}", None, None)
        await store.insert_assessment(assessment(shop["_id"], 10.0 * index))
        ids.append(shop["_id"])
    await store.insert_assessment(assessment(ids[0], 99.0, at_offset_s=1))  # not a new entry
    await store.create_shop("Unassessed", None, None)
    page, total = await store.ranking(limit=2, offset=0)  # a full page: the count is read
    assert [d["_id"] for d in page] == [ids[0], ids[3]]
    assert total == 4
    await store.remove_shop(ids[1])
    await store.remove_shop((await store.create_shop("Never assessed", None, None))["_id"])
    assert (await store.ranking(limit=2, offset=0))[1] == 3


async def test_a_start_mends_a_count_left_wrong(
    store: ScoreStore, settings: IntegraSettings
) -> None:
    for index in range(3):
        shop = await store.create_shop(f"Mended {index}", None, None)
        await store.insert_assessment(assessment(shop["_id"], 50.0 + index))
    await store.counters.update_one({"_id": RANKED_COUNTER}, {"$set": {"n": 7}})
    assert (await store.ranking(limit=1, offset=0))[1] == 7

    restarted = ScoringService(settings)
    await restarted.start()
    try:
        assert (await restarted.store.ranking(limit=1, offset=0))[1] == 3
    finally:
        await restarted.stop()
