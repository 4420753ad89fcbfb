"""Store tests call the stores directly, outside any HTTP request: they act as an
authenticated ANALYST, whose actor the stores record (as a service's middleware would set)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from services.runtime.auth import Principal, Role
from services.runtime.caller import calling_as

STORE_TEST_PRINCIPAL = Principal("jwt:store-test", "store-test", Role.ANALYST, "jwt")


@pytest.fixture(autouse=True)
def as_analyst() -> Iterator[None]:
    """The caller of every store test."""
    with calling_as(STORE_TEST_PRINCIPAL):
        yield
