"""Ranking latency as the number of shops grows: shops with a current score are bulk-inserted
into the scoring database in the store's document shape (services/scoring/store.py), and the
``ranking`` query is timed through the gateway after each size is reached."""

from __future__ import annotations

import random
import statistics
import time
from datetime import UTC, datetime
from typing import Any

import httpx
from bson import ObjectId
from pymongo import MongoClient

from bench.graphql import RANKING_QUERY, request_body
from services.scoring import domain
from services.scoring.store import RANKED_COUNTER, ranking_key

_BATCH = 1000


def _shop_document(index: int, rng: random.Random, at: datetime) -> dict[str, Any]:
    """A shop as ScoreStore keeps it, with ``current`` and ``rank_key`` as ``_make_current``
    writes them."""
    criteria = {c.value: float(rng.randint(0, 100)) for c in domain.Criterion}
    criteria["E"] = float(rng.randint(0, 20))
    sh = round(rng.uniform(0, 100), 6)
    name = f"Ranked Shop {index:06d}"
    shop_id = str(ObjectId())
    return {
        "_id": shop_id,
        "name": name,
        "name_key": name.casefold(),
        "url": None,
        "segment": "bench",
        "created_at": at,
        "updated_at": at,
        "current": {
            "assessment_id": str(ObjectId()),
            "sh": sh,
            "band": domain.band_of(sh).value,
            "criteria": criteria,
            "at": at,
        },
        "rank_key": ranking_key(sh, shop_id),
        "version": 2,
    }


def grow_shops(mongo_uri: str, database: str, have: int, want: int) -> float:
    """Insert shops ``have .. want-1``; answer the seconds it took."""
    rng = random.Random(want)
    at = datetime.now(UTC).replace(microsecond=0)
    started = time.perf_counter()
    client: MongoClient[dict[str, Any]] = MongoClient(mongo_uri)
    try:
        shops = client[database]["shops"]
        for first in range(have, want, _BATCH):
            last = min(want, first + _BATCH)
            shops.insert_many(
                [_shop_document(i, rng, at) for i in range(first, last)], ordered=False
            )
        # As ScoreStore counts a shop's first score (the ranking's totalCount reads it).
        client[database]["counters"].update_one(
            {"_id": RANKED_COUNTER}, {"$inc": {"n": want - have}}, upsert=True
        )
    finally:
        client.close()
    return time.perf_counter() - started


def time_ranking(url: str, headers: dict[str, str], runs: int) -> tuple[float, int]:
    """The p50 of ``runs`` ranking queries one after another (ms), and the totalCount seen."""
    body = request_body(RANKING_QUERY)
    timings = []
    total = -1
    with httpx.Client(headers=headers, timeout=120) as client:
        for attempt in range(runs + 1):
            started = time.perf_counter()
            response = client.post(url, content=body)
            elapsed = time.perf_counter() - started
            answer = response.json()
            if response.status_code != 200 or answer.get("errors"):
                raise RuntimeError(f"ranking failed: {answer}")
            total = answer["data"]["ranking"]["totalCount"]
            if attempt:  # the first one warms caches up
                timings.append(elapsed * 1000)
    return statistics.median(timings), total
