"""The gateway's HTTP client does no import work per request.

httpcore (under httpx) runs ``import sniffio`` each time it sets up a lock or detects the
event loop, several times per request. Python caches a module that imported, not an import
that failed: without sniffio installed, every gateway → service call searched sys.path again
(a third of the standalone gateway's CPU per request, docs/benchmarks.md).
"""

from __future__ import annotations

import importlib.abc
import sys
from collections.abc import Sequence
from importlib.machinery import ModuleSpec
from types import ModuleType

from httpcore._synchronization import AsyncLock, current_async_library


class CountingFinder(importlib.abc.MetaPathFinder):
    """Counts module searches; finds nothing itself."""

    def __init__(self) -> None:
        self.searched: list[str] = []

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: ModuleType | None = None,
    ) -> ModuleSpec | None:
        self.searched.append(fullname)
        return None


async def test_detecting_the_event_loop_searches_for_no_module() -> None:
    current_async_library()  # whatever the first call imports, it stays imported
    finder = CountingFinder()
    sys.meta_path.insert(0, finder)
    try:
        for _ in range(100):
            assert current_async_library() == "asyncio"
            async with AsyncLock():
                pass
    finally:
        sys.meta_path.remove(finder)
    assert finder.searched == []
