"""CSRF prevention, after Apollo Server's rule.

A browser sends a "simple" request cross-site without asking the server first (no CORS
preflight): a GET, or a POST whose content type is missing or one of ``text/plain``,
``multipart/form-data`` and ``application/x-www-form-urlencoded``. Such a request is refused
unless it carries a header only a preflighted request can have: ``X-Integra-CSRF``,
``Apollo-Require-Preflight`` or ``X-Apollo-Operation-Name`` (any non-empty value). A POST with
``Content-Type: application/json`` is always preflighted and passes.
"""

from __future__ import annotations

from collections.abc import Mapping

PREFLIGHT_HEADERS = ("x-integra-csrf", "apollo-require-preflight", "x-apollo-operation-name")
SIMPLE_CONTENT_TYPES = frozenset(
    {"text/plain", "multipart/form-data", "application/x-www-form-urlencoded"}
)
CODE = "CSRF_PREVENTED"
MESSAGE = (
    "this request has been blocked as a potential cross-site request forgery: send "
    "Content-Type: application/json, or a non-empty X-Integra-CSRF (or "
    "Apollo-Require-Preflight) header"
)


def is_forgeable(method: str, headers: Mapping[str, str]) -> bool:
    """Whether a browser could have sent this request cross-site without a preflight."""
    if any(headers.get(name, "").strip() for name in PREFLIGHT_HEADERS):
        return False
    if method == "GET":
        return True
    content_type = headers.get("content-type", "").split(";")[0].strip().lower()
    return not content_type or content_type in SIMPLE_CONTENT_TYPES
