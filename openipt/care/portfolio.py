"""The certification case portfolio of a concluded course: the case summary a supervisor
signs off, as a page and as a PDF rendered by WeasyPrint from the same template.

What it holds: the interpersonal inventory, the formulation, the problem areas and the work
done on them, the contract and the sessions held, the measures with the every-fourth-session
check, the fidelity ratings of both raters and the supervisor's sign-off.

What it leaves out, by construction:

- **Identity.** The client appears as initials and a 10-year age band at the start of the
  course; people of the inventory by their relationship and an initial. No date of birth,
  identifier, contact detail or session date is read into the summary.
- **Process notes.** This module never reads ``treatment.ProcessNote`` (private to its
  author); the session's own progress note is left out too.
- **Blind ratings.** A session's fidelity ratings are shown only once both the therapist and
  the supervisor have rated it; a single rating is counted, never shown.

Free text the clinician wrote (formulation, evidence, work done, gains) is shown as written:
the page asks the clinician to check it for names before downloading.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from openipt.accounts import policy
from openipt.accounts.models import User
from openipt.audit import services as audit
from openipt.audit.models import AuditEvent
from openipt.care.research_export import age_band
from openipt.measures.progress import InstrumentProgress, course_progress
from openipt.treatment import fidelity
from openipt.treatment.models import (
    Area,
    ContractVersion,
    Course,
    FidelityRating,
    Formulation,
    Frequency,
    InventoryPerson,
    PortfolioSignOff,
    ProblemArea,
    Session,
    TerminationRecord,
)

#: The instruments certification asks for, and the most sessions allowed between two of each.
SCHEDULED_INSTRUMENTS = ("PHQ-9", "GAD-7")
MAX_SESSIONS_BETWEEN = 3


def is_concluded(course: Course) -> bool:
    """Only a course concluded as agreed is a certification case (not one ended early)."""
    return course.status == Course.Status.CONCLUDED


# De-identification ---------------------------------------------------------------------


def initials(*names: str) -> str:
    """ "D. D." from "Devon", "Demo-Dogwood": the first letter of each name given."""
    return " ".join(f"{name.strip()[0].upper()}." for name in names if name and name.strip())


def person_label(person: InventoryPerson) -> str:
    """A person of the inventory by relationship and initial: "Partner (A.)"."""
    initial = initials(person.name)
    relationship = person.relationship.strip()
    if relationship and initial:
        return f"{relationship} ({initial})"
    return relationship or initial or _("Someone")


# The summary -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Person:
    label: str
    circle: str
    support: str
    conflicts: str
    wants_to_change: str


@dataclass(frozen=True)
class AreaSummary:
    label: str
    role: str  # "Primary focus", "Second focus" or "Considered"
    evidence: str
    stage: str  # dispute stage or mourning progress, when recorded


@dataclass(frozen=True)
class WorkDone:
    session: int
    text: str


@dataclass(frozen=True)
class ContractSummary:
    planned_sessions: int
    frequency: str
    focus: tuple[str, ...]
    goals_summary: str
    versions: int


@dataclass(frozen=True)
class SessionCheck:
    """One held session and which scheduled measures it has."""

    number: int
    measured: dict[str, bool]


@dataclass(frozen=True)
class ScheduleResult:
    instrument: str
    passed: bool
    longest_gap: int  # the most held sessions in a row without this measure
    count: int  # held sessions with this measure

    @property
    def verdict(self) -> str:
        if self.count == 0:
            return _("Not met: no %(code)s was recorded in this course.") % {
                "code": self.instrument
            }
        if self.passed:
            return _("Met: never more than %(max)s sessions in a row without a %(code)s.") % {
                "max": MAX_SESSIONS_BETWEEN,
                "code": self.instrument,
            }
        return _(
            "Not met: %(gap)s sessions in a row without a %(code)s (at most %(max)s allowed)."
        ) % {"gap": self.longest_gap, "code": self.instrument, "max": MAX_SESSIONS_BETWEEN}


@dataclass(frozen=True)
class MeasureSummary:
    code: str
    title: str
    first: str
    last: str
    count: int
    chart: SafeString


@dataclass(frozen=True)
class FidelitySession:
    session: int
    comparison: fidelity.Comparison | None
    waiting: str = ""  # who has rated when only one side has: the ratings stay hidden


@dataclass(frozen=True)
class SignOff:
    supervisor: str
    signed_at: dt.datetime
    comment: str


@dataclass(frozen=True)
class Portfolio:
    course: Course
    client_initials: str
    age_band: str
    format_label: str
    status_label: str
    weeks: int | None
    clinician: str
    people: tuple[Person, ...]
    formulation: Formulation | None
    areas: tuple[AreaSummary, ...]
    work: tuple[WorkDone, ...]
    contract: ContractSummary | None
    sessions_held: int
    sessions_missed: int
    measures: tuple[MeasureSummary, ...]
    checks: tuple[SessionCheck, ...]
    schedule: tuple[ScheduleResult, ...]
    fidelity: tuple[FidelitySession, ...]
    ending: TerminationRecord | None
    signoff: SignOff | None
    concluded: bool

    @property
    def schedule_met(self) -> bool:
        return all(result.passed for result in self.schedule)


def _people(course: Course) -> tuple[Person, ...]:
    rows = InventoryPerson.objects.filter(course=course, snapshot=InventoryPerson.Snapshot.START)
    return tuple(
        Person(
            person_label(p),
            p.get_circle_display(),
            p.support,
            p.conflicts,
            p.wants_to_change,
        )
        for p in rows.order_by("circle", "id")
    )


def _areas(course: Course) -> tuple[AreaSummary, ...]:
    rows = ProblemArea.objects.filter(course=course).order_by("-is_primary", "-is_secondary", "id")
    result = []
    for area in rows:
        if area.is_primary:
            role = _("Primary focus")
        elif area.is_secondary:
            role = _("Second focus")
        else:
            role = _("Considered, not chosen as a focus")
        stage = ""
        if area.dispute_stage:
            stage = area.get_dispute_stage_display()
        elif area.mourning_progress:
            stage = area.get_mourning_progress_display()
        result.append(AreaSummary(area.get_area_display(), role, area.evidence, stage))
    return tuple(result)


def _contract(course: Course) -> ContractSummary | None:
    versions = list(ContractVersion.objects.filter(course=course).order_by("number"))
    if not versions:
        return None
    latest = versions[-1]
    areas = dict(Area.choices)
    return ContractSummary(
        planned_sessions=latest.planned_sessions,
        frequency=str(dict(Frequency.choices).get(latest.frequency, latest.frequency)),
        focus=tuple(str(areas.get(code, code)) for code in latest.focus_areas),
        goals_summary=latest.goals_summary,
        versions=len(versions),
    )


def _measure_sessions(progress: InstrumentProgress, first_held: int) -> set[int]:
    """The held sessions this measure counts for (one filled in before any session counts
    for the first)."""
    return {max(row.session, first_held) for row in progress.rows}


def schedule_check(
    held: Sequence[int], measured: dict[str, set[int]], instruments: Iterable[str]
) -> tuple[ScheduleResult, ...]:
    """Per instrument: the longest run of held sessions without it, and whether that run
    stays within ``MAX_SESSIONS_BETWEEN`` (from the first session to the last)."""
    results = []
    for code in instruments:
        got = measured.get(code, set())
        longest = run = 0
        for number in held:
            run = 0 if number in got else run + 1
            longest = max(longest, run)
        count = sum(1 for number in held if number in got)
        passed = count > 0 and longest <= MAX_SESSIONS_BETWEEN
        results.append(ScheduleResult(code, passed, longest, count))
    return tuple(results)


def _measures(
    course: Course, held: Sequence[int]
) -> tuple[tuple[MeasureSummary, ...], tuple[SessionCheck, ...], tuple[ScheduleResult, ...]]:
    progress = course_progress(course)
    first_held = min(held, default=1)
    summaries = []
    measured: dict[str, set[int]] = {}
    for instrument in progress.instruments:
        totals = [row.administration.total_display for row in instrument.rows]
        summaries.append(
            MeasureSummary(
                instrument.code,
                instrument.title,
                str(totals[0]) if totals else "",
                str(totals[-1]) if totals else "",
                len(totals),
                instrument.chart,
            )
        )
        # By the rule, not the code: a licensed translation scored as the PHQ-9 counts.
        key = instrument.rule.code if instrument.rule.code in SCHEDULED_INSTRUMENTS else None
        if key is not None:
            measured.setdefault(key, set()).update(_measure_sessions(instrument, first_held))
    checks = tuple(
        SessionCheck(n, {code: n in measured.get(code, set()) for code in SCHEDULED_INSTRUMENTS})
        for n in held
    )
    return tuple(summaries), checks, schedule_check(held, measured, SCHEDULED_INSTRUMENTS)


def _fidelity(sessions: Sequence[Session]) -> tuple[FidelitySession, ...]:
    by_session: dict[int, list[FidelityRating]] = {}
    ratings = FidelityRating.objects.filter(session__in=sessions).select_related("rater")
    for rating in ratings:
        by_session.setdefault(rating.session_id, []).append(rating)
    result = []
    for session in sessions:
        rows = by_session.get(session.pk, [])
        if not rows:
            continue
        therapist = next((r for r in rows if r.role == FidelityRating.Role.THERAPIST), None)
        supervisor = next((r for r in rows if r.role == FidelityRating.Role.SUPERVISOR), None)
        if therapist is not None and supervisor is not None:
            result.append(FidelitySession(session.number, fidelity.compare(therapist, supervisor)))
        elif therapist is not None:
            result.append(
                FidelitySession(session.number, None, _("Rated by the therapist only so far."))
            )
        else:
            result.append(
                FidelitySession(session.number, None, _("Rated by the supervisor only so far."))
            )
    return tuple(result)


def _signoff(course: Course) -> SignOff | None:
    row = PortfolioSignOff.objects.filter(course=course).select_related("supervisor").first()
    if row is None:
        return None
    return SignOff(row.supervisor.get_full_name(), row.signed_at, row.comment)


def course_portfolio(course: Course) -> Portfolio:
    """The case summary of a course the caller has reached through
    ``access.treatment.access_course_portfolio``."""
    client = course.client
    sessions = list(Session.objects.filter(course=course).order_by("number", "starts_at"))
    held_sessions = [s for s in sessions if s.attendance == Session.Attendance.ATTENDED]
    held = sorted({s.number for s in held_sessions})
    measures, checks, schedule = _measures(course, held)
    weeks = None
    if course.ended_on is not None:
        weeks = max((course.ended_on - course.start_date).days // 7, 0)
    return Portfolio(
        course=course,
        client_initials=initials(client.legal_given_name, client.legal_family_name),
        age_band=age_band(client.date_of_birth, course.start_date),
        format_label=course.get_format_display(),
        status_label=course.get_status_display(),
        weeks=weeks,
        clinician=course.clinician.user.get_full_name(),
        people=_people(course),
        formulation=Formulation.objects.filter(course=course).first(),
        areas=_areas(course),
        work=tuple(
            WorkDone(s.number, s.problem_area_work)
            for s in held_sessions
            if s.problem_area_work.strip()
        ),
        contract=_contract(course),
        sessions_held=len(held),
        sessions_missed=len(sessions) - len(held_sessions),
        measures=measures,
        checks=checks,
        schedule=schedule,
        fidelity=_fidelity(held_sessions),
        ending=TerminationRecord.objects.filter(course=course).first(),
        signoff=_signoff(course),
        concluded=is_concluded(course),
    )


# Signing off -----------------------------------------------------------------------------


@transaction.atomic
def portfolio_sign_off(
    *, actor: User, course: Course, comment: str = "", request: HttpRequest | None = None
) -> PortfolioSignOff:
    """The supervisor signs the portfolio off: an active supervisor of the course's clinician
    only, once the course has concluded, once per course (``ValidationError`` otherwise,
    with nothing saved)."""
    if not policy.can_sign_off_portfolio(policy.staff_membership(actor), course):
        raise PermissionDenied
    if not is_concluded(course):
        raise ValidationError(_("The portfolio can be signed off once the course has concluded."))
    if PortfolioSignOff.objects.filter(course=course).exists():
        raise ValidationError(_("This portfolio has already been signed off."))
    row = PortfolioSignOff(
        course=course, supervisor=actor, signed_at=timezone.now(), comment=comment.strip()
    )
    row.full_clean()
    try:
        with transaction.atomic():
            row.save()
    except IntegrityError:
        raise ValidationError(_("This portfolio has already been signed off.")) from None
    audit.record(
        actor=actor,
        action=AuditEvent.Action.CREATE,
        obj=row,
        client=course.client,
        request=request,
        detail="portfolio signed off",
    )
    return row


# The PDF ---------------------------------------------------------------------------------


def _no_fetch(url: str, *args: Any, **kwargs: Any) -> Any:
    raise ValueError("external resources are not fetched")


def render_pdf(html: str) -> bytes:
    """The page's HTML as a PDF (WeasyPrint; nothing is fetched from outside)."""
    from weasyprint import HTML  # heavy: loaded only when a PDF is asked for

    pdf: bytes = HTML(string=html, url_fetcher=_no_fetch).write_pdf()
    return pdf
