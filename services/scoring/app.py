"""The scoring service as a component and as a standalone ASGI app."""

from __future__ import annotations

from pymongo.asynchronous.database import AsyncDatabase
from starlette.applications import Starlette
from starlette.routing import BaseRoute

from services.runtime.app import MongoComponent, build_app
from services.runtime.mongo import Document
from services.runtime.settings import IntegraSettings
from services.scoring.routes import scoring_routes
from services.scoring.store import ScoreStore


class ScoringService(MongoComponent):
    """Shops, weight profiles, assessments, ranking and advice (domain.md §1–2)."""

    name = "scoring"

    def __init__(self, settings: IntegraSettings) -> None:
        super().__init__(settings)
        self._store: ScoreStore | None = None

    @property
    def store(self) -> ScoreStore:
        """The service's store (only between start and stop)."""
        if self._store is None:
            raise RuntimeError("scoring is not started")
        return self._store

    def on_connect(self, db: AsyncDatabase[Document]) -> None:
        """Build the store over the service's database."""
        self._store = ScoreStore(db)

    async def prepare(self) -> None:
        """Indexes and the built-in weight profile."""
        await self.store.prepare()

    def routes(self) -> list[BaseRoute]:
        """The scoring HTTP API."""
        return scoring_routes(lambda: self.store)


def create_app(settings: IntegraSettings | None = None) -> Starlette:
    """A standalone scoring app (``integra serve scoring``)."""
    settings = settings or IntegraSettings()
    return build_app(ScoringService(settings), settings)
