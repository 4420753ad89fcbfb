"""Wire contracts of the views over a shop's open risks: matrix, summary, overdue (§3.3, §3.4)."""

from __future__ import annotations

from datetime import date

from pydantic import Field

from services.risk.domain import RiskGroup, RiskLevel
from services.risk.models.risks import MAX_BATCH, AssessmentKind, MitigationAction, Risk
from services.runtime.wire import ScopeId, WireDate, WireModel

# --- views ----------------------------------------------------------------------------------


class ViewQuery(WireModel):
    """A batch of scopes and the assessment a view uses."""

    shop_ids: list[ScopeId] = Field(min_length=1, max_length=MAX_BATCH)
    kind: AssessmentKind = AssessmentKind.INHERENT


class RiskMatrix(WireModel):
    """5 × 5 counts of a shop's open risks, ``cells[likelihood - 1][impact - 1]``;
    ``unassessed`` counts open risks without a residual assessment (RESIDUAL only)."""

    shop_id: str
    kind: AssessmentKind
    cells: list[list[int]]
    total: int
    unassessed: int


class MatrixBatch(WireModel):
    """Matrices of a batch of shops (order of the request)."""

    items: list[RiskMatrix]


class LevelCount(WireModel):
    """How many open risks are at a level."""

    level: RiskLevel
    count: int


class GroupSummary(WireModel):
    """Open risks of one group, by level."""

    group: RiskGroup
    total: int
    by_level: list[LevelCount]


class RiskSummary(WireModel):
    """Open risks of a shop by group and level."""

    shop_id: str
    kind: AssessmentKind
    total: int
    by_level: list[LevelCount]
    by_group: list[GroupSummary]


class SummaryBatch(WireModel):
    """Summaries of a batch of shops (order of the request)."""

    items: list[RiskSummary]


class OverdueQuery(WireModel):
    """Overdue reviews and actions of a shop as of a day (default: today, UTC)."""

    shop_id: ScopeId
    as_of: WireDate | None = None


class OverdueAction(WireModel):
    """An unfinished mitigation action past its due date, with its risk."""

    risk_id: str
    risk_title: str
    action: MitigationAction


class Overdue(WireModel):
    """Open risks whose review is overdue, and overdue actions of open risks."""

    shop_id: str
    as_of: date
    reviews: list[Risk]
    actions: list[OverdueAction]
