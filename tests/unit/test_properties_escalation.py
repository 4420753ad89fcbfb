"""Escalation idempotency as a property (issue 14): whatever the order of deliveries,
redeliveries and replacements (revisions) of measurements, each breach escalates at most once.

The decision is pure (:mod:`services.risk.escalation`); this test plays the store's part with a
dict of claims (first claimant wins, as the unique ``_id`` of ``breach_claims`` decides) and a
set of applied event ids (as ``applied_events`` does).
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from services.risk import domain, escalation

SHOP = "a" * 24
RULES = [r for r in domain.DEFAULT_RULES if r.kpi_code == "sla_compliance"]
AT = datetime(2026, 11, 2, tzinfo=UTC)

# A delivery: (measurement, revision, value); values below 95 breach the default rules.
deliveries = st.lists(
    st.tuples(st.integers(0, 2), st.integers(1, 3), st.sampled_from([50.0, 80.0, 94.9, 99.0])),
    max_size=30,
)


def event_id(measurement: int, revision: int) -> str:
    base = f"m{measurement}"
    return base if revision == 1 else f"{base}:{revision}"


@settings(max_examples=200, deadline=None)
@given(deliveries)
def test_each_breach_escalates_at_most_once(sequence: list[tuple[int, int, float]]) -> None:
    claims: dict[str, str] = {}
    applied_events: set[str] = set()
    applications: Counter[str] = Counter()
    values: dict[str, float] = {}
    for measurement, revision, value in sequence:
        ident = event_id(measurement, revision)
        value = values.setdefault(ident, value)  # a redelivery carries the same value
        if ident in applied_events:
            continue
        measurement_id = escalation.measurement_of(ident)
        plan = escalation.kpi_plan(RULES, SHOP, measurement_id, "sla_compliance", value, AT)
        for item in plan:
            claims.setdefault(item.breach_key(ident), ident)
        for item in escalation.items_to_apply(plan, claims, ident):
            applications[item.breach_key(ident)] += 1
        applied_events.add(ident)
    assert all(count == 1 for count in applications.values()), applications
    categories = {r.category for r in RULES}
    assert len(applications) <= 3 * len(categories)  # one per measurement and category


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 3), min_size=1, max_size=20))
def test_daily_reports_of_one_silence_escalate_once(silences: list[int]) -> None:
    """Reports of silences (by where each began) escalate once per silence."""
    claims: dict[str, str] = {}
    escalated: Counter[str] = Counter()
    for day, silence in enumerate(silences):
        start = datetime(2026, 8, 1 + silence, tzinfo=UTC)
        ident = f"no-data:{SHOP}:{day}"
        plan = escalation.no_data_plan(SHOP, start, None, datetime(2026, 10, 1, tzinfo=UTC))
        for item in plan:
            claims.setdefault(item.breach_key(ident), ident)
        for item in escalation.items_to_apply(plan, claims, ident):
            escalated[item.breach_key(ident)] += 1
    assert len(escalated) == len(set(silences))
    assert set(escalated.values()) == {1}
