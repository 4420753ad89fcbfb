"""Automatic persisted queries (Apollo's APQ, ``sha256Hash`` protocol).

A client sends ``extensions.persistedQuery = {version: 1, sha256Hash}``; without the query
text, the gateway answers ``PERSISTED_QUERY_NOT_FOUND`` until the client sends hash and query
together, after which the hash alone is enough (also over GET). Queries are kept in the
gateway's database (collection ``persisted_queries``, shared by the replicas) behind an
in-process LRU.

Each stored entry carries ``expireAt`` (stored + ``INTEGRA_PERSISTED_QUERY_TTL_SECONDS``, 7 days
by default; none with 0) and a TTL index deletes it then. An expired hash answers
``PERSISTED_QUERY_NOT_FOUND`` and the client registers it again; a replica's LRU may keep
answering it until evicted or restarted. Entries stored before this expiry existed keep none.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
from collections import OrderedDict
from datetime import UTC, datetime, timedelta

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError, PyMongoError

from gateway.security.limits import cacheable
from services.runtime.errors import ValidationFailed
from services.runtime.records import Document

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

    def __init__(
        self, db: AsyncDatabase[Document] | None, capacity: int = 1000, ttl_seconds: int = 0
    ) -> None:
        self.queries = None if db is None else db["persisted_queries"]
        self.capacity = capacity
        self.ttl = timedelta(seconds=ttl_seconds) if ttl_seconds > 0 else None
        self._indexed = False
        self._cache: OrderedDict[str, str] = OrderedDict()

    async def _ensure_ttl_index(self) -> None:
        """The TTL index on ``expireAt``, created by the first store (retried if it fails)."""
        if self._indexed or self.queries is None:
            return
        self._indexed = True
        try:
            await self.queries.create_index("expireAt", expireAfterSeconds=0)
        except PyMongoError:
            self._indexed = False
            raise

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
            doc: Document = {"_id": digest, "query": query}
            if self.ttl is not None:
                await self._ensure_ttl_index()
                doc["expireAt"] = datetime.now(UTC) + self.ttl
            with contextlib.suppress(DuplicateKeyError):  # another replica stored it first
                await self.queries.insert_one(doc)
        self._remember(digest, query)
