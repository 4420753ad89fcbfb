"""The gateway's service client against a port nobody listens on (real loopback sockets)."""

from __future__ import annotations

import pytest

from gateway.clients import ServiceClient
from gateway.network_transport import HttpClientName
from gateway.resilience import CircuitBreaker, RetryPolicy
from services.runtime.embedded import free_port
from services.runtime.errors import ErrorCode, IntegraError
from services.runtime.metrics import REGISTRY


def _attempts(service: str, route: str) -> float:
    labels = {"service": service, "route": route, "outcome": "error"}
    return REGISTRY.get_sample_value("gateway_service_calls_total", labels) or 0.0


def _client(
    service: str, threshold: int = 100, http_client: HttpClientName = "aiohttp"
) -> ServiceClient:
    return ServiceClient(
        service,
        f"http://127.0.0.1:{free_port()}",
        timeout=2,
        retry=RetryPolicy(retries=2, base_delay=0.01, max_delay=0.02),
        breaker=CircuitBreaker(service, failure_threshold=threshold, cooldown_seconds=60),
        http_client=http_client,
    )


@pytest.mark.parametrize("http_client", ["aiohttp", "httpx"])
async def test_a_read_is_tried_three_times_and_a_write_once(http_client: HttpClientName) -> None:
    service = f"dead-retry-{http_client}"
    client = _client(service, http_client=http_client)
    try:
        with pytest.raises(IntegraError) as read:
            await client.call("GET", "/shops")
        with pytest.raises(IntegraError) as write:
            await client.call("POST", "/shops", body={"name": "x"})
    finally:
        await client.close()
    assert read.value.code is ErrorCode.SERVICE_UNAVAILABLE
    # A refused connection is "unreachable" with either pool, never a timeout.
    assert f"{service} service is unreachable" in read.value.message
    assert write.value.code is ErrorCode.SERVICE_UNAVAILABLE
    assert _attempts(service, "/shops") == 4  # 3 for the read, 1 for the write


async def test_an_open_breaker_fails_fast_without_sending() -> None:
    client = _client("dead-breaker", threshold=3)
    try:
        with pytest.raises(IntegraError):
            await client.call("GET", "/shops")
        sent = _attempts("dead-breaker", "/shops")
        with pytest.raises(IntegraError) as refused:
            await client.call("GET", "/shops")
    finally:
        await client.close()
    assert sent == 3
    assert _attempts("dead-breaker", "/shops") == sent
    assert refused.value.code is ErrorCode.SERVICE_UNAVAILABLE
    assert "dead-breaker service is unavailable (circuit open" in refused.value.message
    states = {
        state: REGISTRY.get_sample_value(
            "gateway_circuit_breaker_state", {"service": "dead-breaker", "state": state}
        )
        for state in ("closed", "open", "half_open")
    }
    assert states == {"closed": 0, "open": 1, "half_open": 0}  # a state set
