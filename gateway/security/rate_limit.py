"""Per-client rate limit: a token bucket per client id, kept in this process.

Each gateway replica limits on its own, so N replicas behind a load balancer allow up to N
times the configured rate in total.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable

MAX_TRACKED_CLIENTS = 10_000
"""Buckets kept at most; the least recently seen client's bucket is dropped first."""


class RateLimiter:
    """``per_minute`` requests per client and minute, with bursts up to ``per_minute``."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.capacity = float(per_minute)
        self.refill_per_second = per_minute / 60.0
        self.clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    @property
    def enabled(self) -> bool:
        """A rate of 0 switches the limit off."""
        return self.capacity > 0

    def acquire(self, client_id: str) -> int | None:
        """Take one token for ``client_id``: ``None`` if allowed, else seconds to wait."""
        if not self.enabled:
            return None
        now = self.clock()
        tokens, last = self._buckets.pop(client_id, (self.capacity, now))
        tokens = min(self.capacity, tokens + (now - last) * self.refill_per_second)
        allowed = tokens >= 1.0
        if allowed:
            tokens -= 1.0
        self._buckets[client_id] = (tokens, now)
        while len(self._buckets) > MAX_TRACKED_CLIENTS:
            self._buckets.popitem(last=False)
        if allowed:
            return None
        return max(1, math.ceil((1.0 - tokens) / self.refill_per_second))
