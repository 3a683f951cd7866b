"""The scores part of ``treatment.CourseSummary`` (docs/adr/0025-course-summary.md): the
course's valid depression and anxiety totals, as the protocol takes them
(``protocol.CourseState.measures`` and ``anxiety_measures``), and the rebuild and check of
whole rows for ``manage.py rebuild_course_summaries``.

A score keeps the instant it was completed and the session it was given in (by id: the
session's number is read from the records part, which follows a renumbered session), so
nothing here depends on today or on the reader's time zone. The services of this app call
``course_score_added`` in their own transaction when they complete a questionnaire (an
append to the lists in the usual case, else a recomputation) and ``course_summary_rebuild``
after a session note.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from openipt.measures.models import Administration
from openipt.measures.selectors import DEPRESSION_CODES
from openipt.treatment import summary as records_summary
from openipt.treatment.models import Course, CourseSummary
from openipt.treatment.protocol import MeasureResult

ANXIETY_CODES = frozenset({"GAD-7"})


_KINDS = (("depression", DEPRESSION_CODES), ("anxiety", ANXIETY_CODES))


def _kinds_of(code: str, same_as: str) -> list[str]:
    """The score lists an instrument's totals belong to (none for most instruments)."""
    return [kind for kind, codes in _KINDS if code in codes or same_as in codes]


def _score_entry(
    code: str, same_as: str, total: Any, completed_at: dt.datetime | None, session_id: int | None
) -> list[Any]:
    return [
        same_as or code,  # a translation is its built-in
        float(total or 0),
        completed_at.astimezone(dt.UTC).isoformat() if completed_at else None,
        session_id,
    ]


def _scores(course_ids: list[int]) -> dict[tuple[str, int], list[list[Any]]]:
    """By (``"depression"`` or ``"anxiety"``, course id): the valid totals, oldest first. A
    few columns in one query, no model instance: this runs inside every questionnaire's
    write."""
    codes = DEPRESSION_CODES | ANXIETY_CODES
    rows = (
        Administration.objects.filter(
            Q(instrument__code__in=codes) | Q(instrument__same_as__in=codes),
            status=Administration.Status.COMPLETED,
            course_id__in=course_ids,
            total__isnull=False,
        )
        .order_by("completed_at", "pk")
        .values_list(
            "course_id", "instrument__code", "instrument__same_as", "total", "completed_at",
            "session_id",
        )
    )  # fmt: skip
    found: dict[tuple[str, int], list[list[Any]]] = defaultdict(list)
    for course_id, code, same_as, total, completed_at, session_id in rows:
        score = _score_entry(code, same_as, total, completed_at, session_id)
        for kind in _kinds_of(code, same_as or ""):
            found[kind, course_id].append(score)
    return found


def measures_for(course_ids: list[int]) -> dict[int, dict[str, Any]]:
    """The ``measures`` part of these courses' summaries, computed afresh from the database
    in a fixed number of queries."""
    scores = _scores(course_ids)
    return {
        pk: {
            "depression": scores.get(("depression", pk), []),
            "anxiety": scores.get(("anxiety", pk), []),
        }
        for pk in course_ids
    }


def course_measures(course_id: int) -> dict[str, Any]:
    """The ``measures`` part of one course's summary, computed afresh from the database."""
    return measures_for([course_id])[course_id]


def _measures_recompute(course_id: int) -> None:
    """The scores part afresh, for a row already locked (the whole row when missing)."""
    if not CourseSummary.objects.filter(course_id=course_id).update(
        measures=course_measures(course_id), updated_at=timezone.now()
    ):
        course_summary_rebuild(course_id=course_id)


def course_score_added(*, administration: Administration, new_row: bool) -> None:
    """After one questionnaire of a course is completed (in the same transaction): its total
    appended to the summary's score lists when it is the course's newest, the usual case,
    without reading the course's other scores again; otherwise the scores part recomputed.
    Nothing for a questionnaire whose totals the summary does not keep. The row is locked
    first (on PostgreSQL; SQLite's write lock is already held), so two completions on one
    course at once each see the other's. ``new_row``: the administration was created just
    now, so it is also the newest of any scores with the same time (entries in one session
    take the session's time); a completed assignment is an older row."""
    course_id = administration.course_id
    instrument = administration.instrument
    kinds = _kinds_of(instrument.code, instrument.same_as or "")
    completed = administration.status == Administration.Status.COMPLETED
    if course_id is None or not kinds or administration.total is None or not completed:
        return
    stored = (
        CourseSummary.objects.select_for_update()  # as ``records_summary.summary_lock``
        .filter(course_id=course_id)
        .values_list("measures", flat=True)
        .first()
    )
    moment = administration.completed_at
    if stored is None or moment is None or not _latest(stored, kinds, moment, tie=new_row):
        _measures_recompute(course_id)
        return
    entry = _score_entry(
        instrument.code, instrument.same_as or "", administration.total, moment,
        administration.session_id,
    )  # fmt: skip
    for kind in kinds:
        stored[kind].append(entry)
    CourseSummary.objects.filter(course_id=course_id).update(
        measures=stored, updated_at=timezone.now()
    )


def _latest(stored: dict[str, Any], kinds: list[str], moment: dt.datetime, *, tie: bool) -> bool:
    """Whether a score completed at ``moment`` goes last in these lists (oldest first, a tie
    ordered by creation): later than every score in them, or as late as the last when
    ``tie`` (it was created after them)."""
    for kind in kinds:
        scores = stored.get(kind)
        if scores is None:
            return False
        if not scores:
            continue
        if scores[-1][2] is None:  # not a stored completion time: recompute
            return False
        last = dt.datetime.fromisoformat(scores[-1][2])
        if last > moment or (last == moment and not tie):
            return False
    return True


def fresh_summaries(course_ids: list[int]) -> dict[int, CourseSummary]:
    """These courses' rows as a fresh computation from their records and scores would make
    them (unsaved), in a fixed number of queries."""
    records = records_summary.records_for(course_ids)
    scores = measures_for(course_ids)
    return {
        pk: CourseSummary(
            course_id=pk, measures=scores[pk], **records_summary.fields_for(records[pk])
        )
        for pk in course_ids
    }


def fresh_summary(course_id: int) -> CourseSummary:
    """One course's row as a fresh computation would make it (unsaved)."""
    return fresh_summaries([course_id])[course_id]


_FIELDS = (
    "records",
    "measures",
    "sessions_count",
    "latest_session_number",
    "latest_session_at",
    "latest_risk_check",
)


def course_summary_rebuild(*, course_id: int) -> None:
    """Write the whole row for one course afresh."""
    records_summary.summary_lock(course_id=course_id)
    fresh = fresh_summary(course_id)
    CourseSummary.objects.update_or_create(
        course_id=course_id, defaults={name: getattr(fresh, name) for name in _FIELDS}
    )


def differences(stored: CourseSummary | None, fresh: CourseSummary) -> list[str]:
    """The fields in which a stored row differs from a fresh one (all of them when missing)."""
    if stored is None:
        return list(_FIELDS)
    return [name for name in _FIELDS if getattr(stored, name) != getattr(fresh, name)]


BATCH = 500


def _batches(*, missing: bool = False) -> Iterator[list[int]]:
    courses = Course.objects.order_by("pk")
    if missing:  # no row yet (made before the summaries existed, or past the services)
        courses = courses.filter(summary__isnull=True)
    ids = list(courses.values_list("pk", flat=True))
    for start in range(0, len(ids), BATCH):
        yield ids[start : start + BATCH]


def summaries_differing() -> Iterator[tuple[int, list[str]]]:
    """Every course whose stored summary is missing or differs from a fresh computation,
    with the fields that differ."""
    for batch in _batches():
        stored = {s.course_id: s for s in CourseSummary.objects.filter(course_id__in=batch)}
        for pk, fresh in fresh_summaries(batch).items():
            differing = differences(stored.get(pk), fresh)
            if differing:
                yield pk, differing


def summaries_rebuild(*, missing: bool = False) -> int:
    """Rebuild every course's summary (only those without one when ``missing``), a batch of
    courses per transaction; returns how many rows were written."""
    count = 0
    for batch in _batches(missing=missing):
        with transaction.atomic():
            CourseSummary.objects.bulk_create(
                fresh_summaries(batch).values(),
                update_conflicts=True,
                unique_fields=["course"],
                update_fields=[*_FIELDS, "updated_at"],
            )
        count += len(batch)
    return count


# --- Reading ---------------------------------------------------------------------------


def _results(rows: list[list[Any]], numbers: dict[int, int]) -> tuple[MeasureResult, ...]:
    zone = timezone.get_current_timezone()
    return tuple(
        MeasureResult(
            instrument=code,
            total=total,
            # ``localdate`` of the instant, with the zone looked up once.
            on=dt.datetime.fromisoformat(at).astimezone(zone).date() if at is not None else None,
            session_number=numbers.get(session_id) if session_id is not None else None,
        )
        for code, total, at, session_id in rows
    )


def depression_results(
    measures: dict[str, Any], numbers: dict[int, int]
) -> tuple[MeasureResult, ...]:
    """The summary's depression totals, oldest first, dated in the current time zone;
    ``numbers`` maps a session id to its number (``treatment.summary.Records.numbers``)."""
    return _results(measures["depression"], numbers)


def anxiety_results(measures: dict[str, Any], numbers: dict[int, int]) -> tuple[MeasureResult, ...]:
    return _results(measures["anxiety"], numbers)
