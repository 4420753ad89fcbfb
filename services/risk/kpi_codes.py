"""Which KPI codes a monitoring rule may name: the catalogue's and the custom KPIs (§3.5, §4.1).

A rule on a code no KPI has would never breach, silently. The built-in codes are the kpi
domain's catalogue (static, known without a call); a custom KPI is asked of the kpi service
(``GET /catalogue/{code}``, signed as ``service:risk``) when an admin creates or edits a rule,
a rare write. While the kpi service cannot answer, a custom code is refused with
SERVICE_UNAVAILABLE rather than stored unchecked.
"""

from __future__ import annotations

from urllib.parse import quote

import httpx

from services.kpi.domain import CATALOGUE
from services.runtime.errors import ErrorCode, IntegraError, ValidationFailed
from services.runtime.service_calls import ServiceEndpoint


class KpiCodes:
    """Answers whether a KPI code exists; raises the errors a rule's ``kpiCode`` gets."""

    def __init__(self, kpi: ServiceEndpoint) -> None:
        self.kpi = kpi

    async def check(self, code: str, field: str = "kpiCode") -> None:
        """Refuse (VALIDATION_ERROR naming ``field``) a code that is neither a KPI of the
        catalogue nor a custom KPI."""
        if code in CATALOGUE or await self._is_custom(code):
            return
        raise ValidationFailed(
            field,
            f"{field} must be the code of a KPI of the catalogue or of a custom KPI; "
            f"there is no KPI {code!r}",
        )

    async def _is_custom(self, code: str) -> bool:
        try:
            async with self.kpi.client() as client:
                response = await client.get(
                    f"/catalogue/{quote(code, safe='')}", headers=self.kpi.headers()
                )
        except httpx.HTTPError as exc:
            raise _unavailable(f"{type(exc).__name__}") from None
        if response.status_code == 404:
            return False
        if not response.is_success:
            raise _unavailable(f"HTTP {response.status_code}")
        return True


def _unavailable(reason: str) -> IntegraError:
    return IntegraError(
        ErrorCode.SERVICE_UNAVAILABLE,
        f"the kpi service cannot say whether the KPI exists ({reason}); retry",
        "kpiCode",
    )
