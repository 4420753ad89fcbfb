"""The scoring service as a component and as a standalone ASGI app.

Besides its HTTP API it runs one background task between start and stop: the dispatcher that
delivers shop deletions to the risk and kpi services (:mod:`services.scoring.shop_deletions`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from pymongo.asynchronous.database import AsyncDatabase
from starlette.applications import Starlette
from starlette.routing import BaseRoute

from services.runtime.app import MongoComponent, build_app, cancel_until_done
from services.runtime.records import Document
from services.runtime.settings import IntegraSettings
from services.runtime.tracing import configure_tracing
from services.scoring import service as use_cases
from services.scoring.routes import scoring_routes
from services.scoring.shop_deletions import (
    DeletionOptions,
    Receiver,
    ShopDeletionDispatcher,
    ShopDeletionStore,
)
from services.scoring.store import ScoreStore


class ScoringSettings(BaseSettings):
    """Settings of the scoring service's background work (environment ``INTEGRA_SCORING_*``)."""

    model_config = SettingsConfigDict(env_prefix="INTEGRA_SCORING_", extra="ignore", frozen=True)

    deletion_poll_seconds: float = Field(
        default=5.0, gt=0, description="Idle poll interval of the shop deletion dispatcher."
    )
    deletion_backoff_cap_seconds: float = Field(
        default=60.0, gt=0, description="Longest wait between two deliveries of a deletion."
    )

    def deletion_options(self) -> DeletionOptions:
        """The dispatcher's options from these settings."""
        return DeletionOptions(
            poll_interval=self.deletion_poll_seconds, backoff_cap=self.deletion_backoff_cap_seconds
        )


class ScoringService(MongoComponent):
    """Shops, weight profiles, assessments, ranking and advice (domain.md §1–2).

    ``receivers`` says how shop deletions reach risk and kpi: in-process ASGI transports in the
    one-process stack, the network (``settings.risk_url``, ``settings.kpi_url``) otherwise.
    """

    name = "scoring"

    def __init__(
        self,
        settings: IntegraSettings,
        *,
        receivers: Mapping[str, Receiver] | None = None,
        deletion_options: DeletionOptions | None = None,
    ) -> None:
        super().__init__(settings)
        self._service: use_cases.ScoringService | None = None
        self._task: asyncio.Task[None] | None = None
        self.dispatcher = ShopDeletionDispatcher(
            lambda: self.deletions,
            lambda shop_id: self.store.remove_shop(shop_id),
            receivers
            or {
                "risk": Receiver(str(settings.risk_url)),
                "kpi": Receiver(str(settings.kpi_url)),
            },
            self.service_tokens,
            deletion_options or ScoringSettings().deletion_options(),
        )

    def deliver_deletions_to(self, receivers: Mapping[str, Receiver]) -> None:
        """Where shop deletions go (before start): the one-process stack builds the other
        services' in-process transports after this service's app."""
        self.dispatcher.receivers = dict(receivers)

    @property
    def service(self) -> use_cases.ScoringService:
        """The use cases over the service's database (only between start and stop)."""
        if self._service is None:
            raise RuntimeError("scoring is not started")
        return self._service

    @property
    def store(self) -> ScoreStore:
        """The service's store (only between start and stop)."""
        return self.service.store

    @property
    def deletions(self) -> ShopDeletionStore:
        """The pending shop deletions (only between start and stop)."""
        return self.service.deletions

    def on_connect(self, db: AsyncDatabase[Document]) -> None:
        """Build the stores and the use cases over the service's database."""
        self._service = use_cases.ScoringService(
            ScoreStore(db, self.feed), ShopDeletionStore(db), self.dispatcher.notify
        )

    async def prepare(self) -> None:
        """Indexes and the built-in weight profile."""
        await self.store.prepare()
        await self.deletions.prepare()

    async def start(self) -> None:
        """Connect, prepare, then run the deletion dispatcher."""
        await super().start()
        self._task = asyncio.create_task(self.dispatcher.run_forever())

    async def stop(self) -> None:
        """Cancel the dispatcher, then close the database client."""
        task, self._task = self._task, None
        if task is not None:
            await cancel_until_done(task)
        await super().stop()

    def routes(self) -> list[BaseRoute]:
        """The scoring HTTP API."""
        return scoring_routes(lambda: self.service)


def create_app(settings: IntegraSettings | None = None) -> Starlette:
    """A standalone scoring app (``integra serve scoring``)."""
    configure_tracing("integra-scoring")  # before any client or schema is made
    settings = settings or IntegraSettings()
    return build_app(ScoringService(settings), settings)
