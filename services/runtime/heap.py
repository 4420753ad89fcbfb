"""The garbage collector of a serving process: what start-up built stays out of collections.

A full (generation 2) collection walks every tracked object. In ``integra up`` that is about
130 000 objects made at start-up (modules, the GraphQL schema, route tables, pydantic models)
that live as long as the process; walking them took about 90 ms per full collection under
load, a pause every request in flight waits for (``docs/benchmarks.md``). Frozen, they are
left out; what requests allocate is collected as before.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any, TypeVar

App = TypeVar("App")
Lifespan = Callable[[App], AbstractAsyncContextManager[Any]]


def freeze_startup_heap() -> None:
    """Collect once, then move every surviving object to the permanent generation (the
    ``python_gc_frozen_objects`` gauge shows how many)."""
    gc.collect()
    gc.freeze()


def frozen_after_startup(lifespan: Lifespan[App]) -> Lifespan[App]:
    """``lifespan`` followed, once its start-up is done, by :func:`freeze_startup_heap`."""

    @contextlib.asynccontextmanager
    async def started_then_frozen(app: App) -> AsyncIterator[Any]:
        async with lifespan(app) as state:
            freeze_startup_heap()
            yield state

    return started_then_frozen
