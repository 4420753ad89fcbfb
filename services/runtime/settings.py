"""Configuration from environment variables (pydantic-settings); documented in the README."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import AliasChoices, Field, HttpUrl, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class IntegraSettings(BaseSettings):
    """Settings of every Integra process. Each field reads one environment variable."""

    model_config = SettingsConfigDict(env_prefix="INTEGRA_", extra="ignore", frozen=True)

    mongodb_uri: str | None = Field(
        default=None,
        validation_alias=AliasChoices("MONGODB_URI", "INTEGRA_MONGODB_URI"),
        description="MongoDB to use; unset means start the embedded nx-27017.",
    )
    data_dir: Path = Field(
        default=Path(".integra-data"), description="Data directory of the embedded database."
    )
    db_prefix: str = Field(
        default="integra",
        pattern=r"^[A-Za-z0-9_]{1,32}$",
        description="Prefix of the per-service database names (<prefix>_scoring, ...).",
    )
    host: str = Field(default="127.0.0.1", description="Address the HTTP server binds to.")
    port: int = Field(default=8000, ge=0, le=65535, description="Port of the HTTP server.")
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    shutdown_timeout_seconds: int = Field(
        default=25,
        gt=0,
        le=3600,
        description="On SIGTERM, how long the requests in flight may take before they are "
        "cut (uvicorn's graceful shutdown); keep it within the orchestrator's grace period.",
    )
    environment: Literal["development", "production"] = Field(
        default="development",
        description="production masks unexpected errors and disables GraphiQL.",
    )
    scoring_url: HttpUrl = Field(
        default=HttpUrl("http://127.0.0.1:8001"),
        description="Base URL of the scoring service (the gateway, and kpi's no-data check, "
        "in their own processes).",
    )
    risk_url: HttpUrl = Field(default=HttpUrl("http://127.0.0.1:8002"))
    kpi_url: HttpUrl = Field(default=HttpUrl("http://127.0.0.1:8003"))
    service_timeout_seconds: float = Field(
        default=5.0, gt=0, le=120, description="Timeout of one gateway → service call."
    )
    service_http_client: Literal["aiohttp", "httpx"] = Field(
        default="aiohttp",
        description="The connection pool under the gateway's calls to services over the "
        "network: aiohttp (less CPU per call) or httpx's own.",
    )
    mongo_timeout_ms: int = Field(
        default=3000, ge=100, le=60000, description="Server selection and connect timeout."
    )
    mongo_pool_size: int = Field(default=50, ge=1, le=1000)
    max_body_bytes: int = Field(
        default=1_048_576, ge=1024, description="Largest request body accepted (413 above)."
    )
    sla_seconds: float = Field(default=0.5, gt=0, description="Latency SLA of the platform.")
    auth_enabled: bool = Field(
        default=True,
        description="Require a bearer token on /graphql; false is logged as a WARNING at start.",
    )
    jwt_secret: SecretStr | None = Field(
        default=None, description="HS256 secret for JWTs (unset: HS256 tokens are refused)."
    )
    jwt_jwks_file: Path | None = Field(
        default=None, description="JWKS file with the RS256 public keys JWTs are checked with."
    )
    jwt_jwks_url: HttpUrl | None = Field(
        default=None,
        description="JWKS URL of an identity provider (keys cached, refetched on a new `kid`).",
    )
    jwt_audience: str | None = Field(default=None, description="Required JWT `aud`, if set.")
    jwt_issuer: str | None = Field(default=None, description="Required JWT `iss`, if set.")
    service_token_key: SecretStr | None = Field(
        default=None,
        min_length=32,
        description="Key that signs the per-call tokens between components (`integra up`: "
        "generated into the data directory).",
    )
    service_token_previous_keys: Annotated[list[SecretStr], NoDecode] = Field(
        default_factory=list,
        description="Previous service keys still accepted during a rotation (comma-separated).",
    )
    service_token_ttl_seconds: float = Field(
        default=60.0, ge=5, le=3600, description="Lifetime of one per-call service token."
    )
    max_query_depth: int = Field(default=12, ge=1, le=100, description="Deepest field nesting.")
    max_query_tokens: int = Field(
        default=2000, ge=10, le=100_000, description="Most lexical tokens in one document."
    )
    max_aliases: int = Field(default=30, ge=0, le=1000, description="Most aliases per document.")
    rate_limit_per_minute: int = Field(
        default=600,
        ge=0,
        description="GraphQL requests per client and minute, shared by the gateway replicas "
        "through the gateway's database (without one: per replica); 0: no limit.",
    )
    persisted_query_ttl_seconds: int = Field(
        default=604_800,
        ge=0,
        description="How long the gateway's database keeps a persisted query (APQ) after it "
        "was stored (0: forever); an expired hash is registered again by the client.",
    )
    change_retention_hours: float = Field(
        default=168,
        gt=0,
        description="How long a service's change feed keeps a change (GET /changes); an older "
        "cursor is CURSOR_EXPIRED.",
    )
    live_connections_per_client: int = Field(
        default=10,
        ge=1,
        le=1000,
        description="Subscription connections a client may hold open on one gateway replica.",
    )
    live_recheck_seconds: float = Field(
        default=60,
        gt=0,
        le=3600,
        description="How often an open subscription connection's credential is checked again.",
    )
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Browser origins allowed by CORS (comma-separated; empty: none).",
    )
    introspection: bool | None = Field(
        default=None,
        description="Allow introspection and `_service` (unset: only in development).",
    )

    @field_validator("cors_origins", "service_token_previous_keys", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        """``https://a.example, https://b.example`` from the environment → a list."""
        if isinstance(value, str):
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return value

    @property
    def introspection_enabled(self) -> bool:
        """Whether introspection (and federation's ``_service``) is answered."""
        if self.introspection is None:
            return self.environment == "development"
        return self.introspection

    @property
    def mongo_socket_timeout_ms(self) -> int:
        """How long the MongoDB client waits for an answer on a connection."""
        return max(self.mongo_timeout_ms * 4, 10_000)

    def database_name(self, service: str) -> str:
        """Name of the database a service owns."""
        return f"{self.db_prefix}_{service}"
