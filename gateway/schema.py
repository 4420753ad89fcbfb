"""The gateway's schema: an Apollo Federation v2 subgraph over the services."""

from __future__ import annotations

from pathlib import Path

import strawberry
from graphql import GraphQLError
from strawberry.federation import Schema
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from gateway.errors import ErrorCodesAndMetrics, ErrorCodesAndMetricsWithoutSuggestions
from gateway.graphql_tracing import GraphQLTracing
from gateway.operation_calls import ServiceCallsPerOperation
from gateway.security.api_key_fields import ApiKeyMutation, ApiKeyQuery
from gateway.security.limits import limit_extensions
from gateway.security.live_connections import SubscriptionsOverStreams
from gateway.security.roles import RoleCheck
from gateway.types.kpi_operations import KpiMutation, KpiQuery
from gateway.types.live import Subscription
from gateway.types.risk_operations import RiskMutation, RiskQuery
from gateway.types.scoring_operations import ScoringMutation, ScoringQuery
from services.runtime.settings import IntegraSettings
from services.runtime.tracing import tracing_enabled

SDL_PATH = Path(__file__).with_name("schema.graphql")


@strawberry.type(description="Everything Integra answers.")
class Query(ScoringQuery, RiskQuery, KpiQuery, ApiKeyQuery):
    pass


@strawberry.type(description="Everything Integra changes.")
class Mutation(ScoringMutation, RiskMutation, KpiMutation, ApiKeyMutation):
    pass


class IntegraSchema(Schema):
    """The federated schema; errors are logged by :mod:`gateway.errors`, not here."""

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """Expected errors (bad input, not found) are answers, not incidents: log nothing."""


def build_schema(settings: IntegraSettings | None = None) -> Schema:
    """The federated schema (Federation 2.9, accepted by Apollo's and The Guild's composers),
    with the role check and the document limits of ``settings`` (default: the environment's)."""
    settings = settings or IntegraSettings()
    errors = (
        ErrorCodesAndMetrics
        if settings.introspection_enabled
        else ErrorCodesAndMetricsWithoutSuggestions
    )
    return IntegraSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        federation_version="2.9",
        extensions=[
            *([GraphQLTracing] if tracing_enabled() else []),
            errors,
            ServiceCallsPerOperation,
            *limit_extensions(settings),
            RoleCheck,
            SubscriptionsOverStreams,
        ],
        config=StrawberryConfig(auto_camel_case=True),
    )


def export_sdl(path: Path = SDL_PATH) -> str:
    """Write the schema's SDL (as ``_service { sdl }`` answers it) to ``path``."""
    sdl = build_schema().as_str() + "\n"
    path.write_text(sdl, encoding="utf-8")
    return sdl
