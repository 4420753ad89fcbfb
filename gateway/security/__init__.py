"""The gateway's security: who is calling (API keys, JWTs), what they may do (roles), and the
limits every request is held to (query size, rate, CSRF, CORS), plus persisted queries."""
