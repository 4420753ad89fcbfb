"""Automatic persisted queries (Apollo's APQ, ``sha256Hash`` protocol).

A client sends ``extensions.persistedQuery = {version: 1, sha256Hash}``; without the query
text, the gateway answers ``PERSISTED_QUERY_NOT_FOUND`` until the client sends hash and query
together, after which the hash alone is enough (also over GET). Queries are kept in the
gateway's database (collection ``persisted_queries``, shared by the replicas) behind an
in-process LRU.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
from collections import OrderedDict

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from gateway.security.limits import cacheable
from services.runtime.errors import ValidationFailed
from services.runtime.mongo import Document

NOT_FOUND_CODE = "PERSISTED_QUERY_NOT_FOUND"
NOT_FOUND_MESSAGE = "PersistedQueryNotFound"  # the message Apollo clients look for
HASH_FIELD = "extensions.persistedQuery.sha256Hash"
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def requested_hash(extensions: object) -> str | None:
    """The hash a request's ``extensions`` asks for; ``None`` when it uses no APQ."""
    if not isinstance(extensions, dict) or extensions.get("persistedQuery") is None:
        return None
    persisted = extensions["persistedQuery"]
    if not isinstance(persisted, dict) or persisted.get("version", 1) != 1:
        raise ValidationFailed("extensions.persistedQuery", "only APQ version 1 is supported")
    digest = persisted.get("sha256Hash")
    if not isinstance(digest, str) or not _SHA256.match(digest):
        raise ValidationFailed(HASH_FIELD, "sha256Hash must be 64 lowercase hex digits")
    return digest


def check_hash(query: str, digest: str) -> None:
    """A query sent with its hash must match it (else nothing is stored)."""
    if hashlib.sha256(query.encode("utf-8")).hexdigest() != digest:
        raise ValidationFailed(HASH_FIELD, "provided sha does not match query")


class PersistedQueryStore:
    """Query texts by sha256 hash: an LRU in front of an optional database collection."""

    def __init__(self, db: AsyncDatabase[Document] | None, capacity: int = 1000) -> None:
        self.queries = None if db is None else db["persisted_queries"]
        self.capacity = capacity
        self._cache: OrderedDict[str, str] = OrderedDict()

    def _remember(self, digest: str, query: str) -> None:
        self._cache[digest] = query
        self._cache.move_to_end(digest)
        while len(self._cache) > self.capacity:
            self._cache.popitem(last=False)

    async def get(self, digest: str) -> str | None:
        """The query with this hash, if any replica has stored it."""
        query = self._cache.get(digest)
        if query is None and self.queries is not None:
            doc = await self.queries.find_one({"_id": digest})
            query = None if doc is None else str(doc["query"])
        if query is not None:
            self._remember(digest, query)
        return query

    async def put(self, digest: str, query: str) -> None:
        """Store a query whose hash has been checked. A text above the cache limit is not
        stored (its request still runs): the client simply keeps sending it whole."""
        if not cacheable(query):
            return
        if digest in self._cache:
            self._cache.move_to_end(digest)
            return
        if self.queries is not None:
            with contextlib.suppress(DuplicateKeyError):  # another replica stored it first
                await self.queries.insert_one({"_id": digest, "query": query})
        self._remember(digest, query)
