"""``manage.py backup`` then ``manage.py restore`` on a fresh machine: every acknowledged
write is back, the audit chain reaches its head, and staff MFA secrets are readable.

Runs the real commands in subprocesses, each machine a temporary ``OPENIPT_VAR_DIR`` with
its own secret key and its own database, as two machines would have: a SQLite file, or —
when the suite runs on PostgreSQL — a scratch database of its own on the same server
(``pg_dump``/``pg_restore``), dropped afterwards.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings

SERVER_URL = os.environ.get("DATABASE_URL", "")
ON_POSTGRES = SERVER_URL.startswith(("postgres://", "postgresql://"))
_numbers = itertools.count()
_scratch: list[str] = []

COUNT = (
    "from openipt.accounts.models import User; from openipt.audit.models import AuditEvent; "
    "from openipt.accounts.mfa_adapter import field_fernet, readable_with; "
    "from django.conf import settings as s; "
    "print(User.objects.count(), AuditEvent.objects.count(), "
    "*readable_with(field_key=s.OPENIPT_FIELD_ENCRYPTION_KEY or '', secret_key=s.SECRET_KEY))"
)


def _server(sql: str) -> None:
    import psycopg

    with psycopg.connect(SERVER_URL, autocommit=True) as connection:
        connection.execute(sql)


def machine(var: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "DJANGO_SECRET_KEY"}}
    env.update(OPENIPT_VAR_DIR=str(var), DJANGO_SETTINGS_MODULE="config.settings")
    if ON_POSTGRES:
        name = f"openipt_drill_{os.getpid()}_{next(_numbers)}"
        _server(f'DROP DATABASE IF EXISTS "{name}"')
        _server(f'CREATE DATABASE "{name}"')
        _scratch.append(name)
        env["DATABASE_URL"] = SERVER_URL.rsplit("/", 1)[0] + "/" + name
    return env


@pytest.fixture(scope="module", autouse=True)
def _drop_scratch_databases() -> Iterator[None]:
    yield
    while _scratch:
        _server(f'DROP DATABASE IF EXISTS "{_scratch.pop()}" WITH (FORCE)')


def manage(env: dict[str, str], *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=settings.BASE_DIR, env=env,
        capture_output=True, text=True, check=False, timeout=600,
    )  # fmt: skip
    if ok:
        assert done.returncode == 0, done.stdout + done.stderr
    return done


@pytest.fixture(scope="module")
def old_machine(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, str], Path, list[str]]:
    """A machine with the personas on it, and one backup of it."""
    root = tmp_path_factory.mktemp("old-machine")
    old = machine(root / "var")
    manage(old, "migrate", "--noinput", "-v0")
    manage(
        old, "shell", "-c", "from openipt.testing.personas import make_personas; make_personas()"
    )
    before = manage(old, "shell", "-v0", "-c", COUNT).stdout.splitlines()[-1].split()
    made = manage(old, "backup", "--to", str(root / "backups"))
    assert "Store this file apart from the backup" in made.stdout
    return old, root, before


def test_a_backup_restored_on_a_fresh_machine_has_everything(old_machine, tmp_path):
    _old, root, before = old_machine
    [folder] = (root / "backups").glob("openipt-backup-*")
    [keys] = (root / "backups").glob("openipt-keys-*.json")
    assert oct(keys.stat().st_mode & 0o777) == "0o600"
    assert not list(folder.glob("*keys*"))  # the keys are never inside the backup
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["engine"] == ("postgresql" if ON_POSTGRES else "sqlite")
    anchor = (root / "var" / "audit-checkpoints.jsonl").read_text().splitlines()[-1]
    assert json.loads(anchor)["event_id"] == manifest["audit_head"]["event_id"]

    new = machine(tmp_path / "new")  # nothing on it yet: not even migrated
    restored = manage(new, "restore", str(folder), "--keys", str(keys))

    assert "Audit chain intact" in restored.stdout
    assert "MFA secrets readable with these keys" in restored.stdout
    after = manage(new, "shell", "-v0", "-c", COUNT).stdout.splitlines()[-1].split()
    users, events, readable, total = (int(n) for n in after)
    assert [users, readable, total] == [int(before[0]), int(before[3]), int(before[3])]
    assert events >= int(before[1])
    assert int(before[3]) > 0  # the personas have authenticators
    assert "Audit chain intact" in manage(new, "audit_verify").stdout

    again = manage(new, "restore", str(folder), "--keys", str(keys), ok=False)
    assert again.returncode != 0
    assert "already holds data" in again.stderr


def manifest_database(folder: Path) -> str:
    return str(json.loads((folder / "manifest.json").read_text())["database"]["file"])


def test_a_damaged_copy_is_refused_and_a_restore_without_keys_warns(old_machine, tmp_path):
    _old, root, _before = old_machine
    [folder] = (root / "backups").glob("openipt-backup-*")
    damaged = tmp_path / "damaged"
    shutil.copytree(folder, damaged)
    (damaged / manifest_database(damaged)).write_bytes(b"damaged")
    new = machine(tmp_path / "new")

    refused = manage(new, "restore", str(damaged), ok=False)
    assert "missing or damaged" in refused.stderr

    restored = manage(new, "restore", str(folder))
    assert "Only 0 of" in restored.stdout
    assert "cannot sign in" in restored.stdout
