from __future__ import annotations

import pytest

from openipt.measures.models import Instrument
from openipt.treatment.tests.factories import make_course, make_session


@pytest.fixture
def course(personas):
    """Alice's IPT course with Dana (12 sessions planned), session 1 held."""
    course = make_course(personas.alice, personas.dana, planned_sessions=12)
    make_session(personas.alice, course, 1)
    return course


@pytest.fixture
def phq9(db):
    return Instrument.objects.get(code="PHQ-9", practice__isnull=True)


def phq9_answers(digits: str) -> dict[str, str | None]:
    """PHQ-9 option codes from typed digits ("-" = not answered)."""
    from openipt.measures.scoring import answers_from_entries

    instrument = Instrument.objects.get(code="PHQ-9", practice__isnull=True)
    entries = [None if c == "-" else int(c) for c in digits]
    return answers_from_entries(instrument.parsed, entries)
