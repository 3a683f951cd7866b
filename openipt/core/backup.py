"""Copying the database and uploaded files out, and back in (``manage.py backup``/``restore``).

- SQLite: the online backup API (``sqlite3.Connection.backup``) copies a consistent
  snapshot while the service keeps running — never copy the file itself (a copy taken
  mid-write loses acknowledged writes).
- PostgreSQL: ``pg_dump --format=custom`` and ``pg_restore --clean --if-exists``; the client
  tools must be installed (``postgresql-client``).
- Uploaded files (``MEDIA_ROOT``: message attachments) go into a tar archive.
- The keys a restore needs to read what is encrypted (the secret key and the field
  encryption key: MFA secrets) go into a separate file, never into the backup directory.

The audit-chain anchor and the commands themselves live one layer up
(openipt/workspace/management/commands/backup.py, restore.py).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections

MANIFEST = "manifest.json"
MEDIA_ARCHIVE = "media.tar"
DATABASE_FILES = {"sqlite": "database.sqlite3", "postgresql": "database.pgdump"}


class BackupError(Exception):
    """A backup or restore that cannot go on, with what to do in the message."""


def vendor() -> str:
    found: str = connections[DEFAULT_DB_ALIAS].vendor
    if found not in DATABASE_FILES:
        raise BackupError(f"Backups support SQLite and PostgreSQL, not {found}.")
    return found


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _pg_env_and_args() -> tuple[dict[str, str], list[str]]:
    db = connections[DEFAULT_DB_ALIAS].settings_dict
    env = dict(os.environ)
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = str(db["PASSWORD"])
    args = []
    for flag, key in (("--host", "HOST"), ("--port", "PORT"), ("--username", "USER")):
        if db.get(key):
            args += [flag, str(db[key])]
    return env, [*args, "--dbname", str(db["NAME"])]


def _run(command: list[str], env: dict[str, str]) -> None:
    tool = shutil.which(command[0])
    if tool is None:
        raise BackupError(
            f"{command[0]} is not installed (Debian: apt-get install postgresql-client)."
        )
    done = subprocess.run(  # noqa: S603 - fixed tool, arguments from settings, no shell
        [tool, *command[1:]], env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise BackupError(f"{command[0]} failed: {done.stderr.strip()[:2000]}")


def database_dump(target: Path) -> Path:
    """Write a consistent copy of the database into the directory ``target``."""
    kind = vendor()
    out = target / DATABASE_FILES[kind]
    if kind == "sqlite":
        source = connections[DEFAULT_DB_ALIAS]
        source.ensure_connection()
        with sqlite3.connect(out) as copy:
            source.connection.backup(copy)
        return out
    env, args = _pg_env_and_args()
    _run(["pg_dump", "--format=custom", "--no-owner", "--file", str(out), *args], env)
    return out


def database_load(source: Path) -> None:
    """Replace the database's contents with the copy at ``source``."""
    kind = vendor()
    connection = connections[DEFAULT_DB_ALIAS]
    if kind == "sqlite":
        connection.ensure_connection()
        with sqlite3.connect(source) as copy:
            copy.backup(connection.connection)
        connection.close()
        return
    connection.close()
    env, args = _pg_env_and_args()
    _run(["pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction", *args,
          str(source)], env)  # fmt: skip


def media_archive(target: Path) -> Path | None:
    media = Path(settings.MEDIA_ROOT)
    if not media.is_dir():
        return None
    out = target / MEDIA_ARCHIVE
    with tarfile.open(out, "w") as archive:
        archive.add(media, arcname="media")
    return out


def media_extract(source: Path) -> None:
    media = Path(settings.MEDIA_ROOT)
    media.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(source) as archive:
        for member in archive.getmembers():
            if not (member.isfile() or member.isdir()) or not member.name.startswith("media"):
                raise BackupError(f"Unexpected entry in the media archive: {member.name}")
        staging = media.parent / ".media-restore"
        shutil.rmtree(staging, ignore_errors=True)
        archive.extractall(staging, filter="data")
    if media.exists():
        shutil.rmtree(media)
    (staging / "media").rename(media)
    shutil.rmtree(staging, ignore_errors=True)


def key_material() -> dict[str, str]:
    return {
        "DJANGO_SECRET_KEY": settings.SECRET_KEY,
        "OPENIPT_FIELD_ENCRYPTION_KEY": settings.OPENIPT_FIELD_ENCRYPTION_KEY or "",
    }


def write_private_json(path: Path, data: dict[str, Any]) -> None:
    """A file only its owner can read (0600), created new (never overwriting)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=2, sort_keys=True)
        handle.write("\n")
