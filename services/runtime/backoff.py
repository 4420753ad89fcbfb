"""Capped exponential backoff with jitter: the wait between attempts of anything retried (the
kpi outbox's deliveries, the gateway's reads), so that callers that failed together spread out."""

from __future__ import annotations


def backoff_delay(attempts: int, base: float, cap: float, jitter: float, rand: float) -> float:
    """Seconds to wait after the ``attempts``-th failed attempt (1 = the first failure).

    ``base · 2^(attempts-1)``, capped at ``cap``, then shortened by up to the fraction
    ``jitter`` at random (``rand`` in [0, 1)); ``jitter`` 1 is "full jitter". The result never
    exceeds ``cap``.
    """
    raw = min(cap, base * 2.0 ** min(max(attempts - 1, 0), 62))
    return raw * (1.0 - jitter * rand)
