"""Wire contracts of the profit model (§4.4): a period's indicators, what-if, financial KPIs."""

from __future__ import annotations

from pydantic import ConfigDict, Field

from services.runtime.json_types import Real
from services.runtime.wire import WireModel


class ProfitIndicatorsIn(WireModel):
    """The thirteen indicators of a period (§4.4); ranges are checked by the domain: ``c1`` and
    ``c`` in [0, 1], the others ≥ 0, ``churn ≤ c · reach · c1`` and ``rt ≤ q1``."""

    model_config = ConfigDict(strict=True)

    reach: Real
    c1: Real
    c: Real
    churn: Real
    pu: Real
    d: Real
    q1: Real
    rt: Real
    capex: Real
    h: Real
    cogs: Real
    cac: Real
    crc: Real


class ProfitOut(WireModel):
    """The profit model computed for one period."""

    indicators: ProfitIndicatorsIn
    leads: float
    clients: float
    average_check: float
    deals: float
    ltv: float
    revenue: float
    total_costs: float
    profit: float


class WhatIfIn(WireModel):
    """A baseline period and a scenario period."""

    baseline: ProfitIndicatorsIn
    scenario: ProfitIndicatorsIn


class ContributionOut(WireModel):
    """The effect on profit of changing one indicator alone."""

    code: str
    baseline_value: float
    scenario_value: float
    profit_alone: float
    absolute: float
    relative: float | None = Field(
        description="absolute / baseline profit × 100; null unless the baseline makes a profit "
        "(> 0): a share of a loss or of nothing is not a percentage anyone can read"
    )
    favourable: bool


class WhatIfOut(WireModel):
    """Profit of both periods and the attribution of the change to indicators."""

    baseline: ProfitOut
    scenario: ProfitOut
    profit_change: float
    contributions: list[ContributionOut]
    favourable_codes: list[str]
    favourable_profit: float
    interaction: float


class FinancialIn(WireModel):
    """Two periods of ``months`` months each and the investment in the integration."""

    model_config = ConfigDict(strict=True)

    before: ProfitIndicatorsIn
    after: ProfitIndicatorsIn
    investment: Real = Field(
        description="The amount invested in the period (> 0), not a running total"
    )
    months: Real


class KpiValue(WireModel):
    """A KPI's inputs and the value computed from them by its catalogue formula."""

    kpi_code: str
    inputs: dict[str, float]
    value: float


class FinancialOut(WireModel):
    """``integration_roi`` and ``payback_period`` derived from two periods.

    ``paybackPeriod`` is null when profit did not increase: the investment never pays back.
    """

    profit_before: float
    profit_after: float
    profit_delta: float
    monthly_profit_increase: float
    integration_roi: KpiValue
    payback_period: KpiValue | None
