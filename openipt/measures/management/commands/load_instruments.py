from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from openipt.measures.loader import load_builtin_instruments


class Command(BaseCommand):
    help = "Create or refresh the built-in instruments (safe to run again)."

    def handle(self, *args: Any, **options: Any) -> None:
        changed = load_builtin_instruments()
        self.stdout.write(f"Built-in instruments created or updated: {changed}")
