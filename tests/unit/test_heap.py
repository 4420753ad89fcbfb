"""A served process freezes its start-up heap once start-up is done, not before."""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import AsyncIterator

from services.runtime.heap import frozen_after_startup


def test_the_heap_is_frozen_after_startup_and_the_lifespan_state_passes_through() -> None:
    seen: list[int] = []

    @contextlib.asynccontextmanager
    async def lifespan(app: str) -> AsyncIterator[dict[str, str]]:
        seen.append(gc.get_freeze_count())  # during start-up
        yield {"app": app}

    async def serve() -> dict[str, str]:
        async with frozen_after_startup(lifespan)("stack") as state:
            seen.append(gc.get_freeze_count())  # serving
            return dict(state)

    gc.unfreeze()
    try:
        assert asyncio.run(serve()) == {"app": "stack"}
    finally:
        gc.unfreeze()
    starting, serving = seen
    assert starting == 0
    assert serving > 1000, "the modules and objects alive at start-up are frozen"
