"""``manage.py backup``: a consistent copy of the database and uploaded files, anchored.

Writes ``<dir>/openipt-backup-<UTC time>/`` (the database copy, the uploaded files, and
``manifest.json`` with checksums and the audit chain's head) and, beside it, a separate
``openipt-keys-<UTC time>.json`` holding the keys a restore needs. Keep the two apart: the
backup alone does not reveal MFA secrets, the keys alone hold no records. The chain's head
is also appended to the audit checkpoint file (openipt/audit/checkpoints.py). How to
restore, and what it takes: docs/operations.md.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.recorder import MigrationRecorder
from django.utils import timezone

from openipt.audit import checkpoints
from openipt.core import backup

FORMAT = 1


def applied_migrations() -> dict[str, str]:
    """The newest applied migration of each app."""
    recorder = MigrationRecorder(connections[DEFAULT_DB_ALIAS])
    newest: dict[str, str] = {}
    for app, name in sorted(recorder.applied_migrations()):
        newest[app] = name
    return newest


class Command(BaseCommand):
    help = "Back up the database and uploaded files, with the keys in a separate file."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--to",
            type=Path,
            default=None,
            help="Directory to write into (default: var/backups).",
        )

    def handle(self, *args: Any, to: Path | None, **options: Any) -> None:
        parent = (to or Path(settings.VAR_DIR) / "backups").resolve()
        stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
        target = parent / f"openipt-backup-{stamp}"
        keys = parent / f"openipt-keys-{stamp}.json"
        try:
            target.mkdir(parents=True)
        except FileExistsError:
            raise CommandError(
                f"{target} exists already; wait a second and run it again."
            ) from None
        head = checkpoints.head("backup")  # the copy holds at least this much of the chain
        try:
            database = backup.database_dump(target)
            media = backup.media_archive(target)
        except backup.BackupError as error:
            raise CommandError(str(error)) from None
        manifest = {
            "format": FORMAT,
            "created_at": timezone.now().isoformat(),
            "engine": backup.vendor(),
            "database": {"file": database.name, "sha256": backup.sha256(database)},
            "media": {"file": media.name, "sha256": backup.sha256(media)} if media else None,
            "audit_head": asdict(head),
            "migrations": applied_migrations(),
            "keys_file": keys.name,
        }
        (target / backup.MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
        backup.write_private_json(keys, {"backup": target.name, **backup.key_material()})
        checkpoints.append(head)
        self.stdout.write(self.style.SUCCESS(f"Backup written to {target}"))
        self.stdout.write(f"Audit chain head: event {head.event_id} ({head.count} events).")
        self.stdout.write(
            self.style.WARNING(
                f"Keys written to {keys} (readable by you only). Store this file apart from "
                f"the backup — in a password manager or a safe — and never beside it: with "
                f"both, anyone can read the MFA secrets; without it, a restore on a new "
                f"machine cannot sign anyone in with their authenticator."
            )
        )
