"""What each built-in KPI measures, in a sentence (domain.md §4.1): the ``description`` the
catalogue answers with, over REST and GraphQL.

Kept apart from :mod:`services.kpi.domain`, whose catalogue holds the formulas, so that the
text can grow without the formulas' module growing. Where a KPI's inputs could be read either as
a running total or as the period's own amount, the text says which (roll-ups sum inputs, §4.2).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

CATALOGUE_DESCRIPTIONS: Mapping[str, str] = MappingProxyType(
    {
        "integration_compatibility": "Integrations that work, counted in the period.",
        "system_response_time": (
            "Mean API response time over the period: total response seconds over requests."
        ),
        "security_level": "Vulnerabilities found plus security incidents in the period.",
        "operation_time": (
            "Mean duration of an operation (order processing, delivery, data update) in hours."
        ),
        "process_errors": "Failed operations per 1000 operations in the period.",
        "sla_compliance": "Share of operations completed within the SLA, in percent.",
        "sales_conversion": "Share of visits that ended in a successful transaction, in percent.",
        "kpi_fulfilment": "Actual over planned, in percent.",
        "decision_time": "Mean time to a decision in hours.",
        "team_engagement": "Share of the team actively taking part, in percent.",
        "customer_satisfaction": (
            "Mean survey score; the top of the survey's scale (scale_max) is stored with it."
        ),
        "repeat_purchase_rate": "Share of customers who bought again, in percent.",
        "average_check": "Revenue per transaction.",
        "churn_rate": "Share of customers lost in the period, in percent.",
        "integration_roi": (
            "Return on the integration: profit_delta / investment × 100. Both inputs are the "
            "period's own amounts (the profit gained in the period and the amount invested in "
            "it, not a running total), so a roll-up sums them and recomputes: a quarter's ROI "
            "is its summed profit delta over its summed investment."
        ),
        "payback_period": (
            "Months until the investment pays back: investment / monthly_profit_increase. Both "
            "inputs are the period's own amounts (the amount invested in the period, not a "
            "running total, and the profit increase per month it brought), so a roll-up sums "
            "them and recomputes from the sums."
        ),
        "operating_cost_reduction": "Operating costs before over costs after (above 1: lower).",
        "internal_communications": "Messages, calls and comments exchanged in the period.",
        "team_response_time": "Mean time for the team to answer a request, in hours.",
        "resolved_requests_share": "Share of requests resolved, in percent.",
    }
)
"""The description of each built-in KPI, by code."""
