"""The MongoDB client every service uses: PyMongo's async API, instrumented for Prometheus."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from pymongo import AsyncMongoClient
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import PyMongoError
from pymongo.monitoring import (
    CommandFailedEvent,
    CommandListener,
    CommandStartedEvent,
    CommandSucceededEvent,
)
from pymongo.write_concern import WriteConcern

from services.runtime.metrics import DB_OPERATION_DURATION
from services.runtime.records import Document
from services.runtime.settings import IntegraSettings
from services.runtime.tracing import trace_exemplar

BATCH_READ_SIZE = 10_000
"""First-batch size of the reads that answer a batch of shops at once (a page of 100 shops'
latest KPIs, targets, assessment histories): they fit in one command, so the command count
does not grow with the page (MongoDB's default first batch is 101 documents)."""

# Commands the driver sends by itself; they are not work a request asked for.
_HOUSEKEEPING = frozenset({"hello", "ismaster", "isMaster", "endSessions", "saslStart"})
# Known command names; anything else is counted as "other" so labels stay bounded.
_COMMANDS = frozenset(
    {
        "find", "insert", "update", "delete", "aggregate", "count", "distinct",
        "findAndModify", "getMore", "killCursors", "createIndexes", "listIndexes",
        "drop", "ping", "listCollections", "create", "commitTransaction", "abortTransaction",
        "bulkWrite", "dropDatabase",
    }
)  # fmt: skip
# MongoDB error code names reported as error_type; any other failure is its exception class
# (network errors, as PyMongo reports them) or "_OTHER", so the label stays bounded.
_ERROR_CODES = frozenset(
    {
        "DuplicateKey", "WriteConflict", "NoSuchTransaction", "NamespaceNotFound",
        "CursorNotFound", "MaxTimeMSExpired", "NetworkTimeout", "HostUnreachable",
        "Unauthorized", "BadValue", "InternalError", "TransactionTooOld", "NotWritablePrimary",
    }
)  # fmt: skip
_ERROR_CLASSES = frozenset(
    {"AutoReconnect", "NetworkTimeout", "ConnectionFailure", "NotPrimaryError", "OperationFailure"}
)
DB_SYSTEM: Final = "mongodb"


def error_type(failure: Mapping[str, Any]) -> str:
    """The bounded ``error_type`` of a failed command (OpenTelemetry's ``error.type``)."""
    code, kind = failure.get("codeName"), failure.get("errtype")
    if code in _ERROR_CODES:
        return str(code)
    if kind in _ERROR_CLASSES:
        return str(kind)
    return "_OTHER"


class CommandMetrics(CommandListener):
    """Observes each MongoDB command's latency into ``db_client_operation_duration_seconds``
    (``db_system_name="mongodb"``, ``db_operation_name`` the command, ``error_type`` empty
    on success)."""

    def __init__(self, service: str) -> None:
        self.service = service

    def started(self, event: CommandStartedEvent) -> None:
        """Nothing to do when a command starts; durations come with its outcome."""

    def succeeded(self, event: CommandSucceededEvent) -> None:
        """Record a successful command."""
        self._observe(event.command_name, "", event.duration_micros)

    def failed(self, event: CommandFailedEvent) -> None:
        """Record a failed command."""
        self._observe(event.command_name, error_type(event.failure), event.duration_micros)

    def _observe(self, name: str, error: str, micros: int) -> None:
        if name in _HOUSEKEEPING:
            return
        command = name if name in _COMMANDS else "other"
        labels = (self.service, DB_SYSTEM, command, error)
        DB_OPERATION_DURATION.labels(*labels).observe(micros / 1e6, exemplar=trace_exemplar())


def connect(settings: IntegraSettings, service: str) -> AsyncMongoClient[Document]:
    """A client for ``service``: UTC-aware dates, bounded timeouts, commands measured.

    Writes are acknowledged by a majority and journaled, so an acknowledged write survives a
    crash (nx-27017 maps ``j: true`` to SQLite's ``synchronous=FULL``).
    """
    if settings.mongodb_uri is None:
        raise RuntimeError("MONGODB_URI is not set and no embedded database was started")
    return AsyncMongoClient(
        settings.mongodb_uri,
        tz_aware=True,
        serverSelectionTimeoutMS=settings.mongo_timeout_ms,
        connectTimeoutMS=settings.mongo_timeout_ms,
        socketTimeoutMS=settings.mongo_socket_timeout_ms,
        maxPoolSize=settings.mongo_pool_size,
        w="majority",
        journal=True,
        event_listeners=[CommandMetrics(service)],
        appname=f"integra-{service}",
    )


def database(
    client: AsyncMongoClient[Document], settings: IntegraSettings, service: str
) -> AsyncDatabase[Document]:
    """The database owned by ``service``."""
    return client.get_database(
        settings.database_name(service), write_concern=WriteConcern(w="majority", j=True)
    )


async def ping(client: AsyncMongoClient[Document]) -> bool:
    """Whether the database answers ``ping``; used by readiness."""
    try:
        await client.admin.command("ping")
    except PyMongoError:
        return False
    return True


async def replace_fields(
    collection: AsyncCollection[Any],
    guard: Mapping[str, Any],
    current: Mapping[str, Any],
    fields: Mapping[str, Any],
) -> dict[str, Any] | None:
    """Write ``current`` with ``fields`` changed, as a whole replacement of the document
    ``guard`` matches; the document as written, or ``None`` when ``guard`` matched nothing.

    A replacement, not ``$set``: nx-27017 stores a date written by ``$set`` (``updated_at``)
    as a string, which reads back without its time zone; a replaced document keeps its dates.
    """
    replacement = {k: v for k, v in {**current, **fields}.items() if k != "_id"}
    result = await collection.replace_one(dict(guard), replacement)
    if result.matched_count == 0:
        return None
    return {"_id": current["_id"], **replacement}
