"""Work per GraphQL operation, read from the stack's Prometheus metrics before and after a
counted number of query operations: read commands only (queries write nothing), minus the
background reads of an idle period of the same length (such as the KPI outbox's polling)."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import httpx

SERVICE_CALLS = "gateway_service_calls_total"
MONGO_COMMANDS = "db_client_operation_duration_seconds_count"
OPERATIONS = "graphql_operations_total"
GATEWAY_MONGO = "mongodb commands of the gateway"
_NAMES = (SERVICE_CALLS, MONGO_COMMANDS, OPERATIONS, GATEWAY_MONGO)
# The counted operations are queries, which write nothing: writes seen meanwhile are background
# work (the KPI platform recorder, the breach outbox, an API key's last-use stamp).
_LABEL = re.compile(r'(\w+)="([^"]*)"')
_WRITES = ("insert", "update", "delete", "findAndModify", "bulkWrite")


def counters(text: str) -> dict[str, float]:
    """The sums over all labels of the counted metrics in a Prometheus exposition, and the
    gateway's own MongoDB commands (API keys, persisted queries) apart."""
    sums = dict.fromkeys(_NAMES, 0.0)
    for line in text.splitlines():
        name = line.split("{", 1)[0].split(" ", 1)[0]
        if name in sums:
            if name == MONGO_COMMANDS and any(f'db_operation_name="{w}"' in line for w in _WRITES):
                continue
            value = float(line.rsplit(" ", 1)[1])
            sums[name] += value
            if name == MONGO_COMMANDS:
                labels = dict(_LABEL.findall(line))
                key = f"{labels.get('service')}.{labels.get('db_operation_name')}"
                sums[key] = sums.get(key, 0.0) + value
                if labels.get("service") == "gateway":
                    sums[GATEWAY_MONGO] += value
    return sums


async def scrape(urls: Sequence[str]) -> dict[str, float]:
    """The counted metrics summed over every process of a stack (``/metrics`` URLs)."""
    total = dict.fromkeys(_NAMES, 0.0)
    async with httpx.AsyncClient(timeout=10) as client:
        for url in urls:
            for name, value in counters((await client.get(url)).text).items():
                total[name] = total.get(name, 0.0) + value
    return total


@dataclass(frozen=True)
class PerOperation:
    """Service calls and MongoDB commands per GraphQL operation."""

    service_calls: float
    mongo_commands: float
    gateway_mongo_commands: float
    operations: int
    by_command: dict[str, float]


async def per_operation(
    metrics_urls: Sequence[str], operation: Callable[[], Awaitable[object]], count: int
) -> PerOperation:
    """Run ``operation`` ``count`` times one after another and divide what the counters grew
    by the operations they counted; background growth over the same time is subtracted."""
    quiet_start = await scrape(metrics_urls)
    started = time.perf_counter()
    await asyncio.sleep(3.0)
    quiet = await scrape(metrics_urls)
    background = {
        k: (quiet[k] - quiet_start.get(k, 0.0)) / (time.perf_counter() - started) for k in quiet
    }
    begin = time.perf_counter()
    for _ in range(count):
        await operation()
    after = await scrape(metrics_urls)
    elapsed = time.perf_counter() - begin
    grown = {k: after[k] - quiet.get(k, 0.0) - background.get(k, 0.0) * elapsed for k in after}
    operations = round(grown[OPERATIONS])
    divisor = operations or count
    return PerOperation(
        service_calls=max(0.0, grown[SERVICE_CALLS]) / divisor,
        mongo_commands=max(0.0, grown[MONGO_COMMANDS]) / divisor,
        gateway_mongo_commands=max(0.0, grown[GATEWAY_MONGO]) / divisor,
        operations=operations,
        by_command={
            k: round(v / divisor, 2)
            for k, v in sorted(grown.items())
            if k not in _NAMES and round(v / divisor, 1) > 0
        },
    )
