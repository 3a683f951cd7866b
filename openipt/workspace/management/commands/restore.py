"""``manage.py restore <backup dir> [--keys FILE] [--force]``: put a backup back.

Checks the backup's checksums and database engine first, refuses to overwrite a database
that holds data unless ``--force`` is given, loads the database and the uploaded files,
applies any newer migrations, and then checks what a working service needs: the audit
chain links up and reaches the head the backup recorded, and the keys read the stored MFA
secrets. The restore itself is appended to the audit checkpoint file, so going back to an
older copy is recorded rather than reported as tampering. docs/operations.md has the drill.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError

from openipt.accounts.mfa_adapter import readable_with
from openipt.audit import checkpoints
from openipt.audit.models import AuditEvent
from openipt.audit.verify import verify_chain
from openipt.core import backup as backups


def _read_json(path: Path, what: str) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise CommandError(f"Cannot read the {what} {path}: {error}") from None
    if not isinstance(data, dict):
        raise CommandError(f"The {what} {path} is not what a backup writes.")
    return data


def _audit_events() -> int:
    """Events in the database now; 0 for a database not migrated yet (a fresh machine)."""
    try:
        return AuditEvent.objects.count()
    except DatabaseError:
        return 0


class Command(BaseCommand):
    help = "Restore a backup made by `manage.py backup`."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("backup", type=Path, help="The openipt-backup-… directory.")
        parser.add_argument("--keys", type=Path, default=None, help="The openipt-keys-… file.")
        parser.add_argument(
            "--force", action="store_true", help="Replace a database that already holds data."
        )

    def handle(self, *args: Any, backup: Path, keys: Path | None, force: bool, **o: Any) -> None:
        source = backup.resolve()
        manifest = _read_json(source / backups.MANIFEST, "manifest")
        database = source / manifest["database"]["file"]
        self._check_files(manifest, source, database)
        held = _audit_events()
        if held and not force:
            raise CommandError(
                f"This database already holds data ({held} audit events). Restoring would "
                f"replace all of it; run again with --force if that is what you want."
            )
        key_values = _read_json(keys, "keys file") if keys else None
        try:
            backups.database_load(database)
            if manifest.get("media"):
                backups.media_extract(source / manifest["media"]["file"])
        except backups.BackupError as error:
            raise CommandError(str(error)) from None
        call_command("migrate", "--noinput", verbosity=0)
        self._check_audit(manifest)
        self._install_keys(key_values)
        checkpoints.append(checkpoints.head(f"restore of {source.name}"))
        self.stdout.write(self.style.SUCCESS(f"Restored {source.name}."))

    def _check_files(self, manifest: dict[str, Any], source: Path, database: Path) -> None:
        if manifest.get("engine") != backups.vendor():
            raise CommandError(
                f"This backup is of a {manifest.get('engine')} database; this service uses "
                f"{backups.vendor()}. Set DATABASE_URL to match, or restore elsewhere."
            )
        files = [(database, manifest["database"]["sha256"])]
        if manifest.get("media"):
            files.append((source / manifest["media"]["file"], manifest["media"]["sha256"]))
        for path, expected in files:
            if not path.is_file() or backups.sha256(path) != expected:
                raise CommandError(f"{path} is missing or damaged (its checksum differs).")

    def _check_audit(self, manifest: dict[str, Any]) -> None:
        result = verify_chain()
        if result.broken is not None:
            raise CommandError(
                f"The restored audit chain is broken at event {result.broken.event_id}: "
                f"{result.broken.reason}."
            )
        head = manifest["audit_head"]
        if head["event_id"]:
            event = AuditEvent.objects.filter(id=head["event_id"]).values("hash").first()
            if event is None or event["hash"] != head["hash"]:
                raise CommandError("The restored audit chain does not reach the backup's head.")
        self.stdout.write(f"Audit chain intact: {result.checked} events.")

    def _install_keys(self, key_values: dict[str, Any] | None) -> None:
        secret = str((key_values or {}).get("DJANGO_SECRET_KEY") or settings.SECRET_KEY)
        field = str((key_values or {}).get("OPENIPT_FIELD_ENCRYPTION_KEY") or "")
        if key_values is None:
            field = settings.OPENIPT_FIELD_ENCRYPTION_KEY or ""
        readable, total = readable_with(field_key=field, secret_key=secret)
        if key_values is not None:
            self._write_keys(secret, field)
        if readable < total:
            self.stdout.write(
                self.style.ERROR(
                    f"Only {readable} of {total} stored MFA secrets can be read with these "
                    f"keys: staff whose secret cannot be read cannot sign in. Restore with "
                    f"--keys and the keys file written beside this backup."
                )
            )
        else:
            self.stdout.write(f"MFA secrets readable with these keys: {readable} of {total}.")

    def _write_keys(self, secret: str, field: str) -> None:
        if os.environ.get("DJANGO_SECRET_KEY"):
            if os.environ["DJANGO_SECRET_KEY"] != secret:
                self.stdout.write(
                    self.style.WARNING(
                        "DJANGO_SECRET_KEY is set in the environment: set it to the value in "
                        "the keys file before starting the service."
                    )
                )
        else:
            path = Path(settings.VAR_DIR) / "secret_key"
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(secret)
            self.stdout.write(f"Secret key written to {path}.")
        if field and field != (settings.OPENIPT_FIELD_ENCRYPTION_KEY or ""):
            self.stdout.write(
                self.style.WARNING(
                    "Set OPENIPT_FIELD_ENCRYPTION_KEY to the value in the keys file before "
                    "starting the service."
                )
            )
