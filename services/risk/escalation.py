"""What an event escalates, and whether its breach has escalated before (domain.md §3.5). Pure.

An event (a KPI measurement's revision, a no-data report, a slipping roadmap stage) yields a
*plan*: one :class:`EscalationItem` per risk category it breaches. Each item names its
*breach*: what must escalate at most once, whatever the number of events reporting it.

- A KPI breach is (shop, measurement, category): a replaced measurement (revision 2, a new
  event id) that still breaches escalates nothing more. **Decision:** a measurement escalates
  each category once, by the step of the rule that breached first; a later revision that
  breaches another category escalates that one.
- A no-data breach is (shop, silence): a silence starts at the end of the last measured
  period, or at the shop's creation when it never had one. The daily checks of one silence
  escalate once; data that arrives and stops again starts a new silence.
- A roadmap slip is (shop, stage): its event id says so already.

The first event to claim a breach owns it (:func:`claimant`); only the owner applies the item
(:func:`items_to_apply`). The store records claims with a unique key, so concurrent events of
one breach agree on one owner, and a resumed event finds its own claims.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from services.risk import domain, monitoring, roadmap

NO_DATA_RULE_ID = "no-kpi-data-30d"
SLIPPAGE_RULE_ID = "roadmap-slippage"

_REVISION_SUFFIX = re.compile(r":\d+$")


@dataclass(frozen=True)
class EscalationItem:
    """One category an event escalates, with the rule that decided it and why.

    ``breach`` identifies what escalates at most once (see the module); ``None``: the event
    itself (its id and the category).
    """

    category: domain.RiskCategoryCode
    rule_id: str
    step: int
    reason: str
    title: str
    kpi_code: str | None = None
    kpi_value: float | None = None
    breach: str | None = None

    def breach_key(self, event_id: str) -> str:
        """The key of this item's breach (an event without one is its own breach)."""
        source = self.breach if self.breach is not None else f"event:{event_id}"
        return f"{source}|{self.category.value}"

    def to_doc(self) -> dict[str, Any]:
        """Stored in the event's record, so a retry resumes the same plan."""
        return {
            "category": self.category.value,
            "rule_id": self.rule_id,
            "step": self.step,
            "reason": self.reason,
            "title": self.title,
            "kpi_code": self.kpi_code,
            "kpi_value": self.kpi_value,
            "breach": self.breach,
        }

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> EscalationItem:
        """The item back from the event's record."""
        return cls(
            category=domain.RiskCategoryCode(doc["category"]),
            rule_id=doc["rule_id"],
            step=int(doc["step"]),
            reason=doc["reason"],
            title=doc["title"],
            kpi_code=doc.get("kpi_code"),
            kpi_value=doc.get("kpi_value"),
            breach=doc.get("breach"),
        )


# --- breach identities ----------------------------------------------------------------------


def measurement_of(event_id: str) -> str:
    """The measurement an event id is a revision of: the kpi service sends ``<id>`` for the
    first revision and ``<id>:<revision>`` from the second on."""
    return _REVISION_SUFFIX.sub("", event_id)


def measurement_breach(shop_id: str, measurement_id: str) -> str:
    """The breach source of a measurement (every revision shares it)."""
    return f"kpi:{shop_id}:{measurement_id}"


def silence_start(
    last_measurement_at: datetime | None, shop_created_at: datetime | None
) -> datetime | None:
    """When a shop's silence began: its last measured period's end, else its creation."""
    return last_measurement_at if last_measurement_at is not None else shop_created_at


def silence_breach(shop_id: str, start: datetime | None) -> str:
    """The breach source of a silence: one per start (``never`` when nothing is known)."""
    return f"no-data:{shop_id}:{start.isoformat() if start else 'never'}"


# --- who owns a breach ----------------------------------------------------------------------


def claimant(claims: Mapping[str, str], breach_key: str, event_id: str) -> str:
    """The event that owns ``breach_key`` once ``event_id`` asks for it: the first claimant
    keeps it; an unclaimed breach goes to the asking event."""
    return claims.get(breach_key, event_id)


def items_to_apply(
    plan: Sequence[EscalationItem], claims: Mapping[str, str], event_id: str
) -> list[EscalationItem]:
    """The items of ``plan`` that ``event_id`` applies: those whose breach no other event
    owns. ``claims`` maps breach keys to the events that claimed them."""
    return [
        item for item in plan if claimant(claims, item.breach_key(event_id), event_id) == event_id
    ]


# --- plans ----------------------------------------------------------------------------------


def _title(category: domain.RiskCategoryCode, cause: str) -> str:
    name = domain.RISK_CATEGORY_BY_CODE[category].name
    return f"{name[:1].upper()}{name[1:]} ({cause})"[:200]


def kpi_plan(
    rules: Sequence[monitoring.MonitoringRule],
    shop_id: str,
    measurement_id: str,
    kpi_code: str,
    value: float,
    measured_at: datetime,
) -> list[EscalationItem]:
    """One item per category the measurement breaches. **Decision:** several rules of one
    KPI on the same category escalate it once, by the largest step."""
    chosen: dict[domain.RiskCategoryCode, monitoring.MonitoringRule] = {}
    for rule in monitoring.matching_rules(rules, kpi_code, value):
        best = chosen.get(rule.category)
        if best is None or rule.likelihood_step > best.likelihood_step:
            chosen[rule.category] = rule
    return [
        EscalationItem(
            category=rule.category,
            rule_id=rule.id,
            step=rule.likelihood_step,
            reason=(
                f"rule {rule.describe()} breached: {kpi_code} = {value:g} "
                f"measured at {measured_at.isoformat()}"
            ),
            title=_title(rule.category, f"raised by {kpi_code}"),
            kpi_code=kpi_code,
            kpi_value=value,
            breach=measurement_breach(shop_id, measurement_id),
        )
        for rule in chosen.values()
    ]


def no_data_plan(
    shop_id: str,
    last_measurement_at: datetime | None,
    shop_created_at: datetime | None,
    as_of: datetime,
) -> list[EscalationItem]:
    """The no-data rule: no measurement in the last 30 days (counted from the shop's creation
    when it never had one) escalates NO_KPI_MONITORING, once per silence."""
    start = silence_start(last_measurement_at, shop_created_at)
    if not monitoring.no_kpi_data(start, as_of):
        return []
    if last_measurement_at is not None:
        last = f"last: {last_measurement_at.isoformat()}"
    elif shop_created_at is not None:
        last = f"never measured; created {shop_created_at.isoformat()}"
    else:
        last = "last: never"
    return [
        EscalationItem(
            category=monitoring.NO_DATA_CATEGORY,
            rule_id=NO_DATA_RULE_ID,
            step=1,
            reason=f"no KPI measurement in the last {monitoring.NO_DATA_DAYS} days ({last})",
            title=_title(
                monitoring.NO_DATA_CATEGORY, f"no KPI data for {monitoring.NO_DATA_DAYS} days"
            ),
            breach=silence_breach(shop_id, start),
        )
    ]


def slip_item(stage: roadmap.Stage, as_of: date) -> EscalationItem | None:
    """The escalation of a slipping stage, or ``None`` if it does not slip."""
    if not roadmap.slips(stage, as_of):
        return None
    days = roadmap.slippage_days(stage, as_of)
    upper = roadmap.STAGE_BY_CODE[stage.code].typical_max_days
    return EscalationItem(
        category=monitoring.SLIPPAGE_CATEGORY,
        rule_id=SLIPPAGE_RULE_ID,
        step=1,
        reason=f"roadmap stage {stage.code.value} runs {days} days past its typical {upper} days",
        title=_title(monitoring.SLIPPAGE_CATEGORY, f"stage {stage.code.value} slipped"),
        kpi_value=float(days or 0),
    )


def slip_event_id(shop_id: str, code: domain.StageCode) -> str:
    """The event id of a stage's slip: a stage escalates once, however often it is checked."""
    return f"slip:{shop_id}:{code.value}"


def escalated_before(item: EscalationItem, owner: str) -> dict[str, Any]:
    """The outcome of an item whose breach another event (``owner``) escalated already."""
    return {
        "category": item.category.value,
        "rule_id": item.rule_id,
        "step": item.step,
        "raised_risk_ids": [],
        "created_risk_id": None,
        "escalated_by_event": owner,
    }
