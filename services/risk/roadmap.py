"""The integration roadmap of a shop: its five stages, their order and slippage (§3.6). Pure."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date

from services.risk.domain import StageCode, StageStatus
from services.runtime.errors import InvalidTransition, ValidationFailed

#: **Decision:** a month is 30.5 days; lower bounds round down, upper bounds round up, so a
#: stage never slips because of rounding (1–2 months = 30–61 days, 2–3 months = 61–92 days).
MONTH_DAYS = 30.5


@dataclass(frozen=True)
class StageInfo:
    number: int
    code: StageCode
    name: str
    content: str
    typical_min_days: int
    typical_max_days: int | None  # None: ongoing, never slips
    result: str


STAGES: tuple[StageInfo, ...] = (
    StageInfo(1, StageCode.AUDIT, "preparatory audit",
              "business-process analysis, data audit, choice of integration points",
              14, 21, "critical zones identified"),
    StageInfo(2, StageCode.ARCHITECTURE, "architecture design",
              "structure of modules and API links", 21, 28, "technical model of the integration"),
    StageInfo(3, StageCode.MVP, "MVP integration", "base links: CRM, catalogue, payments",
              math.floor(1 * MONTH_DAYS), math.ceil(2 * MONTH_DAYS),
              "first measurement of the effect"),
    StageInfo(4, StageCode.SCALING, "scaling", "marketing, analytics, logistics connected",
              math.floor(2 * MONTH_DAYS), math.ceil(3 * MONTH_DAYS), "full digital ecosystem"),
    StageInfo(5, StageCode.MONITORING, "monitoring and support",
              "periodic KPI assessment, technical optimisation", 0, None,
              "stability of the system"),
)  # fmt: skip

STAGE_BY_CODE: Mapping[StageCode, StageInfo] = {s.code: s for s in STAGES}


@dataclass(frozen=True)
class Stage:
    """The state of one roadmap stage of a shop."""

    code: StageCode
    status: StageStatus = StageStatus.NOT_STARTED
    planned_start: date | None = None
    planned_end: date | None = None
    actual_start: date | None = None
    actual_end: date | None = None


def slippage_days(stage: Stage, today: date) -> int | None:
    """Actual (or, in progress, elapsed-to-today) duration minus the typical upper bound.

    Negative when ahead of it; ``None`` when the stage has not started, has no actual start,
    or has no upper bound (MONITORING is ongoing).
    """
    upper = STAGE_BY_CODE[stage.code].typical_max_days
    if upper is None or stage.status is StageStatus.NOT_STARTED or stage.actual_start is None:
        return None
    end = stage.actual_end if stage.status is StageStatus.DONE and stage.actual_end else today
    return max((end - stage.actual_start).days, 0) - upper


def slips(stage: Stage, today: date) -> bool:
    """Whether a stage runs (or ran) longer than its typical duration — escalates
    :data:`SLIPPAGE_CATEGORY` like a monitoring rule."""
    days = slippage_days(stage, today)
    return days is not None and days > 0


def check_actual_dates_past(stage: Stage, today: date) -> None:
    """Actual dates say what happened: neither may lie after ``today``."""
    for name in ("actual_start", "actual_end"):
        moment = getattr(stage, name)
        if moment is not None and moment > today:
            raise ValidationFailed(
                name, f"{name} may not be in the future ({moment.isoformat()} > {today})"
            )


def validate_stage(stage: Stage) -> None:
    """Check a stage's dates against each other and its status.

    **Decision:** a NOT_STARTED stage has no actual dates; IN_PROGRESS and DONE need
    ``actual_start``; only DONE has (and requires) ``actual_end``; ends never precede starts.
    """
    s = stage
    if s.planned_start and s.planned_end and s.planned_end < s.planned_start:
        raise ValidationFailed("planned_end", "planned_end may not be before planned_start")
    if s.status is StageStatus.NOT_STARTED and (s.actual_start or s.actual_end):
        raise ValidationFailed("actual_start", "a NOT_STARTED stage has no actual dates")
    if s.status is not StageStatus.NOT_STARTED and s.actual_start is None:
        raise ValidationFailed("actual_start", f"a {s.status.value} stage needs actual_start")
    if s.status is StageStatus.IN_PROGRESS and s.actual_end is not None:
        raise ValidationFailed("actual_end", "an IN_PROGRESS stage has no actual_end")
    if s.status is StageStatus.DONE and s.actual_end is None:
        raise ValidationFailed("actual_end", "a DONE stage needs actual_end")
    if s.actual_start and s.actual_end and s.actual_end < s.actual_start:
        raise ValidationFailed("actual_end", "actual_end may not be before actual_start")


def check_stage_status(stages: Iterable[Stage], code: StageCode, new_status: StageStatus) -> None:
    """Check a stage status change against the roadmap order.

    A stage cannot be DONE before its predecessor is DONE. **Decision:** a stage never goes
    back to NOT_STARTED once started (that would erase its actual dates); a DONE stage may be
    reopened to IN_PROGRESS only while its successor is not DONE (the order rule keeps
    holding). Setting the current status again is allowed (e.g. to edit dates).
    """
    by_code = {s.code: s for s in stages}
    current = by_code.get(code, Stage(code)).status
    number = STAGE_BY_CODE[code].number
    if new_status is current:
        return
    if new_status is StageStatus.NOT_STARTED:
        raise InvalidTransition(
            "status", f"stage {code.value} cannot go back from {current.value} to NOT_STARTED"
        )
    if new_status is StageStatus.DONE and number > 1:
        before = STAGES[number - 2].code
        if by_code.get(before, Stage(before)).status is not StageStatus.DONE:
            raise InvalidTransition(
                "status", f"stage {code.value} cannot be DONE before {before.value} is DONE"
            )
    if current is StageStatus.DONE and number < len(STAGES):
        after = STAGES[number].code
        if by_code.get(after, Stage(after)).status is StageStatus.DONE:
            raise InvalidTransition(
                "status", f"stage {code.value} cannot be reopened while {after.value} is DONE"
            )


def set_stage_status(
    stages: Iterable[Stage], code: StageCode, new_status: StageStatus, today: date
) -> Stage:
    """Apply a checked status change and fill the actual dates it implies.

    Starting sets ``actual_start`` to today if missing; finishing also sets ``actual_end``;
    reopening clears ``actual_end``. The result is validated with :func:`validate_stage`.
    """
    stages = list(stages)
    check_stage_status(stages, code, new_status)
    stage = next((s for s in stages if s.code == code), Stage(code))
    start = stage.actual_start or today
    if new_status is StageStatus.IN_PROGRESS:
        stage = replace(stage, status=new_status, actual_start=start, actual_end=None)
    elif new_status is StageStatus.DONE:
        end = stage.actual_end or today
        stage = replace(stage, status=new_status, actual_start=start, actual_end=end)
    validate_stage(stage)
    return stage
