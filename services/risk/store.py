"""RiskStore: the only module the risk use cases call to reach MongoDB.

It takes and returns the service's models and domain values; the documents behind them are
its own business: their layout (:mod:`services.risk.documents`), how writes change them
(:mod:`services.risk.changes`), the models read from them (:mod:`services.risk.answers`), the
compare-and-set primitives (:mod:`services.risk.risk_documents`) and the exactly-once
escalations (:mod:`services.risk.applied_events`). Methods whose answer depends on the day
(overdue flags, slippage) take it as ``as_of``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from datetime import date, datetime
from typing import NamedTuple

from pymongo import ASCENDING, DESCENDING
from pymongo.errors import DuplicateKeyError

from services.risk import domain, models, monitoring, roadmap
from services.risk.answers import (
    group_by_shop,
    matrix_out,
    outcome_out,
    overdue_out,
    risk_out,
    roadmap_out,
    rule_out,
    summary_out,
)
from services.risk.applied_events import AppliedEvents
from services.risk.changes import (
    add_action,
    new_risk,
    stage_change,
    status_change,
    update_action,
    update_change,
)
from services.risk.documents import (
    RiskChange,
    RiskMutation,
    custom_rule_document,
    risk_filter,
    risk_sort,
    rule_fields,
    rule_of,
    rule_update_fields,
    stages_of,
)
from services.risk.escalation import EscalationItem
from services.runtime.concurrency import check_version
from services.runtime.idempotency import Idempotency
from services.runtime.records import Document, new_id, now
from services.runtime.shop_purge import ShopPurged
from services.runtime.wire import Page


class Escalated(NamedTuple):
    """What an event did: its outcome, and the categories this call changed (metrics)."""

    outcome: models.EscalationOutcome
    categories: list[str]


class RoadmapState(NamedTuple):
    """A shop's roadmap as answered, and its stages as domain values."""

    roadmap: models.Roadmap
    stages: list[roadmap.Stage]


class RiskStore(AppliedEvents):
    """Risks, monitoring rules, escalations and roadmaps of the risk service."""

    async def prepare(self) -> None:
        """Create the indexes and the built-in rules; idempotent, and edits survive it."""
        await self.risks.create_index(
            [("shop_id", ASCENDING), ("inherent_score", DESCENDING)], name="shop_score"
        )
        await self.risks.create_index(
            [("shop_id", ASCENDING), ("category", ASCENDING), ("status", ASCENDING)],
            name="shop_category_status",
        )
        await self.risks.create_index([("next_review_at", ASCENDING)], name="next_review")
        await self.risks.create_index([("next_action_due", ASCENDING)], name="next_action_due")
        await self.risks.create_index([("created_at", ASCENDING)], name="created_at")
        await self.rules.create_index([("kpi_code", ASCENDING)], name="kpi_code")
        created = now()
        for rule in monitoring.DEFAULT_RULES:
            with contextlib.suppress(DuplicateKeyError):
                await self.rules.insert_one(
                    {**rule_fields(rule), "built_in": True, "created_at": created}
                )

    # --- risks -------------------------------------------------------------------------------

    async def create_risk(
        self, body: models.RiskCreate, key: Idempotency | None, at: datetime, as_of: date
    ) -> models.Risk:
        """Store a new risk (a keyed retry answers the first); a deleted shop is NOT_FOUND."""
        return risk_out(await self.insert_risk(new_risk(body, at), key), as_of)

    async def risk(self, risk_id: str, as_of: date) -> models.Risk:
        """The risk with this id, or NOT_FOUND naming ``risk_id``."""
        return risk_out(await self.get_risk(risk_id, "risk_id"), as_of)

    async def risks_of_ids(self, ids: Sequence[str], as_of: date) -> list[models.Risk]:
        """The risks among ``ids`` that exist, in their order (one command)."""
        return [risk_out(d, as_of) for d in await self.risks_by_ids(ids)]

    @staticmethod
    def _listing(query: models.RiskListQuery) -> tuple[Document, list[tuple[str, int]]]:
        shop_ids = query.shop_ids or ([query.shop_id] if query.shop_id else None)
        filters = risk_filter(
            shop_ids=shop_ids,
            groups=query.group,
            categories=query.category,
            levels=query.level,
            statuses=query.status,
            owner=query.owner,
        )
        return filters, risk_sort(query.sort.value, query.order is models.SortOrder.DESC)

    async def risk_page(self, query: models.RiskListQuery, as_of: date) -> Page[models.Risk]:
        """One page of the risks the query's filters match, and how many match."""
        filters, sort = self._listing(query)
        docs, total = await self.list_risks(filters, sort, query.limit, query.offset)
        items = [risk_out(d, as_of) for d in docs]
        return Page[models.Risk](
            items=items, total_count=total, limit=query.limit, offset=query.offset
        )

    async def shop_risk_pages(
        self, query: models.RiskListQuery, shop_ids: Sequence[str], as_of: date
    ) -> list[models.ShopRisks]:
        """A page of each shop's risks the query's filters match (one command)."""
        filters, sort = self._listing(query)
        by_shop = group_by_shop(await self.find_risks(filters, sort))
        start, end = query.offset, query.offset + query.limit
        return [
            models.ShopRisks(
                shop_id=shop_id,
                items=[risk_out(d, as_of) for d in by_shop[shop_id][start:end]],
                total_count=len(by_shop[shop_id]),
                limit=query.limit,
                offset=query.offset,
            )
            for shop_id in shop_ids
        ]

    async def _change(
        self, risk_id: str, mutate: RiskMutation, expected_version: int | None, as_of: date
    ) -> models.Risk:
        doc, _ = await self.modify_risk(
            risk_id, mutate, field_name="risk_id", expected_version=expected_version
        )
        return risk_out(doc, as_of)

    async def update_risk(
        self, risk_id: str, body: models.RiskUpdate, at: datetime, as_of: date
    ) -> models.Risk:
        """Change a risk's fields and assessments, unless nothing differs."""
        return await self._change(
            risk_id, lambda doc: update_change(doc, body, at), body.expected_version, as_of
        )

    async def change_status(
        self, risk_id: str, body: models.StatusChange, at: datetime, as_of: date
    ) -> models.Risk:
        """Move a risk through its lifecycle."""
        return await self._change(
            risk_id, lambda doc: status_change(doc, body, at), body.expected_version, as_of
        )

    async def add_action(
        self,
        risk_id: str,
        body: models.ActionCreate,
        key: Idempotency | None,
        at: datetime,
        as_of: date,
    ) -> models.Risk:
        """Add a mitigation action; its id derives from ``key``, so a retry finds it."""
        action_id = key.record_id(risk_id) if key else new_id()

        def mutate(doc: Document) -> RiskChange | None:
            # A retried keyed request finds its action applied and answers the risk as it is:
            # its expectedVersion was met by the first attempt, so it is checked on writes only.
            added = add_action(doc, body, action_id, at, key)
            if added is not None:
                check_version("risk", risk_id, doc["version"], body.expected_version)
            return added

        return await self._change(risk_id, mutate, None, as_of)

    async def update_action(
        self, risk_id: str, action_id: str, body: models.ActionUpdate, at: datetime, as_of: date
    ) -> models.Risk:
        """Change or complete a mitigation action; NOT_FOUND naming ``action_id``."""
        return await self._change(
            risk_id,
            lambda doc: update_action(doc, action_id, body, at),
            body.expected_version,
            as_of,
        )

    # --- views -------------------------------------------------------------------------------

    async def matrices(
        self, shop_ids: Sequence[str], kind: models.AssessmentKind
    ) -> list[models.RiskMatrix]:
        """The matrix of each shop's open risks (one command)."""
        by_shop = group_by_shop(await self.open_risks(shop_ids))
        return [matrix_out(s, kind, by_shop.get(s, [])) for s in shop_ids]

    async def summaries(
        self, shop_ids: Sequence[str], kind: models.AssessmentKind
    ) -> list[models.RiskSummary]:
        """The summary of each shop's open risks (one command)."""
        by_shop = group_by_shop(await self.open_risks(shop_ids))
        return [summary_out(s, kind, by_shop.get(s, [])) for s in shop_ids]

    async def overdue(self, shop_id: str, as_of: date) -> models.Overdue:
        """A shop's overdue reviews and actions as of ``as_of`` (one command)."""
        docs = await self.overdue_candidates(shop_id, as_of)
        return overdue_out(shop_id, docs, as_of)

    # --- monitoring rules --------------------------------------------------------------------

    async def all_rules(self) -> list[models.Rule]:
        """Every rule, built-in first, then by KPI and id."""
        return [rule_out(d) for d in await self.list_rules()]

    async def rule(self, rule_id: str) -> models.Rule:
        """The rule with this id, or NOT_FOUND."""
        return rule_out(await self.get_rule(rule_id))

    async def monitoring_rule(self, rule_id: str) -> monitoring.MonitoringRule:
        """The rule with this id as a domain value, or NOT_FOUND."""
        return rule_of(await self.get_rule(rule_id))

    async def enabled_rules(self, kpi_code: str) -> list[monitoring.MonitoringRule]:
        """The enabled rules on a KPI (one command)."""
        return [rule_of(d) for d in await self.rules_for(kpi_code)]

    async def create_rule(
        self, rule: monitoring.MonitoringRule, key: Idempotency | None
    ) -> models.Rule:
        """Store a custom rule created by the caller (a keyed retry answers the first)."""
        return rule_out(await self.insert_rule(custom_rule_document(rule), key))

    async def save_rule(self, rule: monitoring.MonitoringRule) -> models.Rule:
        """Overwrite a rule's fields with ``rule``'s."""
        return rule_out(await self.replace_rule(rule.id, rule_update_fields(rule)))

    # --- escalations, roadmaps, shops --------------------------------------------------------

    async def escalate(
        self, event_id: str, shop_id: str, fingerprint: str, plan: Sequence[EscalationItem]
    ) -> Escalated:
        """Apply ``plan`` for an event exactly once (:meth:`apply_event`)."""
        result = await self.apply_event(event_id, shop_id, fingerprint, plan)
        return Escalated(outcome_out(event_id, shop_id, result), result.escalated)

    async def shop_roadmaps(self, shop_ids: Sequence[str], as_of: date) -> list[RoadmapState]:
        """The roadmap of each shop, slippage as of ``as_of`` (one command)."""
        stored = await self.roadmaps_of(shop_ids)
        return [
            RoadmapState(roadmap_out(s, stored.get(s), as_of), stages_of(stored.get(s)))
            for s in shop_ids
        ]

    async def change_stage(
        self,
        shop_id: str,
        code: domain.StageCode,
        body: models.StageUpdate,
        at: datetime,
        as_of: date,
    ) -> RoadmapState:
        """Change a stage of a shop's roadmap; a deleted shop is NOT_FOUND."""
        roadmap = await self.modify_roadmap(shop_id, stage_change(code, body, as_of, at))
        return RoadmapState(roadmap_out(shop_id, roadmap, as_of), stages_of(roadmap))

    async def forget_shop(self, shop_id: str) -> ShopPurged:
        """Record the shop's tombstone and delete its risks, roadmap and claims."""
        return await self.purge.purge(shop_id)
