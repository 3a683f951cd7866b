"""The de-identified research export: one row per course and one per completed
questionnaire, with a data dictionary (docs/adr/0019-research-export.md).

What leaves the practice, and what never does:

- a client appears only as a pseudonym, HMAC-SHA256 of the client's UUID under the
  practice's research key (``openipt.accounts.research_key``): the same in every export,
  not reversible without the key;
- every date of a client is moved by the same number of days, between -182 and +182, also
  drawn from the key, so intervals are exact and the offset is stable across exports;
- age is a 10-year band at the start of the course; the date of birth never leaves;
- only coded values: no names, contacts, identifiers or free text, and a questionnaire answer
  only when it is one of the item's listed answer codes;
- before anything is written, every combination of age band, format and (shifted) start year
  must be shared by at least ``k`` courses. Smaller groups refuse the export, or, when the
  administrator asks for it, have those four values replaced by "suppressed".

Courses entered in error, and clients entered in error, are left out; questionnaires are the
completed ones that belong to an exported course.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import hmac
import io
import json
import zipfile
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import IO, Any
from zoneinfo import ZoneInfo

from django.db.models import Count, Q, QuerySet

from openipt.accounts.models import Practice
from openipt.clients.models import Client
from openipt.measures.models import Administration, Instrument
from openipt.treatment.models import Course, ProblemArea, Session

MAX_SHIFT_DAYS = 182
PSEUDONYM_LENGTH = 16
SUPPRESSED = "suppressed"

# file -> (column, meaning, values); the files' headers are these columns, in this order.
DICTIONARY: dict[str, tuple[tuple[str, str, str], ...]] = {
    "courses.csv": (
        ("course_id", "Number of the course within this export only", "C00001, C00002, ..."),
        ("client", "Pseudonym of the client, the same in every export of the practice", "16 hex"),
        ("age_band", "Age at the start of the course, in 10-year bands", "20-29, ..., 90+"),
        ("format", "IPT format", "ipt, ipt_b, ipt_a, ipt_g, ipc, ipt_m"),
        ("status", "Status of the course", "assessment, active, concluded, ended_early"),
        ("planned_sessions", "Number of sessions agreed", "whole number"),
        ("sessions_attended", "Sessions the client attended", "whole number"),
        ("no_shows", "Sessions missed without notice", "whole number"),
        ("start_date", "Start of the course, shifted by the client's offset", "YYYY-MM-DD"),
        ("end_date", "End of the course, shifted by the client's offset", "YYYY-MM-DD or empty"),
        ("presenting_concerns", "Concerns at referral, codes separated by |", "codes"),
        ("problem_areas", "Every problem area considered, codes separated by |", "codes"),
        ("focus_areas", "Problem areas chosen as the focus, codes separated by |", "codes"),
    ),
    "administrations.csv": (
        ("course_id", "The course in courses.csv", "C00001, ..."),
        ("client", "Pseudonym of the client", "16 hex"),
        ("instrument", "Questionnaire code", "e.g. PHQ-9, GAD-7"),
        ("completed_on", "Day completed, shifted by the client's offset", "YYYY-MM-DD"),
        ("days_from_course_start", "Days from the start of the course", "whole number"),
        ("session_number", "Session it belongs to (empty: between sessions)", "whole number"),
        ("total", "Total score", "number"),
        ("band", "Severity band code of the questionnaire", "codes"),
        ("answers", "Answer code per item (JSON object: item id -> answer code)", "JSON"),
    ),
}
DICTIONARY_FILE = "data_dictionary.csv"


@dataclass(frozen=True)
class CourseRow:
    course_id: str
    client: str
    age_band: str
    format: str
    status: str
    planned_sessions: int
    sessions_attended: int
    no_shows: int
    start_date: str
    end_date: str
    presenting_concerns: str
    problem_areas: str
    focus_areas: str

    @property
    def quasi_identifiers(self) -> tuple[str, str, str]:
        return (self.age_band, self.format, self.start_date[:4])


@dataclass(frozen=True)
class AdministrationRow:
    course_id: str
    client: str
    instrument: str
    completed_on: str
    days_from_course_start: int
    session_number: int | None
    total: Decimal | None
    band: str
    answers: str


@dataclass(frozen=True)
class SmallGroup:
    """A combination of quasi-identifiers shared by fewer than k courses (by count only)."""

    courses: int


@dataclass(frozen=True)
class ExportCheck:
    k: int
    courses: int
    small_groups: tuple[SmallGroup, ...]
    # With suppression, the suppressed courses form one group; fewer than k still refuses.
    suppressed_courses: int

    @property
    def allowed(self) -> bool:
        return not self.small_groups

    @property
    def allowed_with_suppression(self) -> bool:
        return self.suppressed_courses == 0 or self.suppressed_courses >= self.k


@dataclass(frozen=True)
class ResearchExport:
    courses: tuple[CourseRow, ...]
    administrations: tuple[AdministrationRow, ...]
    suppressed_courses: int


class ExportRefused(Exception):
    """The quasi-identifier check failed; the message says why, in counts only."""


# --- the keyed values -----------------------------------------------------------------------


def pseudonym(key: bytes, client_uuid: Any) -> str:
    digest = hmac.new(key, b"pseudonym\x00" + client_uuid.bytes, hashlib.sha256).hexdigest()
    return digest[:PSEUDONYM_LENGTH]


def date_shift(key: bytes, client_uuid: Any) -> dt.timedelta:
    digest = hmac.new(key, b"date-shift\x00" + client_uuid.bytes, hashlib.sha256).digest()
    span = 2 * MAX_SHIFT_DAYS + 1
    return dt.timedelta(days=int.from_bytes(digest[:8], "big") % span - MAX_SHIFT_DAYS)


def age_band(born: dt.date, on: dt.date) -> str:
    age = on.year - born.year - ((on.month, on.day) < (born.month, born.day))
    if age >= 90:
        return "90+"
    low = max(age, 0) // 10 * 10
    return f"{low}-{low + 9}"


# --- reading the practice -------------------------------------------------------------------


def _courses(practice_id: int) -> QuerySet[Course]:
    return Course.objects.filter(client__practice_id=practice_id).exclude(
        Q(status=Course.Status.ENTERED_IN_ERROR) | Q(client__status=Client.Status.ENTERED_IN_ERROR)
    )


def course_rows(practice_id: int, key: bytes) -> tuple[CourseRow, ...]:
    """Every exported course of the practice, numbered in order of shifted start."""
    return tuple(row for _pk, row in _numbered_courses(practice_id, key))


def _numbered_courses(practice_id: int, key: bytes) -> list[tuple[int, CourseRow]]:
    areas: dict[int, list[tuple[str, bool]]] = defaultdict(list)
    for course_id, area, primary, secondary in (
        ProblemArea.objects.filter(course__in=_courses(practice_id))
        .order_by("area")
        .values_list("course_id", "area", "is_primary", "is_secondary")
    ):
        areas[course_id].append((area, primary or secondary))
    attended = Count("sessions", filter=Q(sessions__attendance=Session.Attendance.ATTENDED))
    no_shows = Count("sessions", filter=Q(sessions__attendance=Session.Attendance.NO_SHOW))
    found = _courses(practice_id).annotate(attended=attended, no_shows=no_shows)
    fields = (
        "id", "client__uuid", "client__date_of_birth", "format", "status", "planned_sessions",
        "start_date", "ended_on", "presenting_concerns", "attended", "no_shows",
    )  # fmt: skip
    drafts = [(row["id"], _course_row(row, key, areas[row["id"]])) for row in found.values(*fields)]
    # Numbered in shifted-date order, so the numbers say nothing of when records were made.
    drafts.sort(key=lambda draft: (draft[1].start_date, draft[1].client, draft[0]))
    return [
        (pk, replace(row, course_id=f"C{n:05d}")) for n, (pk, row) in enumerate(drafts, start=1)
    ]


def _course_row(row: dict[str, Any], key: bytes, areas: list[tuple[str, bool]]) -> CourseRow:
    shift = date_shift(key, row["client__uuid"])
    return CourseRow(
        course_id="",  # the export-local number, given once all rows are sorted
        client=pseudonym(key, row["client__uuid"]),
        age_band=age_band(row["client__date_of_birth"], row["start_date"]),
        format=row["format"],
        status=row["status"],
        planned_sessions=row["planned_sessions"],
        sessions_attended=row["attended"],
        no_shows=row["no_shows"],
        start_date=(row["start_date"] + shift).isoformat(),
        end_date=(row["ended_on"] + shift).isoformat() if row["ended_on"] else "",
        presenting_concerns=_codes(row["presenting_concerns"], Course.Concern.values),
        problem_areas="|".join(area for area, _focus in areas),
        focus_areas="|".join(area for area, focus in areas if focus),
    )


def _codes(value: Any, allowed: Iterable[str]) -> str:
    known = set(allowed)
    values = value if isinstance(value, list) else []
    return "|".join(sorted(str(code) for code in values if code in known))


def administration_rows(
    practice_id: int, key: bytes, courses: Sequence[CourseRow], local_ids: dict[int, str]
) -> tuple[AdministrationRow, ...]:
    """The completed questionnaires of the exported courses (``local_ids``: DB id -> C00001)."""
    zone = _practice_zone(practice_id)
    starts = {row.course_id: dt.date.fromisoformat(row.start_date) for row in courses}
    instruments: dict[int, _InstrumentCodes] = {}
    rows = []
    found = Administration.objects.filter(
        course__in=_courses(practice_id), status=Administration.Status.COMPLETED
    ).values_list(
        "course_id", "client__uuid", "instrument_id", "completed_at", "session__number",
        "total", "band", "answers",
    )  # fmt: skip
    for course_pk, client_uuid, instrument_id, completed_at, number, total, band, answers in found:
        if completed_at is None:  # a completed questionnaire always has its time
            continue
        if instrument_id not in instruments:
            instruments[instrument_id] = _InstrumentCodes.of(instrument_id)
        codes = instruments[instrument_id]
        course_id = local_ids[course_pk]
        completed_on = completed_at.astimezone(zone).date() + date_shift(key, client_uuid)
        rows.append(
            AdministrationRow(
                course_id=course_id,
                client=pseudonym(key, client_uuid),
                instrument=codes.code,
                completed_on=completed_on.isoformat(),
                days_from_course_start=(completed_on - starts[course_id]).days,
                session_number=number,
                total=total,
                band=band if band in codes.bands else "",
                answers=codes.answers(answers),
            )
        )
    rows.sort(key=lambda row: (row.course_id, row.completed_on, row.instrument))
    return tuple(rows)


@dataclass(frozen=True)
class _InstrumentCodes:
    code: str
    bands: frozenset[str]
    options: dict[str, frozenset[str]]  # item id -> its answer codes

    @classmethod
    def of(cls, instrument_id: int) -> _InstrumentCodes:
        instrument = Instrument.objects.get(pk=instrument_id)
        parsed = instrument.parsed
        return cls(
            code=instrument.code,
            bands=frozenset(band.code for band in parsed.bands),
            options={
                item.link_id: frozenset(option.code for option in item.options)
                for item in parsed.items
                if item.options
            },
        )

    def answers(self, answers: Any) -> str:
        """Only answers that are one of their item's codes: typed text never leaves."""
        given = answers if isinstance(answers, dict) else {}
        kept = {
            link: str(value)
            for link, value in given.items()
            if link in self.options and str(value) in self.options[link]
        }
        return json.dumps(kept, sort_keys=True, separators=(",", ":"))


def _practice_zone(practice_id: int) -> ZoneInfo:
    return ZoneInfo(Practice.objects.values_list("time_zone", flat=True).get(pk=practice_id))


# --- the check and the export ---------------------------------------------------------------


def export_check(courses: Sequence[CourseRow], k: int) -> ExportCheck:
    groups = Counter(row.quasi_identifiers for row in courses)
    small = sorted(count for count in groups.values() if count < k)
    return ExportCheck(
        k=k,
        courses=len(courses),
        small_groups=tuple(SmallGroup(count) for count in small),
        suppressed_courses=sum(small),
    )


def _small(courses: Sequence[CourseRow], k: int) -> set[str]:
    groups = Counter(row.quasi_identifiers for row in courses)
    return {row.course_id for row in courses if groups[row.quasi_identifiers] < k}


def _suppress(row: CourseRow) -> CourseRow:
    return replace(
        row, age_band=SUPPRESSED, format=SUPPRESSED, start_date=SUPPRESSED, end_date=SUPPRESSED
    )


def research_export(
    *, practice_id: int, key: bytes, k: int, suppress: bool = False
) -> ResearchExport:
    """The rows to export, or ``ExportRefused`` when a group is smaller than ``k``."""
    numbered = _numbered_courses(practice_id, key)
    courses = tuple(row for _pk, row in numbered)
    check = export_check(courses, k)
    if not check.allowed and not (suppress and check.allowed_with_suppression):
        raise ExportRefused(refusal_message(check, suppress=suppress))
    local_ids = {pk: row.course_id for pk, row in numbered}
    administrations = administration_rows(practice_id, key, courses, local_ids)
    small = _small(courses, k) if suppress else set()
    if small:
        courses = tuple(_suppress(row) if row.course_id in small else row for row in courses)
        administrations = tuple(
            replace(row, completed_on=SUPPRESSED) if row.course_id in small else row
            for row in administrations
        )
    return ResearchExport(courses, administrations, suppressed_courses=len(small))


def refusal_message(check: ExportCheck, *, suppress: bool) -> str:
    sizes = ", ".join(str(group.courses) for group in check.small_groups)
    if suppress:
        return (
            f"Even with the small groups suppressed, {check.suppressed_courses} course(s) would "
            f"share one group, fewer than {check.k}. Nothing was exported."
        )
    return (
        f"{len(check.small_groups)} combination(s) of age band, format and start year are "
        f"shared by fewer than {check.k} courses (sizes: {sizes}). Nothing was exported."
    )


def write_zip(export: ResearchExport, target: IO[bytes]) -> None:
    """courses.csv, administrations.csv and data_dictionary.csv, into ``target``."""
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, rows in (
            ("courses.csv", export.courses),
            ("administrations.csv", export.administrations),
        ):
            columns = [column for column, _meaning, _values in DICTIONARY[name]]
            lines = ([_cell(getattr(row, column)) for column in columns] for row in rows)
            archive.writestr(name, _csv([columns, *lines]))
        entries = [["file", "column", "meaning", "values"]]
        entries += [[name, *entry] for name, columns in DICTIONARY.items() for entry in columns]
        archive.writestr(DICTIONARY_FILE, _csv(entries))


def _csv(rows: Iterable[Sequence[object]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue()


def _cell(value: object) -> object:
    """Codes come from questionnaire definitions a practice may import: a cell that a
    spreadsheet would run as a formula is written as text."""
    if value is None:
        return ""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value
