"""Open-loop load at a fixed rate for the write target (wrk has no rate control; wrk2 is not
in Debian): request ``i`` is due at ``start + i / rate`` whatever the answers before it, and
its latency counts from when it was due, so a stalled server shows in p99 (no coordinated
omission)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import httpx

from bench.wrk import LoadResult


async def run_steady(
    url: str,
    headers: dict[str, str],
    body_of: Callable[[int], bytes],
    rate: float,
    seconds: float,
    connections: int,
) -> LoadResult:
    """Send ``rate`` requests per second for ``seconds`` over at most ``connections``."""
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    latencies: list[float] = []
    errors = 0
    async with httpx.AsyncClient(headers=headers, timeout=10, limits=limits) as client:

        async def one(index: int, due: float) -> None:
            nonlocal errors
            try:
                response = await client.post(url, content=body_of(index))
                if response.status_code // 100 != 2 or b'"errors"' in response.content:
                    errors += 1
            except httpx.HTTPError:
                errors += 1
            latencies.append(time.perf_counter() - due)

        start = time.perf_counter()
        total = int(rate * seconds)
        tasks = []
        for index in range(total):
            due = start + index / rate
            pause = due - time.perf_counter()
            if pause > 0:
                await asyncio.sleep(pause)
            tasks.append(asyncio.create_task(one(index, due)))
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - start
    latencies.sort()
    return LoadResult(
        requests=len(latencies),
        seconds=elapsed,
        errors=errors,
        p50_ms=_percentile(latencies, 0.50) * 1000,
        p99_ms=_percentile(latencies, 0.99) * 1000,
    )


def _percentile(ordered: list[float], fraction: float) -> float:
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]
