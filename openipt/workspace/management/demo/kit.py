"""The building blocks of the demo practice: a clock in the practice's time zone and small
helpers that write through the real services (so every record is audited and checked).

Only timestamps that the services set to "now" are moved afterwards, so that the story reads
as it would in a real practice: a questionnaire completed in session 3 is dated on the day of
session 3, a message sent four days ago says so. The audit events still say truthfully when
the demo was loaded.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TypeVar
from zoneinfo import ZoneInfo

from django.db.models import Model
from django.utils import timezone

from openipt.accounts.models import Membership, Practice, User
from openipt.clients import services as client_services
from openipt.clients.models import Client
from openipt.engagement import accounts as portal_accounts
from openipt.engagement import diary, messaging
from openipt.measures import services as measures
from openipt.measures.models import Administration, Instrument
from openipt.measures.scoring import answers_from_entries
from openipt.scheduling import services as scheduling
from openipt.scheduling.models import Appointment
from openipt.scheduling.times import to_utc, zone_for
from openipt.treatment import services as treatment
from openipt.treatment.models import BetweenSessionTask, Course, Session

CONSENT_VERSION = "DEMO-2026-1"
M = TypeVar("M", bound=Model)


@dataclass(frozen=True)
class ClientSpec:
    """An invented person. ``record`` is the practice record number that marks the scenario
    as loaded (a second run skips it)."""

    record: str
    given: str
    family: str
    born: dt.date
    pronouns: str = ""
    preferred: str = ""
    language: str = "English"
    phone: str = ""

    @property
    def email(self) -> str:
        return f"{self.given}.{self.family}@example.com".lower()


@dataclass(frozen=True)
class Held:
    """One session that took place, as the clinician wrote it up."""

    number: int
    day: int  # days from today (negative: in the past)
    mood: int | None = None
    events: str = ""
    link: str = ""
    focus: str = ""
    work: str = ""
    reviewed: str = ""
    note: str = ""
    phq9: int | None = None
    attendees: tuple[str, ...] = ("client",)
    techniques: tuple[tuple[str, dict[str, str]], ...] = ()
    task: str = ""
    sign: bool = True
    attendance: str = Session.Attendance.ATTENDED


@dataclass
class Clinic:
    """The demo's clock and its people: everything a scenario needs to write records."""

    practice: Practice
    clinician: User
    supervisor: User
    admin: User
    today: dt.date = field(init=False)
    zone: ZoneInfo = field(init=False)
    membership: Membership = field(init=False)
    supervisor_membership: Membership = field(init=False)

    def __post_init__(self) -> None:
        self.zone = zone_for(self.practice)
        self.today = timezone.localtime(timezone.now(), self.zone).date()
        self.membership = Membership.objects.get(user=self.clinician)
        self.supervisor_membership = Membership.objects.get(user=self.supervisor)

    def day(self, offset: int) -> dt.date:
        return self.today + dt.timedelta(days=offset)

    def at(self, offset: int, clock: dt.time) -> dt.datetime:
        """``clock`` on the day ``offset`` days from today, in the practice's time zone."""
        return to_utc(self.day(offset), clock, self.zone)

    # People ----------------------------------------------------------------------------

    def client(self, spec: ClientSpec, *, consented: int) -> Client:
        client = client_services.client_create(
            actor=self.clinician,
            data=client_services.ClientData(
                legal_given_name=spec.given,
                legal_family_name=spec.family,
                preferred_name=spec.preferred,
                pronouns=spec.pronouns,
                date_of_birth=spec.born,
                preferred_language=spec.language,
                language="es" if spec.language == "Spanish" else "en",
                email=spec.email,
                phone=spec.phone,
            ),
            identifiers=[client_services.IdentifierData("practice", spec.record)],
        )
        client_services.consent_record_add(
            actor=self.clinician,
            client=client,
            kind="treatment",
            consented_on=self.day(consented),
            text_version=CONSENT_VERSION,
            notes="Fictional demo record.",
        )
        return client

    def portal_account(self, client: Client, password: str) -> User:
        _invitation, token = portal_accounts.portal_invite(
            actor=self.clinician, client=client, email=client.email
        )
        return portal_accounts.portal_invitation_accept(token=token, password=password)

    # Courses and sessions -------------------------------------------------------------

    def course(self, client: Client, *, start: int, **data: object) -> Course:
        return treatment.course_create(
            actor=self.clinician,
            client=client,
            clinician=self.membership,
            data=treatment.CourseData(start_date=self.day(start), **data),  # type: ignore[arg-type]
        )

    def hold(self, course: Course, plan: Held, clock: dt.time) -> Session:
        """Record a session that took place (with its appointment, marked attended), its
        PHQ-9, techniques and the task set for the client; signed unless ``plan`` says not."""
        starts_at = self.at(plan.day, clock)
        appointment = self.book(course.client, starts_at, course=course)
        session = treatment.session_create(
            actor=self.clinician,
            course=course,
            data=treatment.SessionData(
                number=plan.number,
                starts_at=starts_at,
                attendance=plan.attendance,
                attendees=plan.attendees if plan.attendance == "attended" else (),
                mood=plan.mood,
                events_since_last=plan.events,
                mood_event_link=plan.link,
                focus=plan.focus,
                problem_area_work=plan.work,
                techniques_used=(),
                tasks_reviewed=plan.reviewed,
                risk_check=(
                    Session.Risk.NO_CONCERNS
                    if plan.attendance == "attended"
                    else Session.Risk.NOT_ASKED
                ),
                progress_note=plan.note,
            ),
        )
        scheduling.appointment_set_outcome(
            actor=self.clinician,
            appointment=appointment,
            version=appointment.version,
            status=_outcome(plan.attendance),
        )
        if plan.phq9 is not None:
            self.phq9(course, plan.phq9, session=session)
        for kind, details in plan.techniques:
            treatment.technique_create(
                actor=self.clinician,
                session=session,
                data=treatment.TechniqueData(kind=kind, details=details),
            )
        if plan.task:
            treatment.task_set(actor=self.clinician, session=session, text=plan.task)
        return self.sign(session) if plan.sign else session

    def sign(self, session: Session) -> Session:
        session.refresh_from_db()
        return treatment.session_sign(
            actor=self.clinician, session=session, version=session.version
        )

    def book(
        self,
        client: Client,
        starts_at: dt.datetime,
        *,
        course: Course | None = None,
        kind: str = Appointment.Kind.SESSION,
        note: str = "",
    ) -> Appointment:
        return scheduling.appointment_book(
            actor=self.clinician,
            client=client,
            clinician=self.membership,
            starts_at=starts_at,
            kind=kind,
            course=course,
            note=note,
        )

    def book_weekly(
        self, course: Course, first: int, clock: dt.time, count: int, *, every: int = 7
    ) -> None:
        for n in range(count):
            self.book(course.client, self.at(first + n * every, clock), course=course)

    # Questionnaires -------------------------------------------------------------------

    def instrument(self, code: str) -> Instrument:
        return Instrument.objects.get(practice__isnull=True, code=code)

    def phq9(self, course: Course, total: int, *, session: Session) -> Administration:
        instrument = self.instrument("PHQ-9")
        administration = measures.administration_enter(
            actor=self.clinician,
            course=course,
            instrument=instrument,
            answers=answers_for(instrument, total),
            session=session,
        )
        return _backdate(administration, completed_at=session.starts_at)

    def client_completes(
        self,
        course: Course,
        code: str,
        total: int,
        *,
        by: User,
        day: int,
        self_harm: int = 0,
    ) -> Administration:
        """A questionnaire sent to the client's portal and answered there on ``day``."""
        instrument = self.instrument(code)
        assigned = measures.administration_assign(
            actor=self.clinician,
            client=course.client,
            instrument=instrument,
            due_on=self.day(day),
            course=course,
        )
        done = measures.administration_complete(
            actor=by,
            administration=assigned,
            answers=answers_for(instrument, total, self_harm=self_harm),
        )
        return _backdate(done, completed_at=self.at(day, dt.time(19, 30)))

    def assign(self, course: Course, code: str, *, due: int) -> Administration:
        return measures.administration_assign(
            actor=self.clinician,
            client=course.client,
            instrument=self.instrument(code),
            due_on=self.day(due),
            course=course,
        )

    # The client's side ----------------------------------------------------------------

    def conversation(self, client: Client, portal: User, lines: list[tuple[int, str]]) -> None:
        """Messages in order, each ``(hours ago, text)``; a positive number of hours is the
        client writing, a negative one the clinician. Each side has read everything before
        its own reply; the last message stays unread."""
        for hours, text in lines:
            sender = portal if hours > 0 else self.clinician
            messaging.messages_mark_read(reader=sender, client=client)
            message = messaging.message_send(actor=sender, client=client, body=text)
            _backdate(message, created_at=timezone.now() - dt.timedelta(hours=abs(hours)))

    def diary(self, client: Client, portal: User, day: int, mood: int, who: str, text: str) -> None:
        entry = diary.diary_entry_create(
            actor=portal,
            client=client,
            data=diary.DiaryData(
                entry_date=self.day(day), mood=mood, with_whom=who, what_happened=text
            ),
        )
        _backdate(entry, created_at=self.at(day, dt.time(21, 0)))

    def task_report(self, task: BetweenSessionTask, portal: User, status: str, note: str) -> None:
        task.refresh_from_db()
        treatment.task_update_by_client(
            actor=portal,
            client=task.course.client,
            task=task,
            status=status,
            note=note,
            version=task.version,
        )


def answers_for(instrument: Instrument, total: int, *, self_harm: int = 0) -> dict[str, str | None]:
    """Answers adding up to ``total``, spread over the items; on the PHQ-9 the last item (the
    one about self-harm) is ``self_harm`` and the question about difficulty is answered."""
    definition = instrument.parsed
    items = definition.scored_items
    highest = [max(item.entries) for item in items]
    entries = [0] * len(items)
    last = len(items) - 1 if instrument.code == "PHQ-9" else len(items)
    if instrument.code == "PHQ-9":
        entries[-1] = self_harm
    remaining = total - sum(entries)
    while remaining > 0:
        before = remaining
        for index in range(last):
            if remaining and entries[index] < highest[index]:
                entries[index] += 1
                remaining -= 1
        if remaining == before:
            raise ValueError(f"{instrument.code} cannot add up to {total}")
    answers = answers_from_entries(definition, entries)
    difficulty = definition.item("difficulty")
    if difficulty is not None:
        option = difficulty.option_for_entry(1 if total < 15 else 2) or difficulty.options[0]
        answers[difficulty.link_id] = option.code
    return answers


def _outcome(attendance: str) -> str:
    outcomes: dict[str, str] = {
        Session.Attendance.ATTENDED: Appointment.Status.ATTENDED,
        Session.Attendance.CANCELLED: Appointment.Status.CANCELLED,
        Session.Attendance.LATE_CANCELLATION: Appointment.Status.LATE_CANCELLATION,
        Session.Attendance.NO_SHOW: Appointment.Status.NO_SHOW,
    }
    return outcomes[attendance]


def _backdate(record: M, **moments: dt.datetime) -> M:
    """Move timestamps the services set to "now" (never anything else) to when it happened."""
    type(record)._default_manager.filter(pk=record.pk).update(**moments)
    for name, value in moments.items():
        setattr(record, name, value)
    return record
