"""Escalation idempotency as a property (domain.md §3.5): any sequence of deliveries,
redeliveries and replacements (revisions) of measurements applies each breach at most once.

The model below is what the risk store does around the pure decisions of
:mod:`services.risk.escalation`: an event id is judged once (redeliveries answer its first
outcome), and an item applies only if its breach is unclaimed or claimed by this event.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from services.risk import escalation, monitoring
from services.risk.escalation import EscalationItem

SHOP = "a" * 24
AT = datetime(2026, 11, 1, tzinfo=UTC)
RULES = [*monitoring.DEFAULT_RULES]


@dataclass
class Ledger:
    """The risk service's bookkeeping of events and breach claims, in memory."""

    judged: set[str] = field(default_factory=set)
    claims: dict[str, str] = field(default_factory=dict)
    applied: list[tuple[str, EscalationItem]] = field(default_factory=list)

    def deliver(self, event_id: str, plan: list[EscalationItem]) -> list[EscalationItem]:
        if event_id in self.judged:
            return []
        self.judged.add(event_id)
        for item in plan:
            key = item.breach_key(event_id)
            self.claims[key] = escalation.claimant(self.claims, key, event_id)
        applied = escalation.items_to_apply(plan, self.claims, event_id)
        self.applied += [(event_id, item) for item in applied]
        return applied


values = st.sampled_from([80.0, 94.9, 95.0, 99.0])
kpis = st.sampled_from(["sla_compliance", "system_response_time", "security_level"])
# An operation: (measurement number, revision-or-redelivery, KPI, value).
operations = st.lists(
    st.tuples(st.integers(0, 3), st.booleans(), kpis, values), min_size=1, max_size=30
)


@settings(max_examples=200, deadline=None)
@given(operations)
def test_each_breach_of_a_measurement_applies_at_most_once(
    ops: list[tuple[int, bool, str, float]],
) -> None:
    ledger = Ledger()
    revisions: dict[int, int] = {}
    kpi_of: dict[int, str] = {}
    sent: list[tuple[str, list[EscalationItem]]] = []
    for number, replace, kpi, value in ops:
        kpi = kpi_of.setdefault(number, kpi)  # a measurement keeps its KPI
        measurement = f"m{number}"
        if number in revisions and not replace and sent:
            event_id, plan = sent[len(sent) // 2]  # an at-least-once redelivery
        else:
            revisions[number] = revisions.get(number, 0) + 1
            revision = revisions[number]
            event_id = measurement if revision == 1 else f"{measurement}:{revision}"
            assert escalation.measurement_of(event_id) == measurement
            plan = escalation.kpi_plan(RULES, SHOP, measurement, kpi, value, AT)
            sent.append((event_id, plan))
        ledger.deliver(event_id, plan)
    # A breach, told apart independently of the module: (measurement, category).
    escalated = Counter((e.split(":")[0], item.category) for e, item in ledger.applied)
    assert all(count == 1 for count in escalated.values()), escalated
    # Every breach some revision reported escalated, once.
    reported = {(e.split(":")[0], item.category) for e, plan in sent for item in plan}
    assert set(escalated) == reported


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 3), min_size=1, max_size=20), st.integers(0, 60))
def test_daily_checks_of_one_silence_escalate_it_once(starts: list[int], days: int) -> None:
    """Each report names a silence (by when it began); reports of one silence on any day
    escalate once, and a silence shorter than 30 days not at all."""
    ledger = Ledger()
    for day, start in enumerate(starts):
        last = AT + timedelta(days=start)
        as_of = last + timedelta(days=days + day)
        plan = escalation.no_data_plan(SHOP, last, None, as_of)
        assert bool(plan) == (as_of - last > timedelta(days=monitoring.NO_DATA_DAYS))
        ledger.deliver(f"no-data:{SHOP}:day-{day}:since-{start}", plan)
    escalated = Counter(e.split(":since-")[1] for e, _ in ledger.applied)
    assert all(count == 1 for count in escalated.values()), escalated
    silent = {start for day, start in enumerate(starts) if days + day > monitoring.NO_DATA_DAYS}
    assert len(escalated) == len(silent)


def test_a_shop_never_measured_is_silent_30_days_after_its_creation() -> None:
    created = AT
    assert escalation.no_data_plan(SHOP, None, created, created + timedelta(days=30)) == []
    [item] = escalation.no_data_plan(SHOP, None, created, created + timedelta(days=31))
    assert item.category is monitoring.NO_DATA_CATEGORY
    assert item.breach == escalation.silence_breach(SHOP, created)
