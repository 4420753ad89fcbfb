"""Who is calling: the bearer token of a request checked as an API key or a JWT."""

from __future__ import annotations

from gateway.security.keys import ApiKeyStore
from services.runtime.auth import (
    InvalidCredentials,
    JwtVerifier,
    Principal,
    bearer_token,
    looks_like_api_key,
)
from services.runtime.settings import IntegraSettings


class Authenticator:
    """Turns an ``Authorization`` header into a :class:`Principal`."""

    def __init__(self, settings: IntegraSettings, keys: ApiKeyStore | None) -> None:
        secret = settings.jwt_secret.get_secret_value() if settings.jwt_secret else None
        self.jwt = JwtVerifier(
            secret, settings.jwt_jwks_file, settings.jwt_audience, settings.jwt_issuer
        )
        self.keys = keys

    async def authenticate(self, authorization: str | None) -> Principal | None:
        """The caller; ``None`` without credentials; :class:`InvalidCredentials` for bad ones."""
        token = bearer_token(authorization)
        if token is None:
            return None
        if looks_like_api_key(token):
            if self.keys is None:
                raise InvalidCredentials("API keys need the gateway's database (MONGODB_URI)")
            return await self.keys.authenticate(token)
        if not self.jwt.configured:
            raise InvalidCredentials(
                "JWTs are not accepted: no INTEGRA_JWT_SECRET or INTEGRA_JWT_JWKS_FILE is set"
            )
        return self.jwt.verify(token)
