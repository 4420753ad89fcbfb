"""Request ids: which client ids are kept, and the JSON log line that carries them."""

from __future__ import annotations

import io
import json
import logging

import pytest

from services.runtime import request_context
from services.runtime.json_logging import JsonFormatter, configure_logging


@pytest.mark.parametrize("given", ["abc-123", "x" * 128, "trace:7f/2;span=1"])
def test_a_printable_id_of_at_most_128_characters_is_kept(given: str) -> None:
    assert request_context.accepted_request_id(given) == given


@pytest.mark.parametrize(
    "given", [None, "", "x" * 129, "line\nbreak", "tab\there", " padded", "é-accent", "\x00"]
)
def test_anything_else_is_replaced_by_a_generated_id(given: str | None) -> None:
    accepted = request_context.accepted_request_id(given)
    assert accepted != given
    assert len(accepted) == 32
    assert int(accepted, 16) >= 0


def test_json_log_lines_carry_level_logger_message_extras_and_exception() -> None:
    record = logging.LogRecord("integra.test", logging.ERROR, __file__, 1, "hello %s", ("w",), None)
    record.shop_id = "s1"
    try:
        raise ValueError("boom")
    except ValueError:
        import sys

        record.exc_info = sys.exc_info()
    line = json.loads(JsonFormatter().format(record))
    assert line["level"] == "error"
    assert line["logger"] == "integra.test"
    assert line["message"] == "hello w"
    assert line["request_id"] is None
    assert line["shop_id"] == "s1"
    assert "ValueError: boom" in line["exception"]
    assert line["time"].endswith("+00:00")


def test_configured_logging_writes_one_json_object_per_line() -> None:
    stream = io.StringIO()
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    try:
        configure_logging("info", stream)
        logging.getLogger("integra.test").info("first")
        logging.getLogger("integra.test").debug("hidden below the level")
        logging.getLogger("uvicorn.error").warning("second")
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [(line["logger"], line["message"]) for line in lines] == [
        ("integra.test", "first"),
        ("uvicorn.error", "second"),
    ]
