from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.apps.registry import Apps
from django.db.models.signals import post_migrate


class MeasuresConfig(AppConfig):
    name = "openipt.measures"
    label = "measures"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Registers the questionnaire reminder with the scheduling app's sender (the usual
        # place for an app to hook into another once the models are loaded).
        from openipt.measures import reminders  # noqa: F401

        post_migrate.connect(load_builtins_after_migrate, sender=self)


def load_builtins_after_migrate(
    sender: AppConfig, *, apps: Apps | None = None, using: str = "default", **kwargs: Any
) -> None:
    """Built-in instruments exist after every ``migrate`` (and after a test-database flush)."""
    from openipt.measures.loader import load_builtin_instruments

    try:
        model = apps.get_model("measures", "Instrument") if apps is not None else None
    except LookupError:  # migrated backwards past the table
        return
    load_builtin_instruments(model, using)
