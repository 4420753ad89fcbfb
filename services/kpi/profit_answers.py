"""The profit model's answers (§4.4): the request models to the domain's indicators and back.

Computations only: nothing is stored, so the use cases call these directly.
"""

from __future__ import annotations

from services.kpi import domain, measuring, models, profit
from services.runtime.errors import ValidationFailed

# --- the profit model -----------------------------------------------------------------------


def indicators(body: models.ProfitIndicatorsIn, prefix: str = "") -> profit.ProfitIndicators:
    """The domain's indicators; a broken rule names ``<prefix>.<code>``."""
    try:
        return profit.ProfitIndicators.from_mapping(body.model_dump())
    except ValidationFailed as error:
        name = error.field or ""
        raise ValidationFailed(f"{prefix}.{name}" if prefix else name, error.message) from None


def profit_out(ind: profit.ProfitIndicators) -> models.ProfitOut:
    """Every quantity of the profit model for one period."""
    return models.ProfitOut(
        indicators=models.ProfitIndicatorsIn(**ind.as_dict()),
        leads=profit.leads(ind),
        clients=profit.clients(ind),
        average_check=profit.average_check(ind),
        deals=profit.deals(ind),
        ltv=profit.ltv(ind),
        revenue=profit.revenue(ind),
        total_costs=profit.total_costs(ind),
        profit=profit.profit(ind),
    )


def what_if_out(
    baseline: profit.ProfitIndicators, scenario: profit.ProfitIndicators
) -> models.WhatIfOut:
    """The what-if analysis between two periods."""
    result = profit.what_if(baseline, scenario)
    return models.WhatIfOut(
        baseline=profit_out(baseline),
        scenario=profit_out(scenario),
        profit_change=result.profit_change,
        contributions=[
            models.ContributionOut(
                code=c.code,
                baseline_value=c.baseline_value,
                scenario_value=c.scenario_value,
                profit_alone=c.profit_alone,
                absolute=c.absolute,
                relative=c.relative,
                favourable=c.favourable,
            )
            for c in result.contributions
        ],
        favourable_codes=list(result.favourable_codes),
        favourable_profit=result.favourable_profit,
        interaction=result.interaction,
    )


def _kpi_value(code: str, inputs: dict[str, float]) -> models.KpiValue:
    value = measuring.compute_value(domain.CATALOGUE[code], inputs)
    return models.KpiValue(kpi_code=code, inputs=inputs, value=value)


def financial_out(body: models.FinancialIn) -> models.FinancialOut:
    """``integration_roi`` and ``payback_period`` from two periods (§4.4)."""
    before, after = indicators(body.before, "before"), indicators(body.after, "after")
    roi_inputs = profit.integration_roi_inputs(before, after, body.investment)
    roi = _kpi_value("integration_roi", roi_inputs)
    increase = profit.monthly_profit_increase(before, after, body.months)
    try:
        payback_inputs = profit.payback_period_inputs(before, after, body.investment, body.months)
    except ValidationFailed as error:
        if error.field != "monthly_profit_increase":
            raise
        payback = None  # profit did not increase: the investment never pays back
    else:
        payback = _kpi_value("payback_period", payback_inputs)
    return models.FinancialOut(
        profit_before=profit.profit(before),
        profit_after=profit.profit(after),
        profit_delta=profit.profit_delta(before, after),
        monthly_profit_increase=increase,
        integration_roi=roi,
        payback_period=payback,
    )
