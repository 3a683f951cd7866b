"""No 500 on any input: every form of every page in the permission matrix, sent with
hostile values, is answered with a page or a refusal — never a server error.

For each URL that a persona may open (the matrix says 200), the test opens it as that
persona, reads every ``<form method="post">`` on it, and sends each form once per hostile
payload: out-of-range integers, extreme dates, a NUL byte, a lone surrogate, very long
text, and a deeply nested JSON file in every file field. Hidden fields keep their values
(so the submission reaches the view). The Django test client re-raises a view's exception,
so any 500 fails with its traceback.

Sent twice, saved once: the first form of every such page (and, for an address that takes
only a POST, the form on another page that sends to it) is filled with valid values and sent
twice with its one-time token — in sequence, and on PostgreSQL by two browsers at the same
instant — and the records of one send appear, once (openipt/core/submissions.py).
"""

from __future__ import annotations

import datetime as dt
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import quote, urlencode, urljoin, urlsplit

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, connections, transaction
from django.http import HttpResponse
from django.test import Client as HttpClient
from django.urls import resolve, reverse
from django.utils import timezone

from openipt.clients.tests.matrix import emergency_access
from openipt.core.submissions import FIELD
from openipt.portal.tests.matrix import dana_goal
from openipt.portal.tests.test_consultation import valid as consultation_request_values
from openipt.testing.personas import Personas, make_client, make_staff
from openipt.treatment.tests.supervision_builders import draft_meeting
from openipt.workspace.tests.matrix import dana_inbox_message
from tests.test_permission_matrix import (
    MATRIX,
    NOT_ALLOWED,
    OK,
    PERSONAS,
    _signed_in_as,
    alice_token,
    pending_grant,
    pending_invitation,
    queued_email,
)

# Values that have caused 500s before (hostile input over 47 forms), and which fields get
# them: every other field keeps a plausible value, so the form gets as far as saving.
NUMBERS = {"number", "text", "range"}
DATES = {"date", "datetime-local", "text"}
TEXT = {"text", "textarea", "email", "search", "tel", "url", "password"}
PAYLOADS: dict[str, tuple[str | dict[str, str], set[str]]] = {
    "huge integer": ("9" * 40, NUMBERS),
    "negative": ("-99999999999", NUMBERS),
    "year one": ({"date": "0001-01-01", "datetime-local": "0001-01-01T00:00"}, DATES),
    "year 9999": ({"date": "9999-12-31", "datetime-local": "9999-12-31T23:30"}, DATES),
    "NUL byte": ("before\x00after", TEXT),
    "long text": ("x" * 1_000_000, {"textarea"}),
    "long line": ("x" * 100_000, TEXT - {"textarea"}),
}
LONE_SURROGATE = "%ED%A0%80"  # UTF-8 bytes of U+D800, which no valid text contains
NESTED_JSON = b"[" * 100_000 + b"]" * 100_000
SKIP_INPUT_TYPES = {"submit", "button", "reset", "image"}
PLAUSIBLE = {
    "number": "1", "date": "2026-12-03", "time": "10:00", "datetime-local": "2026-12-03T10:00",
    "email": "someone@example.test", "tel": "+44 20 7946 0000", "url": "https://example.test/",
}  # fmt: skip


@dataclass
class Form:
    action: str
    fields: list[tuple[str, str, str]] = field(default_factory=list)  # name, kind, value
    token: str = ""  # the one-time submission token the page rendered into the form


class FormReader(HTMLParser):
    """The POST forms of a page: each field's name, kind (input type, select, textarea) and
    a plausible value (its own, a select's first real option, or one that fits its kind)."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []
        self._form: Form | None = None
        self._select: int | None = None
        self._textarea: int | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and a.get("method", "get").lower() == "post":
            self._form = Form(a.get("action", ""))
            self.forms.append(self._form)
            return
        form = self._form
        if form is None:
            return
        if tag == "option" and self._select is not None:
            name, kind, value = form.fields[self._select]
            if not value and a.get("value"):
                form.fields[self._select] = (name, kind, a["value"])
            return
        if a.get("name") == FIELD:
            form.token = a.get("value", "")
            return  # kept apart: each hostile payload is a new submission, without it
        if not a.get("name"):
            return
        kind = tag if tag in ("select", "textarea") else a.get("type", "text")
        if kind in SKIP_INPUT_TYPES:
            return
        if kind in ("checkbox", "radio"):
            if any(n == a["name"] for n, _k, _v in form.fields):
                return  # one value per group is enough
            value = a.get("value", "on") or "on"
        else:
            value = a.get("value", "") or PLAUSIBLE.get(kind, "")
        form.fields.append((a["name"], kind, value))
        if kind == "select":
            self._select = len(form.fields) - 1
        if kind == "textarea":
            self._textarea = len(form.fields) - 1

    def handle_data(self, data: str) -> None:
        if self._form is not None and self._textarea is not None:
            name, kind, value = self._form.fields[self._textarea]
            self._form.fields[self._textarea] = (name, kind, value + data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea" and self._form is not None and self._textarea is not None:
            name, kind, value = self._form.fields[self._textarea]
            self._form.fields[self._textarea] = (name, kind, value.strip() or "A few words.")
            self._textarea = None


def post_forms(html: str) -> list[Form]:
    reader = FormReader()
    reader.feed(html)
    return reader.forms


def hostile(form: Form, payload: str | dict[str, str], kinds: set[str]) -> dict[str, Any]:
    """The payload in every field of a fitting kind; every other field plausible."""
    data: dict[str, Any] = {}
    for name, kind, value in form.fields:
        if kind == "file":
            data[name] = SimpleUploadedFile("nested.json", NESTED_JSON, "application/json")
        elif kind in kinds:
            data[name] = payload.get(kind, value) if isinstance(payload, dict) else payload
        else:
            data[name] = value
    return data


def surrogate_body(form: Form) -> str:
    return "&".join(
        f"{quote(name)}={LONE_SURROGATE if kind in TEXT else quote(value)}"
        for name, kind, value in form.fields
        if kind != "file"
    )


def pages(personas: Personas) -> Iterator[tuple[str, str, str]]:
    """(URL name, persona, URL) for every page a persona may open."""
    for name, route in sorted(MATRIX.items()):
        for persona, expected in route.expect.items():
            if expected == OK:
                yield name, persona, reverse(name, kwargs=route.kwargs(personas))
                break  # one persona per page: the forms are the same for everyone


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(MATRIX))
def test_no_form_answers_500_whatever_it_is_sent(name, personas):
    route = MATRIX[name]
    persona = next((p for p, expected in route.expect.items() if expected == OK), None)
    if persona is None:
        pytest.skip("no persona opens this page")
    url = reverse(name, kwargs=route.kwargs(personas))
    user = PERSONAS[persona](personas)
    http: HttpClient = _signed_in_as(user)
    page = http.get(url)
    if "html" not in page.get("Content-Type", ""):
        pytest.skip("not an HTML page")
    forms = [  # signing out (every page's header) and the footer's language switch (every
        # public page's) are not what is being tested
        form for form in post_forms(page.content.decode())
        if not urljoin(url, form.action or url).startswith(("/accounts/", "/i18n/"))
    ]  # fmt: skip
    if not forms:
        pytest.skip("no form to send")
    answered = []
    for form in forms:
        target = urljoin(url, form.action) if form.action else url
        for label, (payload, kinds) in PAYLOADS.items():
            response = http.post(target, hostile(form, payload, kinds))
            answered.append((label, response.status_code))
            if user is not None:
                http.force_login(user)  # a form may have ended the session (e.g. a time-out)
        response = http.post(
            target, surrogate_body(form), content_type="application/x-www-form-urlencoded"
        )
        answered.append(("lone surrogate", response.status_code))
    server_errors = [(label, status) for label, status in answered if status >= 500]
    assert server_errors == [], f"{name} answered a server error: {server_errors}"


def test_the_form_reader_finds_fields_with_plausible_values():
    html = """<form method="post" action="/x/" enctype="multipart/form-data">
      <input type="hidden" name="csrfmiddlewaretoken" value="t">
      <input type="hidden" name="_submission" value="one-time-token-0123">
      <input name="title" value="a"><input type="number" name="minutes">
      <textarea name="note"> kept </textarea><textarea name="empty"></textarea>
      <select name="kind"><option value="">Choose</option><option value="b">B</option></select>
      <input type="radio" name="mood" value="3"><input type="radio" name="mood" value="4">
      <input type="file" name="upload"><button type="submit">Save</button></form>
      <form method="get"><input name="q"></form>"""
    [form] = post_forms(html)
    assert form.action == "/x/"
    assert form.token == "one-time-token-0123"
    assert form.fields == [
        ("csrfmiddlewaretoken", "hidden", "t"), ("title", "text", "a"),
        ("minutes", "number", "1"), ("note", "textarea", "kept"),
        ("empty", "textarea", "A few words."), ("kind", "select", "b"),
        ("mood", "radio", "3"), ("upload", "file", ""),
    ]  # fmt: skip
    data = hostile(form, "9" * 40, NUMBERS)
    assert (data["title"], data["minutes"]) == ("9" * 40, "9" * 40)
    assert data["note"] == "kept"
    assert isinstance(data["upload"], SimpleUploadedFile)
    assert hostile(form, {"date": "0001-01-01"}, DATES)["title"] == "a"
    assert surrogate_body(form).startswith("csrfmiddlewaretoken=t&title=%ED%A0%80&minutes=1")


# ------------------------------------------------- every form sent twice saves once


def _row_counts() -> dict[str, int]:
    """Rows in every OpenIPT table (the submission tokens aside)."""
    from django.apps import apps

    return {
        model._meta.label: model._default_manager.count()
        for model in apps.get_models()
        if model.__module__.startswith("openipt.") and model._meta.label != "core.Submission"
    }


def _grown(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    """The tables that gained rows, and how many."""
    return {label: n - before[label] for label, n in after.items() if n > before[label]}


def _days_from_today(days: int) -> str:
    return (timezone.localdate() + dt.timedelta(days=days)).isoformat()


# A field's value for a valid submission; None leaves the field out (a box left unticked,
# no file attached); a function gives a fresh value for every send (an uploaded file).
Values = dict[str, Any]
NEW_PASSWORD = "a quiet river at dawn 58"


def _questionnaire_file() -> SimpleUploadedFile:
    from openipt.measures.tests.helpers import epds_text

    return SimpleUploadedFile("epds.json", epds_text().encode(), "application/json")


def _wav_file() -> SimpleUploadedFile:
    from openipt.treatment.tests.recording_fixtures import wav_bytes

    return SimpleUploadedFile("session.wav", wav_bytes(), "audio/wav")


def _signed_session(p: Personas, kwargs: dict[str, Any]) -> Values:
    """Only a signed session takes an amendment: sign the one in the URL first."""
    from openipt.treatment import services as treatment
    from openipt.treatment.models import Session

    session = Session.objects.get(uuid=kwargs["session_uuid"])
    treatment.session_sign(actor=p.alice, session=session, version=session.version)
    return {"text": "The client was seen in person, not by video."}


def _a_colleagues_client(p: Personas, kwargs: dict[str, Any]) -> Values:
    """Break-glass opens a record the clinician cannot open otherwise: a colleague's client."""
    casey = make_staff(p.practice, "casey@riverside.test", "Casey Clinician")
    make_client(p.practice, casey, given="Kim", family="Lowe", date_of_birth=dt.date(1979, 2, 11))
    return {
        "legal_given_name": "Kim", "legal_family_name": "Lowe", "date_of_birth": "1979-02-11",
        "reason": "Kim's clinician is away and Kim phoned in distress.",
    }  # fmt: skip


def _someone_in_the_inventory(p: Personas, kwargs: dict[str, Any]) -> Values:
    """The end-of-course inventory starts as a copy of the first: give it someone to copy."""
    from openipt.treatment.models import Course
    from openipt.treatment.tests import factories

    factories.make_person(p.alice, Course.objects.get(uuid=kwargs["course_uuid"]), "Sam")
    return {}


def _a_goal_in_the_course(p: Personas, kwargs: dict[str, Any]) -> Values:
    """Each goal of the course has its own rating form."""
    from openipt.treatment import services as treatment
    from openipt.treatment.models import Course

    course = Course.objects.get(uuid=kwargs["course_uuid"])
    treatment.goal_create(actor=p.alice, course=course, data=treatment.GoalData(text="Walk daily"))
    return {}


def _an_ending_recorded(p: Personas, kwargs: dict[str, Any]) -> Values:
    """A course is concluded once its ending is written up."""
    from openipt.treatment import services as treatment
    from openipt.treatment.models import Course

    course = Course.objects.get(uuid=kwargs["course_uuid"])
    treatment.termination_save(
        actor=p.alice, course=course, version=0,
        data=treatment.TerminationData(
            gains="Talks to her sister again", warning_signs="Sleeping badly",
            relapse_plan="Phone the clinic", next_step="none", next_step_reason="Well now",
        ),
    )  # fmt: skip
    return {}


def _an_email_given_up_on(p: Personas, kwargs: dict[str, Any]) -> Values:
    """ "Send again" is offered for an email the outbox stopped trying to deliver."""
    from openipt.core.models import OutboxEmail

    row = OutboxEmail.objects.filter(uuid=queued_email(p)["uuid"])
    row.update(dead_at=timezone.now(), sent_at=None, attempts=5)
    return {}


def _no_phase_override(p: Personas, kwargs: dict[str, Any]) -> Values:
    return {"phase_override": "", "phase_override_reason": ""}


def _one_appointment(p: Personas, kwargs: dict[str, Any]) -> Values:
    return {"date": _days_from_today(7), "count": "", "until": ""}


def _with(record: Callable[[Personas], object]) -> Callable[[Personas, dict[str, Any]], Values]:
    """Make the record the form is about (the matrix's URL filler) before the page opens."""

    def values(p: Personas, kwargs: dict[str, Any]) -> Values:
        record(p)
        return {}

    return values


# The values that make a valid submission of a page's first form (or of the form that sends
# to an address in ``HOSTS``), where the generic plausible values (above) are not enough:
# required text, a choice other than the first, a date in the past, a record in a certain
# state. Each entry is a function of the personas and the page's URL arguments; it may
# prepare records before the page is opened. Every other field keeps its plausible value.
VALID: dict[str, Callable[[Personas, dict[str, Any]], Values]] = {
    "accounts:language": lambda p, kw: {"language": "es"},
    "portal:language": lambda p, kw: {"language": "es"},
    "smart:app-register": lambda p, kw: {
        "name": "Mood Diary", "redirect_uris": "https://app.example.test/cb", "confidential": "0",
    },
    "smart:connected-revoke": _with(alice_token),
    "accounts:emergency-access-review": _with(emergency_access),
    "accounts:grant-approve": _with(pending_grant),
    "accounts:grant-refuse": _with(pending_grant),
    "accounts:invitation-accept": lambda p, kw: {
        "password1": NEW_PASSWORD, "password2": NEW_PASSWORD,
    },
    "accounts:invitation-revoke": _with(pending_invitation),
    "accounts:outbox-send-again": _an_email_given_up_on,
    "accounts:staff-invite": lambda p, kw: {
        "email": "riley.newcomer@riverside.test", "full_name": "Riley Newcomer",
        "is_supervisor": None, "is_admin": None,
    },
    "letters:create": lambda p, kw: {"recipient_name": "Dr A. Rao"},
    # Supervision notes: one follow-up for the one person supervised, the other rows empty.
    "supervision:meeting-create": lambda p, kw: {
        "follow_up_0_text": "Read over the timeline", "follow_up_0_person": None,
        "follow_up_1_text": "", "follow_up_1_person": None, "follow_up_1_due": None,
    },
    "supervision:meeting-edit": lambda p, kw: {
        "follow_up_0_person": None,
        "follow_up_1_text": "", "follow_up_1_person": None, "follow_up_1_due": None,
        "follow_up_2_text": "", "follow_up_2_person": None, "follow_up_2_due": None,
    },
    "clients:consent-create": lambda p, kw: {
        "consented_on": _days_from_today(-3), "text_version": "2026-1",
    },
    "clients:create": lambda p, kw: {
        "legal_given_name": "Robin", "legal_family_name": "Hale", "date_of_birth": "1988-03-14",
        "address": "4 Mill Lane",
    },
    "clients:emergency": _a_colleagues_client,
    "clients:messages": lambda p, kw: {"body": "See you on Tuesday.", "attachments": None},
    "clients:status": lambda p, kw: {"status": "archived", "reason": "Moved away."},
    "inbox:mark-all-read": _with(dana_inbox_message),
    "inbox:mark-read": _with(dana_inbox_message),
    "inbox:open": _with(dana_inbox_message),
    "intake:detail": lambda p, kw: {
        "date_of_birth": "1985-07-09", "starts_at": f"{_days_from_today(7)}T10:00",
    },
    "measures:instruments": lambda p, kw: {"file": _questionnaire_file},
    "portal:consultation": lambda p, kw: consultation_request_values(),
    "portal:goal-rate": _with(dana_goal),
    "portal:messages": lambda p, kw: {"body": "Can we move Tuesday?", "attachments": None},
    "portal:welcome": lambda p, kw: {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    "scheduling:book": _one_appointment,
    "scheduling:book-slot": _one_appointment,
    "scheduling:cancel": lambda p, kw: {"cancellation_reason": "Unwell today.", "late": None},
    "scheduling:outcome": lambda p, kw: {
        "status": "cancelled", "cancellation_reason": "Unwell today.",
    },
    "scheduling:series": lambda p, kw: {"first_date": _days_from_today(7), "skip_dates": ""},
    "treatment:course-conclude": _an_ending_recorded,
    "treatment:event-create": lambda p, kw: {
        "date": _days_from_today(-40), "description": "Moved to a new flat", "people": "",
        "mood": "5", "marks_symptom_onset": None,
    },
    "treatment:formulation": lambda p, kw: {"shared_on": _days_from_today(-2)},
    "treatment:goal-rate": _a_goal_in_the_course,
    "treatment:goals": lambda p, kw: {"text": "Call my sister once a week"},
    "treatment:inventory": _someone_in_the_inventory,
    "treatment:person-create": lambda p, kw: {"name": "Sam", "relationship": "Brother"},
    "treatment:problem-area": lambda p, kw: {"is_secondary": None},
    "treatment:session-amend": _signed_session,
    "treatment:session-create": lambda p, kw: {
        **_no_phase_override(p, kw), "number": "2", "starts_at": f"{_days_from_today(-1)}T10:00",
    },
    "treatment:session-update": _no_phase_override,
    # Session recordings: a tiny valid WAV, and a supervisor's comment at 1:05.
    "treatment:session-recordings": lambda p, kw: {"file": _wav_file},
    "treatment:recording-detail": lambda p, kw: {"at": "1:05", "text": "Good link here."},
}  # fmt: skip


def _todays_session_appointment(p: Personas) -> dict[str, Any]:
    """ "Write the note" is offered for a session of an open course that has begun."""
    from openipt.scheduling import services as scheduling
    from openipt.treatment.tests import factories

    course = factories.make_course(p.alice, p.dana)
    appointment = scheduling.appointment_book(
        actor=p.alice, client=p.dana, clinician=p.membership(p.alice), course=course,
        starts_at=timezone.now() - dt.timedelta(minutes=30), kind="session",
    )  # fmt: skip
    return {"uuid": appointment.uuid}


def _session_after_a_task(p: Personas) -> dict[str, Any]:
    """A task is reviewed in the session after the one that set it."""
    from openipt.treatment import services as treatment
    from openipt.treatment.tests import factories

    course = factories.make_course(p.alice, p.dana)
    first = factories.make_session(p.alice, course, 1)
    treatment.task_set(actor=p.alice, session=first, text="Phone my sister")
    second = factories.make_session(p.alice, course, 2)
    return {"course_uuid": course.uuid, "session_uuid": second.uuid}


@dataclass(frozen=True)
class Host:
    """The page whose form sends to an address that takes only a POST; ``kwargs`` gives the
    page's URL arguments where the matrix's would not show the form, ``query`` its query
    string where it needs one, ``persona`` who opens it where the matrix has no one."""

    page: str
    kwargs: Callable[[Personas], dict[str, Any]] | None = None
    query: Callable[[Personas], dict[str, Any]] | None = None
    persona: str | None = None


# Addresses that take only a POST: the form that sends to them is sent from their page
# (with the values of VALID, which is given the page's URL arguments); and pages that the
# matrix's plain GET cannot open.
HOSTS: dict[str, Host] = {
    "accounts:emergency-access-review": Host("accounts:emergency-access"),
    "accounts:grant-approve": Host("accounts:grant-list"),
    "accounts:grant-refuse": Host("accounts:grant-list"),
    "accounts:invitation-revoke": Host("accounts:staff-list"),
    "accounts:outbox-send-again": Host("accounts:outbox"),
    "accounts:staff-deactivate": Host("accounts:staff-edit"),
    "accounts:supervision-training": Host("accounts:staff-edit"),
    # With two practices the public form needs to be told whose it is (the matrix: 404).
    "portal:consultation": Host(
        "portal:consultation", query=lambda p: {"practice": p.practice.uuid}, persona="anonymous"
    ),
    "clients:portal-sharing": Host("clients:portal"),
    "inbox:mark-all-read": Host("inbox:list"),
    "inbox:mark-read": Host("inbox:list"),
    "inbox:open": Host("inbox:list"),
    "supervision:meeting-sign": Host("supervision:meeting-detail", draft_meeting, persona="bob"),
    "supervision:meeting-amend": Host("supervision:meeting-detail", persona="bob"),
    "supervision:follow-up-done": Host("supervision:meeting-detail", persona="alice"),
    "measures:administration-assign": Host("measures:course-measures"),
    "portal:goal-rate": Host("portal:goals"),
    "scheduling:appointment-note": Host("scheduling:appointment", _todays_session_appointment),
    "treatment:course-conclude": Host("treatment:termination"),
    "treatment:course-portfolio-signoff": Host("treatment:course-portfolio", persona="bob"),
    "treatment:goal-rate": Host("treatment:goals"),
    "treatment:session-sign": Host("treatment:session-detail"),
    "treatment:task-create": Host("treatment:session-detail"),
    "treatment:task-review": Host("treatment:session-detail", _session_after_a_task),
    "smart:app-disable": Host("smart:app-detail", persona="adam"),
    "smart:connected-revoke": Host("smart:connected", persona="alice"),
    # The supervisor comments on a recording; the therapist's page has no form.
    "treatment:recording-detail": Host("treatment:recording-detail", persona="bob"),
}

# Pages whose form is not sent from this test, and why. Exactly these are skipped (below):
# a page that starts saving must be taken off, a page that stops saving must be given values.
NOT_SENT: dict[str, str] = {
    # Shows the new secret calendar address on the answer itself (once; it is kept nowhere
    # but as a hash), so it answers 200, not a redirect, and the one-time token is not kept:
    # a second send makes a new address and stops the first. What that leaves is tested
    # below (test_a_calendar_address_made_twice_leaves_only_the_last_one_shown_working).
    "scheduling:feed-settings": "answers with the new secret address itself, not a redirect",
    # Addresses that take only a POST whose form is the first on its page, sent from there.
    "treatment:inventory-copy": "sent as the first form of treatment:inventory",
    "treatment:task-mark": "sent as the first form of treatment:course-detail",
    # A download: the answer is the file itself, and each download is its own audited
    # export (openipt/care/research_export.py), so a second send is a second download.
    "research:export": "answers with the export file itself, not a redirect",
    # OAuth endpoints that apps call with their own credentials; no page has their form
    # (openipt/api/tests/test_smart.py sends them as apps do).
    "smart:token": "an app's endpoint: no page shows its form",
    "smart:revoke-token": "an app's endpoint: no page shows its form",
}

# Every page whose form creates records (not only changes them): the same form is also sent
# twice at the same instant (below). Checked both ways by the test that sends it in sequence.
CREATE_FORMS: list[str] = [
    "accounts:invitation-accept", "accounts:staff-invite", "clients:care-team",
    "clients:consent-create", "clients:create", "clients:emergency", "clients:messages",
    "clients:portal", "clients:portal-sharing", "intake:detail", "smart:app-register",
    "letters:create", "letters:template-edit",
    "measures:administration-assign", "measures:administration-create",
    "measures:course-measures", "measures:instruments", "measures:safety-plan",
    "portal:consultation", "portal:diary-new", "portal:goal-rate", "portal:messages",
    "portal:welcome", "scheduling:appointment-note", "scheduling:book", "scheduling:book-slot",
    "scheduling:series", "supervision:meeting-amend", "supervision:meeting-create",
    "treatment:contract", "treatment:course-create",
    "treatment:course-detail", "treatment:course-maintenance",
    "treatment:course-portfolio-signoff", "treatment:event-create",
    "treatment:formulation", "treatment:goal-rate", "treatment:goals", "treatment:inventory",
    "treatment:person-create", "treatment:problem-areas", "treatment:process-note",
    "treatment:session-amend", "treatment:session-create", "treatment:session-fidelity",
    "treatment:session-update",
    "treatment:task-create", "treatment:technique-create", "treatment:termination",
    "treatment:session-recordings", "treatment:recording-detail",
]  # fmt: skip
# What every save writes besides its records: the audit event, an email about it.
NOT_RECORDS = {"audit.AuditEvent", "core.OutboxEmail"}

REDIRECTS = (301, 302, 303)
ERROR = re.compile(r'<ul class="errorlist[^"]*"[^>]*>(.*?)</ul>', re.S)


@dataclass
class Sending:
    """One rendered form of a page, ready to be sent (again) with valid values."""

    user: Any
    target: str
    form: Form
    values: Values

    def data(self) -> dict[str, Any]:
        data = {**hostile(self.form, "", set()), FIELD: self.form.token}
        for name, value in self.values.items():
            if value is None:
                data.pop(name, None)
            else:
                data[name] = value() if callable(value) else value
        return data

    def browser(self) -> HttpClient:
        return _signed_in_as(self.user)


def _rendered_form(name: str, personas: Personas) -> tuple[Sending, HttpClient]:
    """The first form of the page, as the first persona who may open it sees it; for an
    address that takes only a POST, the form that sends to it on its page (``HOSTS``)."""
    host = HOSTS.get(name, Host(name))
    page_name, route = host.page, MATRIX[host.page]
    persona = host.persona or next((p for p, e in route.expect.items() if e == OK), None)
    if persona is None:
        pytest.skip(NOT_SENT.get(name, "no persona opens this page"))
    kwargs = (host.kwargs or route.kwargs)(personas)
    values = VALID[name](personas, kwargs) if name in VALID else {}
    url = reverse(page_name, kwargs=kwargs)
    if host.query is not None:
        url += "?" + urlencode(host.query(personas))
    user = PERSONAS[persona](personas)
    http = _signed_in_as(user)
    page = http.get(url)
    if "html" not in page.get("Content-Type", ""):
        pytest.skip("not an HTML page")
    forms = [  # signing out (every page's header) and the footer's language switch (every
        # public page's) are not what is being tested
        form for form in post_forms(page.content.decode())
        if not urljoin(url, form.action or url).startswith(("/accounts/", "/i18n/"))
    ]  # fmt: skip
    if host.page != name:
        forms = [f for f in forms if f.action and resolve(f.action).view_name == name][:1]
        assert forms, f"{page_name} shows no form that sends to {name}"
    if not forms:
        pytest.skip("no form to send")
    target = urljoin(url, forms[0].action) if forms[0].action else url
    return Sending(user, target, forms[0], values), http


def _refused(name: str, response: HttpResponse) -> str:
    errors = [re.sub(r"<[^>]+>", "", e).strip() for e in ERROR.findall(response.content.decode())]
    return (
        f"{name}: the form was refused ({response.status_code}) with {errors}; "
        "give it valid values in VALID, or say in NOT_SENT why it cannot be sent"
    )


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(MATRIX))
def test_every_form_sent_twice_saves_once(name, personas):
    """The same rendered form sent twice (a double click, a browser retry): the first send
    saves, the second is answered with the first one's redirect and no table gains a row
    (openipt/core/submissions.py)."""
    sending, http = _rendered_form(name, personas)
    before = _row_counts()
    first = http.post(sending.target, sending.data())
    if name in NOT_SENT:
        assert first.status_code not in REDIRECTS, f"{name} saves now: take it off NOT_SENT"
        pytest.skip(NOT_SENT[name])
    assert first.status_code in REDIRECTS, _refused(name, first)
    saved = _row_counts()
    assert _grown(before, saved), f"{name} answered a redirect but saved nothing"
    creates = set(_grown(before, saved)) - NOT_RECORDS
    if creates:
        assert name in CREATE_FORMS, f"{name} creates {creates}: add it to CREATE_FORMS"
    else:
        assert name not in CREATE_FORMS, f"{name} creates nothing now: take it off CREATE_FORMS"

    again = http.post(sending.target, sending.data())

    assert again.status_code == first.status_code
    assert again["Location"] == first["Location"]
    assert _grown(saved, _row_counts()) == {}


@pytest.mark.django_db
def test_a_calendar_address_made_twice_leaves_only_the_last_one_shown_working(personas):
    """The page in NOT_SENT that saves: it answers with the secret address itself, not a
    redirect, so a second send makes a new address and stops the first. The one on screen
    (the last) works; exactly one works."""
    sending, http = _rendered_form("scheduling:feed-settings", personas)
    shown = []
    for _ in range(2):
        page = http.post(sending.target, sending.data()).content.decode()
        [address] = re.findall(r'id="feed-url" type="text" readonly value="([^"]+)"', page)
        shown.append(urlsplit(address).path)
    calendar_app = HttpClient()
    assert calendar_app.get(shown[1]).status_code == 200
    assert calendar_app.get(shown[0]).status_code == 404


def test_every_address_that_takes_only_a_post_is_sent_from_its_page():
    """A POST-only address (a button on another page) is sent from that page (``HOSTS``),
    or ``NOT_SENT`` says why not."""
    post_only = {
        name for name, route in MATRIX.items()
        if NOT_ALLOWED in route.expect.values() and OK not in route.expect.values()
    }  # fmt: skip
    unsent = sorted(post_only - set(HOSTS) - set(NOT_SENT))
    assert unsent == [], f"give these a Host (the page that shows their form): {unsent}"
    assert {name for name, host in HOSTS.items() if host.page != name} <= post_only


def test_the_tables_name_only_pages_of_the_matrix():
    named = set(VALID) | set(NOT_SENT) | set(CREATE_FORMS) | {h.page for h in HOSTS.values()}
    stale = sorted(named - set(MATRIX))
    assert stale == [], f"no longer in the permission matrix: {stale}"
    assert set(CREATE_FORMS).isdisjoint(NOT_SENT)


# Two requests at the same instant need a database that takes two writers at once.
TWO_WRITERS = pytest.mark.skipif(
    connection.vendor == "sqlite",
    reason="the SQLite test database lives in memory with a shared cache, whose table locks "
    "refuse a second writer at once instead of waiting as the file database does; "
    "the PostgreSQL run sends the two requests at the same instant",
)


@TWO_WRITERS
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("name", CREATE_FORMS)
def test_every_create_form_sent_twice_concurrently_saves_once(name, personas):
    """The same rendered form (the same one-time token) sent by two browsers at the same
    instant: the records of one send appear, once, and both are answered with the same
    redirect (the second waits for the first), or the second with "still being saved"."""
    try:
        sending, http = _rendered_form(name, personas)
    except pytest.skip.Exception as why:
        pytest.fail(f"{name} is in CREATE_FORMS but its form cannot be sent: {why}")
    sent = [(sending.browser(), sending.data()) for _ in range(2)]  # signing in is audited
    before = _row_counts()
    with transaction.atomic():  # what one send saves, then undone
        alone = http.post(sending.target, sending.data())
        once = _grown(before, _row_counts())
        transaction.set_rollback(True)
    assert alone.status_code in REDIRECTS, _refused(name, alone)
    assert set(once) - NOT_RECORDS, f"{name} created nothing"

    start = threading.Barrier(2)
    answers: list[Any] = []  # the test client's responses
    failures: list[BaseException] = []

    def send(browser: HttpClient, data: dict[str, Any]) -> None:
        try:
            start.wait(timeout=30)
            answers.append(browser.post(sending.target, data))
        except BaseException as error:  # reported below, not lost in the thread
            failures.append(error)
        finally:
            connections.close_all()  # this thread's own database connection

    threads = [threading.Thread(target=send, args=pair) for pair in sent]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert failures == []
    assert len(answers) == 2
    assert _grown(before, _row_counts()) == once
    saved = [a["Location"] for a in answers if a.status_code in REDIRECTS]
    still_saving = [a for a in answers if a.status_code == 409]
    assert len(saved) + len(still_saving) == 2, [a.status_code for a in answers]
    assert saved
    assert len(set(saved)) == 1
    for answer in still_saving:
        assert "errors/still_saving.html" in [t.name for t in answer.templates]
