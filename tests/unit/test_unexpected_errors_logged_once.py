"""An unexpected resolver error is logged once and answered once, masked (issue 14, item 21:
Strawberry hands execution errors to the extension twice, and each was logged)."""

from __future__ import annotations

import logging

import pytest
import strawberry

from gateway.errors import ErrorCodesAndMetrics


@strawberry.type
class Query:
    @strawberry.field
    def broken(self) -> int:
        raise RuntimeError("the resolver broke")

    @strawberry.field
    def fine(self) -> int:
        return 1


async def test_an_unexpected_error_is_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    schema = strawberry.Schema(query=Query, extensions=[ErrorCodesAndMetrics])
    with caplog.at_level(logging.ERROR, logger="integra.gateway"):
        result = await schema.execute("{ broken fine }")
    logged = [r for r in caplog.records if r.name == "integra.gateway"]
    assert len(logged) == 1, [r.getMessage() for r in logged]
    assert logged[0].exc_info is not None
    assert result.errors is not None
    assert [e.extensions for e in result.errors] == [{"code": "INTERNAL_ERROR"}]
    assert result.data is None  # a non-null field failed
