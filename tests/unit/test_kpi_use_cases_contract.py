"""Every operation of the gateway's KpiClient has a use case of the same inputs and answer.

The in-process client the gateway will get calls :class:`services.kpi.service.KpiUseCases`
directly: a use case takes the Protocol method's parameters (same names, same order) and
answers its model, or the batch model whose ``items`` the Protocol method answers (the model
the HTTP route answers, which :class:`gateway.kpi_client.HttpKpiClient` unwraps).
"""

from __future__ import annotations

import inspect
from typing import Any, get_type_hints

import pytest
from pydantic import BaseModel

from gateway.kpi_client import KpiClient
from services.kpi.service import ROLES, KpiUseCases

OPERATIONS = sorted(
    name
    for name, member in vars(KpiClient).items()
    if inspect.isfunction(member) and not name.startswith("_")
)


def _parameters(function: Any) -> list[str]:
    return [name for name in inspect.signature(function).parameters if name != "self"]


def test_the_client_has_operations() -> None:
    assert "record_measurement" in OPERATIONS
    assert len(OPERATIONS) == 15


@pytest.mark.parametrize("name", OPERATIONS)
def test_each_client_operation_has_a_use_case_with_its_inputs_and_answer(name: str) -> None:
    operation = getattr(KpiClient, name)
    use_case = getattr(KpiUseCases, name)
    assert _parameters(use_case) == _parameters(operation)
    assert name in ROLES
    wanted = get_type_hints(operation)["return"]
    answered = get_type_hints(use_case)["return"]
    if answered != wanted:
        assert isinstance(answered, type)
        assert issubclass(answered, BaseModel)
        assert answered.model_fields["items"].annotation == wanted
