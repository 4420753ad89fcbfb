"""Idempotency keys and expected versions: what is accepted, what a retry is recognised by."""

from __future__ import annotations

import pytest

from services.runtime.concurrency import check_version
from services.runtime.errors import ErrorCode, IntegraError
from services.runtime.idempotency import Idempotency, check_key, request_hash
from services.scoring.models import ShopCreate


@pytest.mark.parametrize("key", ["a", "9f1c-uuid-like-0001", "x" * 128, "with inner space", "~!@#"])
def test_printable_keys_up_to_128_characters_are_accepted(key: str) -> None:
    assert check_key(key) == key


@pytest.mark.parametrize("key", ["", "x" * 129, " lead", "trail ", "tab\tkey", "ключ", "nl\n"])
def test_other_keys_are_a_validation_error_naming_the_key(key: str) -> None:
    with pytest.raises(IntegraError) as raised:
        check_key(key)
    assert raised.value.code is ErrorCode.VALIDATION_ERROR
    assert raised.value.field == "idempotencyKey"


def test_a_retry_is_recognised_by_the_parsed_request_not_its_spelling() -> None:
    first = ShopCreate.model_validate_json('{"name": "Shop", "segment": "toys"}')
    reordered = ShopCreate.model_validate_json('{"segment": "toys", "name": "Shop"}')
    other = ShopCreate.model_validate_json('{"name": "Shop", "segment": "games"}')
    assert request_hash(first, {}) == request_hash(reordered, {})
    assert request_hash(first, {}) != request_hash(other, {})
    assert request_hash(first, {"shopId": "a"}) != request_hash(first, {"shopId": "b"})


def test_record_ids_are_stable_per_operation_and_key() -> None:
    key = Idempotency("createShop", "k1", "h")
    assert key.record_id() == Idempotency("createShop", "k1", "other").record_id()
    assert key.record_id() != Idempotency("createRisk", "k1", "h").record_id()
    assert key.record_id() != Idempotency("createShop", "k2", "h").record_id()
    assert len(key.record_id()) == 24
    key.check_same_request({"idempotency": key.stamp()})
    with pytest.raises(IntegraError) as raised:
        Idempotency("createShop", "k1", "different").check_same_request(
            {"idempotency": key.stamp()}
        )
    assert (raised.value.code, raised.value.field) == (ErrorCode.CONFLICT, "idempotencyKey")


def test_a_stale_expected_version_is_a_conflict_naming_it() -> None:
    check_version("risk", "r", 3, None)
    check_version("risk", "r", 3, 3)
    with pytest.raises(IntegraError) as raised:
        check_version("risk", "r", 3, 2)
    assert (raised.value.code, raised.value.field) == (ErrorCode.CONFLICT, "expectedVersion")
