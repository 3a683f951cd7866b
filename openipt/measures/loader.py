"""Loading the built-in instruments from ``instruments/*.json`` (idempotent).

The English files carry their own scoring rules; the translations (``phq-9-es.json``) are
recognised by the parser as the same instrument and scored by the English file's rules,
so each is its own row (``PHQ-9-es``) with ``same_as`` naming the English one (``PHQ-9``).
Its language is the definition's own ``language`` (``Instrument.language``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from openipt.measures.models import Instrument
from openipt.measures.scoring import parse_questionnaire_json

INSTRUMENTS_DIR = Path(__file__).resolve().parent / "instruments"


def builtin_files() -> list[Path]:
    return sorted(INSTRUMENTS_DIR.glob("*.json"))


def load_builtin_instruments(instrument_model: Any = None, using: str = "default") -> int:
    """Create or refresh every built-in; returns how many rows were created or changed.

    ``instrument_model`` lets a migration or post_migrate pass its own model class.
    """
    if instrument_model is None:
        instrument_model = Instrument
    changed = 0
    for path in builtin_files():
        content = path.read_text(encoding="utf-8")
        outcome = parse_questionnaire_json(content)
        if outcome.definition is None:
            raise ValueError(f"{path.name}: {'; '.join(outcome.errors)}")
        definition = outcome.definition
        resource = json.loads(content)
        values = {"title": definition.title, "url": definition.url, "definition": resource}
        if _has_field(instrument_model, "same_as"):  # not in a model state before 0005
            values["same_as"] = definition.same_as
        row = (
            instrument_model.objects.using(using)
            .filter(practice__isnull=True, code=definition.code, version=definition.version)
            .first()
        )
        if row is None:
            instrument_model.objects.using(using).create(
                code=definition.code, version=definition.version, source="built_in", **values
            )
            changed += 1
        elif any(getattr(row, name) != value for name, value in values.items()):
            for name, value in values.items():
                setattr(row, name, value)
            row.save(update_fields=[*values, "updated_at"])
            changed += 1
    return changed


def _has_field(model: Any, name: str) -> bool:
    return any(field.name == name for field in model._meta.get_fields())
