"""Shop deletions in the scoring database (nx-27017 and SecantusDB): stored once, leased once,
and a crash between the stored deliveries and the local deletion heals itself."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from services.runtime.caller import BUILT_IN_ACTOR
from services.runtime.embedded import free_port
from services.runtime.errors import NotFound
from services.runtime.records import now_ms
from services.runtime.settings import IntegraSettings
from services.scoring.app import ScoringService
from services.scoring.shop_deletions import DeletionOptions, Receiver, ShopDeletionDispatcher

OPTIONS = DeletionOptions(poll_interval=3600, timeout=1, backoff_cap=3600)


@pytest.fixture
async def service(settings: IntegraSettings) -> AsyncIterator[ScoringService]:
    """Scoring whose deliveries go to a port where nothing listens (risk and kpi down)."""
    down = Receiver(f"http://127.0.0.1:{free_port()}")
    started = ScoringService(
        settings,
        receivers={"risk": down, "kpi": down},
        deletion_options=OPTIONS,
    )
    await started.start()
    try:
        yield started
    finally:
        await started.stop()


async def test_a_repeated_request_stores_one_delivery_per_service(
    service: ScoringService,
) -> None:
    shop = await service.store.create_shop("Doomed", None, None)
    for _ in range(2):
        await service.deletions.request(shop["_id"], BUILT_IN_ACTOR)
    deliveries = await service.deletions.of_shop(shop["_id"])
    assert sorted(d["receiver"] for d in deliveries) == ["kpi", "risk"]
    assert await service.deletions.pending_counts() == {"risk": 1, "kpi": 1}


async def test_a_crash_before_the_local_deletion_is_healed_by_the_dispatcher(
    service: ScoringService,
) -> None:
    shop = await service.store.create_shop("Half deleted", None, None)
    # The request stored its deliveries, then the process died before remove_shop.
    await service.deletions.request(shop["_id"], BUILT_IN_ACTOR)
    replica = ShopDeletionDispatcher(
        lambda: service.deletions,
        service.store.remove_shop,
        service.dispatcher.receivers,
        None,
        OPTIONS,
    )
    async with replica:
        report = await replica.run_once()
    assert (report.delivered, report.failed) == (0, 2)  # nothing listens: both to be retried
    with pytest.raises(NotFound):
        await service.store.get_shop(shop["_id"])
    deliveries = await service.deletions.of_shop(shop["_id"])
    assert {(d["attempts"], d["delivered"]) for d in deliveries} == {(1, False)}
    assert all(d["due_ms"] > now_ms() and "ConnectError" in d["last_error"] for d in deliveries)


async def test_a_delivery_is_leased_by_one_dispatcher(service: ScoringService) -> None:
    shop = await service.store.create_shop("Contended", None, None)
    await service.deletions.request(shop["_id"], BUILT_IN_ACTOR)
    [due, *_] = await service.deletions.due(10)
    lease = timedelta(seconds=30)
    claims = [await service.deletions.claim(due, lease) for _ in range(2)]
    assert [claim is not None for claim in claims] == [True, False]
    still_due = [d["_id"] for d in await service.deletions.due(10)]
    assert due["_id"] not in still_due  # leased: not due again
