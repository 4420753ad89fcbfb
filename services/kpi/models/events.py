"""Wire contracts of the escalation events the kpi service sends to the risk service."""

from __future__ import annotations

from datetime import datetime

from services.runtime.wire import WireModel


class BreachEvent(WireModel):
    """A new KPI value, sent to ``POST {risk}/escalations``; the risk service applies its
    monitoring rules to it, idempotently by ``eventId``."""

    event_id: str
    measurement_id: str
    shop_id: str
    kpi_code: str
    value: float
    measured_at: datetime


class NoDataEvent(WireModel):
    """A scope without a measurement for 30 days, sent to ``POST {risk}/escalations/no-data``:
    since its last measured period ended, or since its creation when it never had one."""

    event_id: str
    shop_id: str
    last_measurement_at: datetime | None = None
    shop_created_at: datetime | None = None
    as_of: datetime | None = None
    """The moment of the check that found the silence (risk judges it as of then)."""
