"""Wire contracts of the kpi service: the JSON its HTTP API accepts and answers.

Field names are camelCase on the wire. A scope (``shopId``) is a shop's record id (24 lowercase
hex digits) or the literal ``platform``, the built-in scope of the platform's own KPIs (§4.6).

One namespace over the modules by concept: :mod:`.common` (request-text types, limits),
:mod:`.catalogue`, :mod:`.measurements`, :mod:`.series`, :mod:`.targets` (and the latest view),
:mod:`.profit`, :mod:`.events` (sent to the risk service).
"""

from __future__ import annotations

from services.kpi.models.catalogue import (
    CatalogueQuery,
    CustomKpiCreate,
    InputSpecOut,
    KpiBatch,
    KpiOut,
    PartRule,
    TargetSpec,
)
from services.kpi.models.common import (
    MAX_BATCH,
    MAX_INPUTS,
    Deleted,
    InputName,
    KpiCode,
    Reason,
)
from services.kpi.models.events import (
    BreachEvent,
    NoDataEvent,
)
from services.kpi.models.measurements import (
    Escalation,
    EscalationState,
    HistoryEntry,
    JudgedWindow,
    Measurement,
    MeasurementBatch,
    MeasurementCreate,
    MeasurementListQuery,
    Revision,
)
from services.kpi.models.profit import (
    ContributionOut,
    FinancialIn,
    FinancialOut,
    KpiValue,
    ProfitIndicatorsIn,
    ProfitOut,
    WhatIfIn,
    WhatIfOut,
)
from services.kpi.models.series import (
    Series,
    SeriesBatch,
    SeriesBatchQuery,
    SeriesPoint,
    SeriesQuery,
)
from services.kpi.models.targets import (
    AppliedTarget,
    LatestBatch,
    LatestKpi,
    LatestQuery,
    ShopLatest,
    TargetListQuery,
    TargetOut,
    TargetPut,
    TargetSource,
)

__all__ = [
    "MAX_BATCH",
    "MAX_INPUTS",
    "AppliedTarget",
    "BreachEvent",
    "CatalogueQuery",
    "ContributionOut",
    "CustomKpiCreate",
    "Deleted",
    "Escalation",
    "EscalationState",
    "FinancialIn",
    "FinancialOut",
    "HistoryEntry",
    "InputName",
    "InputSpecOut",
    "JudgedWindow",
    "KpiBatch",
    "KpiCode",
    "KpiOut",
    "KpiValue",
    "LatestBatch",
    "LatestKpi",
    "LatestQuery",
    "Measurement",
    "MeasurementBatch",
    "MeasurementCreate",
    "MeasurementListQuery",
    "NoDataEvent",
    "PartRule",
    "ProfitIndicatorsIn",
    "ProfitOut",
    "Reason",
    "Revision",
    "Series",
    "SeriesBatch",
    "SeriesBatchQuery",
    "SeriesPoint",
    "SeriesQuery",
    "ShopLatest",
    "TargetListQuery",
    "TargetOut",
    "TargetPut",
    "TargetSource",
    "TargetSpec",
    "WhatIfIn",
    "WhatIfOut",
]
