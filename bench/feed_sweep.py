"""``python -m bench.feed_sweep [--changes N]``: what one change-feed sweep costs on nx-27017.

Every replica sweeps each service's feed every second (:meth:`ChangeFeed.sweep`): the
stale pending changes, then what is past retention. This fills a feed with ``N`` committed
changes in an embedded nx-27017 and prints the median wall time of ten sweeps and of ten
reads of the last page, in milliseconds.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from pymongo import AsyncMongoClient

from services.runtime.change_feed import ChangeFeed, FeedOptions
from services.runtime.embedded import EmbeddedMongo
from services.runtime.records import Document, now_ms


def _committed(seq: int, at_ms: int) -> Document:
    return {
        "_id": seq,
        "seq": seq,
        "state": "COMMITTED",
        "at_ms": at_ms,
        "kind": "CHANGED",
        "entity": "shop",
        "entity_id": str(seq),
        "shop_id": None,
        "version": 1,
    }


async def _median_ms(action: Callable[[], Awaitable[object]]) -> float:
    times = []
    for _ in range(10):
        started = time.perf_counter()
        await action()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


async def measure(changes: int) -> dict[str, float]:
    """Median milliseconds of a sweep and of a read over ``changes`` retained changes."""
    server = EmbeddedMongo(Path(tempfile.mkdtemp(prefix="feed-sweep-"))).start()
    client: AsyncMongoClient[Document] = AsyncMongoClient(server.uri, tz_aware=True)
    try:
        feed = ChangeFeed(client["bench"], "bench", FeedOptions())
        await feed.prepare()
        at = now_ms()
        for start in range(1, changes + 1, 1000):
            batch = range(start, min(start + 1000, changes + 1))
            await feed.changes.insert_many([_committed(n, at + n) for n in batch])
        return {
            "sweep": await _median_ms(feed.sweep),
            "read last page": await _median_ms(lambda: feed.read(max(changes - 100, 0), 100)),
        }
    finally:
        await client.close()
        server.stop()


def main() -> None:
    """Print the figures."""
    parser = argparse.ArgumentParser(prog="python -m bench.feed_sweep", description=__doc__)
    parser.add_argument("--changes", type=int, default=20_000)
    args = parser.parse_args()
    for name, ms in asyncio.run(measure(args.changes)).items():
        print(f"{name}: {ms:.2f} ms over {args.changes} changes")


if __name__ == "__main__":
    main()
