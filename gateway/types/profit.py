"""The profit model of the graph (§4.4): one period, a what-if, the financial KPIs."""

from __future__ import annotations

import strawberry

from gateway.types.common import copied
from gateway.types.kpi_catalogue import KpiInputValue
from services.kpi import models


@strawberry.type(description="The thirteen indicators of a period (§4.4).")
class ProfitIndicators:
    reach: float
    c1: float
    c: float
    churn: float
    pu: float
    d: float
    q1: float
    rt: float
    capex: float
    h: float
    cogs: float
    cac: float
    crc: float


@strawberry.type(description="The profit model of one period (§4.4).")
class Profit:
    indicators: ProfitIndicators
    leads: float = strawberry.field(description="L = reach · c1.")
    clients: float = strawberry.field(description="CLs = c · L − churn.")
    average_check: float = strawberry.field(description="P = pu · d.")
    deals: float = strawberry.field(description="Qs = q1 − rt.")
    ltv: float = strawberry.field(description="LTV = P · Qs.")
    revenue: float = strawberry.field(description="R = CLs · LTV.")
    total_costs: float = strawberry.field(description="TC = capex + h + cogs + cac + crc.")
    profit: float = strawberry.field(description="R − TC.")

    @classmethod
    def from_model(cls, profit: models.ProfitOut) -> Profit:
        """The GraphQL form of one period's profit."""
        return copied(cls, profit, indicators=copied(ProfitIndicators, profit.indicators))


@strawberry.type(description="The effect on profit of changing one indicator alone.")
class ProfitContribution:
    code: str
    baseline_value: float
    scenario_value: float
    profit_alone: float = strawberry.field(description="Profit with only this indicator changed.")
    absolute: float = strawberry.field(description="profitAlone − baseline profit.")
    relative: float | None = strawberry.field(
        description="absolute / baseline profit × 100; null unless the baseline makes a profit "
        "(> 0): a share of a loss or of nothing is not a percentage anyone can read."
    )
    favourable: bool

    @classmethod
    def from_model(cls, contribution: models.ContributionOut) -> ProfitContribution:
        """The GraphQL form of one indicator's contribution."""
        return copied(cls, contribution)


@strawberry.type(
    description="Profit of a baseline and a scenario, the change attributed to indicators."
)
class ProfitWhatIf:
    baseline: Profit
    scenario: Profit
    profit_change: float
    contributions: list[ProfitContribution] = strawberry.field(
        description="One per indicator that changed."
    )
    favourable_codes: list[str]
    favourable_profit: float = strawberry.field(
        description="Profit with every favourable change applied together."
    )
    interaction: float = strawberry.field(
        description="profitChange minus the sum of the single contributions."
    )

    @classmethod
    def from_model(cls, what_if: models.WhatIfOut) -> ProfitWhatIf:
        """The GraphQL form of a what-if."""
        return copied(
            cls,
            what_if,
            baseline=Profit.from_model(what_if.baseline),
            scenario=Profit.from_model(what_if.scenario),
            contributions=[ProfitContribution.from_model(c) for c in what_if.contributions],
        )


@strawberry.type(description="A catalogue KPI's inputs and the value computed from them.")
class KpiValue:
    kpi_code: str
    inputs: list[KpiInputValue]
    value: float

    @classmethod
    def from_model(cls, value: models.KpiValue) -> KpiValue:
        """The GraphQL form of a computed KPI value."""
        return copied(cls, value, inputs=KpiInputValue.all_of(value.inputs))


@strawberry.type(description="integration_roi and payback_period derived from two periods.")
class FinancialKpis:
    profit_before: float
    profit_after: float
    profit_delta: float
    monthly_profit_increase: float
    integration_roi: KpiValue
    payback_period: KpiValue | None = strawberry.field(
        description="Null when profit did not increase: the investment never pays back."
    )

    @classmethod
    def from_model(cls, kpis: models.FinancialOut) -> FinancialKpis:
        """The GraphQL form of the financial KPIs."""
        payback = kpis.payback_period
        return copied(
            cls,
            kpis,
            integration_roi=KpiValue.from_model(kpis.integration_roi),
            payback_period=None if payback is None else KpiValue.from_model(payback),
        )
