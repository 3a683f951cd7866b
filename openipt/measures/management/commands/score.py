"""``manage.py score INSTRUMENT ANSWER...``: score one form and print one JSON object.

Bad input (unknown instrument, wrong number of answers, a value outside the item's answers)
prints a clear message on stderr and exits with status 2.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from openipt.measures.models import Instrument
from openipt.measures.scoring import (
    AnswerError,
    InstrumentDefinition,
    answers_from_entries,
    score,
    with_cutoff,
)

USAGE_ERROR = 2


def _fail(message: str) -> CommandError:
    return CommandError(message, returncode=USAGE_ERROR)


def _number(value: int | Decimal | None) -> int | float | None:
    if value is None:
        return None
    if value == int(value):
        return int(value)
    return float(Decimal(value).quantize(Decimal("0.1")))


def _entry(raw: str, position: int) -> int | None:
    if raw == "-":
        return None
    try:
        return int(raw)
    except ValueError:
        raise _fail(f"answer {position} ({raw!r}) is not a whole number or '-'") from None


def _instrument(code: str, practice: str | None) -> Instrument:
    rows = Instrument.objects.filter(code__iexact=code, is_active=True).order_by("-created_at")
    builtin = rows.filter(practice__isnull=True).first()
    if builtin is not None and practice is None:
        return builtin
    imported = rows.filter(practice__isnull=False)
    if practice is not None:
        imported = imported.filter(practice__uuid=practice)
    if len({row.practice_id for row in imported}) > 1:
        raise _fail(f"{code} was imported by several practices; name one with --practice UUID")
    found = imported.first()
    if found is None:
        known = ", ".join(sorted(set(Instrument.objects.values_list("code", flat=True))))
        raise _fail(f"unknown instrument {code!r}; known instruments: {known}")
    return found


class Command(BaseCommand):
    help = "Score one questionnaire from the command line ('-' marks a missing answer)."
    requires_system_checks: list[str] = []  # a quick, read-only tool

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("instrument", help="e.g. PHQ-9, PHQ-2, GAD-7, GAD-2, WHO-5, HAM-D-17")
        parser.add_argument("answers", nargs="*", help="one value per scored item, or '-'")
        parser.add_argument("--practice", help="practice UUID, for an imported instrument")
        parser.add_argument("--cutoff", type=int, help="screening cut-off (PHQ-2, GAD-2)")

    def handle(self, *args: Any, **options: Any) -> None:
        instrument = _instrument(options["instrument"], options["practice"])
        definition: InstrumentDefinition = instrument.parsed
        if options["cutoff"] is not None:
            try:
                definition = with_cutoff(definition, options["cutoff"])
            except ValueError as exc:
                raise _fail(str(exc)) from None
        entries = [_entry(raw, n) for n, raw in enumerate(options["answers"], 1)]
        try:
            result = score(definition, answers_from_entries(definition, entries))
        except AnswerError as exc:
            raise _fail(str(exc)) from None
        output: dict[str, Any] = {
            "instrument": result.instrument,
            "version": result.version,
            "valid": result.valid,
            "total": _number(result.total),
            "band": result.band,
            "flags": list(result.flags),
            "prorated": result.prorated,
        }
        if definition.percent_multiplier is not None:
            output["percent"] = _number(result.percent)
        self.stdout.write(json.dumps(output))
