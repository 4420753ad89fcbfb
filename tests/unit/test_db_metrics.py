"""MongoDB command metrics on the OpenTelemetry database conventions, with bounded labels."""

from __future__ import annotations

from services.runtime.metrics import REGISTRY
from services.runtime.mongo import CommandMetrics, error_type

NAME = "db_client_operation_duration_seconds_count"


def count(command: str, error: str) -> float:
    labels = {
        "service": "unit-db",
        "db_system_name": "mongodb",
        "db_operation_name": command,
        "error_type": error,
    }
    return REGISTRY.get_sample_value(NAME, labels) or 0.0


def test_error_type_is_bounded() -> None:
    assert error_type({"codeName": "DuplicateKey", "code": 11000}) == "DuplicateKey"
    assert error_type({"errmsg": "reset", "errtype": "AutoReconnect"}) == "AutoReconnect"
    assert error_type({"codeName": "SomethingNew"}) == "_OTHER"
    assert error_type({"errtype": "ValueError"}) == "_OTHER"
    assert error_type({}) == "_OTHER"


def test_successes_have_an_empty_error_type_and_housekeeping_is_not_counted() -> None:
    metrics = CommandMetrics("unit-db")
    before = count("find", ""), count("other", ""), count("insert", "DuplicateKey")
    metrics._observe("find", "", 1500)
    metrics._observe("renameCollection", "", 10)  # unknown command: "other"
    metrics._observe("hello", "", 10)  # the driver's own: not counted
    metrics._observe("insert", "DuplicateKey", 10)
    after = count("find", ""), count("other", ""), count("insert", "DuplicateKey")
    assert [a - b for a, b in zip(after, before, strict=True)] == [1, 1, 1]
    assert count("hello", "") == 0
