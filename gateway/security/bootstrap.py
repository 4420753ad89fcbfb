"""The local admin key: created on the first start of ``integra up``, kept in the data dir.

``<data_dir>/admin-api-key`` (mode 0600) holds the plaintext of an ADMIN API key. On each
start the stored key is reused while it is valid; a new one is created only when no unrevoked
ADMIN key exists at all (an operator who revoked the local key and made others keeps control).
"""

from __future__ import annotations

import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from services.runtime import mongo
from services.runtime.api_keys import ApiKeyStore
from services.runtime.auth import InvalidCredentials, Role
from services.runtime.settings import IntegraSettings

log = logging.getLogger("integra")

KEY_FILE_NAME = "admin-api-key"
LOCAL_KEY_NAME = "local admin (integra up)"


def key_file(data_dir: Path) -> Path:
    """Where the local admin key of a data directory is stored."""
    return data_dir / KEY_FILE_NAME


@dataclass(frozen=True)
class LocalKey:
    """The outcome of :func:`ensure_local_admin_key`: the file, or why there is none."""

    path: Path | None
    created: bool


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` readable by its owner only (0600), atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # mkstemp: a fresh random name opened with O_EXCL and mode 0600, so a file or link
    # planted in the directory is never followed.
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text + "\n")
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


async def ensure_local_admin_key(settings: IntegraSettings) -> LocalKey:
    """Reuse or create the local ADMIN key of ``settings.data_dir`` (see the module doc)."""
    path = key_file(settings.data_dir.resolve())
    client = mongo.connect(settings, "gateway")
    try:
        store = ApiKeyStore(mongo.database(client, settings, "gateway"))
        if path.is_file():
            try:
                caller = await store.authenticate(path.read_text(encoding="utf-8").strip())
            except InvalidCredentials:
                caller = None
            if caller is not None and caller.role is Role.ADMIN:
                return LocalKey(path, created=False)
        if await store.has_active_admin():
            log.warning(
                "ADMIN API keys exist but %s holds none; create one with "
                "`integra create-api-key --name NAME --role ADMIN`",
                path,
            )
            return LocalKey(None, created=False)
        _, plaintext = await store.create(LOCAL_KEY_NAME, Role.ADMIN)
        write_private(path, plaintext)
        return LocalKey(path, created=True)
    finally:
        await client.close()


async def create_api_key(settings: IntegraSettings, name: str, role: Role) -> str:
    """Create a key in the gateway's database (``integra create-api-key``); its plaintext."""
    client = mongo.connect(settings, "gateway")
    try:
        _, plaintext = await ApiKeyStore(mongo.database(client, settings, "gateway")).create(
            name, role
        )
        return plaintext
    finally:
        await client.close()
