"""``make demo`` gives every page something real to show: with the demo practice loaded into
the live server's database, the demo clinician opens every page of the workspace and the
demo client every page of the portal. Each must answer 200, have content in ``<main>`` and
pass axe-core without a serious or critical violation.

The page list is built, not written down: every URL name the resolver knows (outside sign-in,
staff administration and the audit report), with its arguments filled from the demo's
records. Which pages a clinician and a client may open is read from the permission matrix
(``tests/test_permission_matrix.py``: Alice is a clinician, Dana a portal client), so a new
URL is swept as soon as it has a matrix line. Read pages are visited for every record of the
demo; form pages (those a supervisor may not open) once, with the role-dispute client's
records. axe runs on the first record of each page, and on every record of the pages whose
markup follows the record's stage (``AXE_EVERY_RECORD``). Every failure is collected and
reported together.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from tests.browser.axe import serious_axe_violations
from tests.browser.totp import current_totp_code
from tests.test_permission_matrix import MATRIX, NOT_ALLOWED, OK, all_url_names

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

CLINICIAN_EMAIL = "demo-clinician@example.org"
PORTAL_EMAIL = "blake.demo-birch@example.com"
MAIN_RECORD = "DEMO-102"  # the role dispute: every kind of record, and the portal client
# Not swept: other people's pages (sign-in, staff administration, audit) and files.
# The FHIR API answers JSON to apps, not pages to people (its tests: openipt/api/tests).
SKIPPED_NAMESPACES = {"", "accounts", "audit", "fhir"}
DOWNLOADS = re.compile(r"(ics|pdf|attachment|export|feed|audio|fhir|configuration)$")
SHARED_IN_DEMO = {"portal:progress"}  # the demo shares the progress chart with its client
MIN_MAIN_TEXT = 20
KWARG = re.compile(r"<(?:\w+:)?(\w+)>")
NOT_ALLOWED_STATUS = int(NOT_ALLOWED)
NOT_PAGES = {"core:health", "core:ready"}  # machine endpoints for load balancers
PUBLIC = {"portal:consultation", "portal:consultation-thanks", "portal:welcome"}

Kwargs = dict[str, Any]


@dataclass(frozen=True)
class Page:
    name: str
    kwargs: Kwargs

    @property
    def url(self) -> str:
        return reverse(self.name, kwargs=self.kwargs)


# --- The demo's records as URL arguments ------------------------------------------------------


class DemoRecords:
    """Fills URL arguments from the demo: ``fill(keys, everything)`` gives one argument set
    per record (``everything=False``: one set, from the role-dispute client)."""

    def __init__(self) -> None:
        from openipt.clients.models import Client
        from openipt.treatment.models import Course

        self.clients = list(Client.objects.order_by("legal_given_name"))
        self.main = next(c for c in self.clients if c.identifiers.filter(value=MAIN_RECORD))
        self.courses = list(Course.objects.select_related("client").order_by("client", "pk"))

    def _courses(self, everything: bool) -> list[Any]:
        return self.courses if everything else [c for c in self.courses if c.client == self.main]

    def _sessions(self, course: Any) -> list[Any]:
        """The first and the latest session of a course, and any unsigned one."""
        sessions = list(course.sessions.all())
        chosen = sessions[:1] + sessions[-1:] + [s for s in sessions if not s.is_signed]
        return list({s.pk: s for s in chosen}.values())

    def fill(self, keys: frozenset[str], everything: bool) -> Iterator[Kwargs] | None:
        """Argument sets for a URL with ``keys``, or None when the demo cannot fill them."""
        makers: dict[frozenset[str], Callable[[bool], Iterable[Kwargs]]] = {
            frozenset(): lambda _all: [{}],
            frozenset({"client_uuid"}): self._client_args,
            frozenset({"course_uuid"}): lambda a: (
                {"course_uuid": c.uuid} for c in self._courses(a)
            ),
            frozenset({"course_uuid", "session_uuid"}): self._session_args,
            frozenset({"course_uuid", "session_uuid", "kind"}): self._technique_args,
            frozenset({"course_uuid", "session_uuid", "task_uuid"}): self._task_args,
            frozenset({"course_uuid", "person_uuid"}): self._first("inventory", "person_uuid"),
            frozenset({"course_uuid", "event_uuid"}): self._first("timeline", "event_uuid"),
            frozenset({"course_uuid", "area_uuid"}): self._first("problem_areas", "area_uuid"),
            frozenset({"course_uuid", "goal_uuid"}): self._first("goals", "goal_uuid"),
            frozenset({"uuid"}): self._appointment_args,
            frozenset({"course_uuid", "kind"}): self._letter_kind_args,
            frozenset({"course_uuid", "letter_uuid"}): self._letter_args,
            frozenset({"course_uuid", "session_uuid", "recording_uuid"}): self._recording_args,
            frozenset({"meeting_uuid"}): self._meeting_args,
            frozenset({"alert_uuid"}): self._alert_args,
            frozenset({"request_uuid"}): self._request_args,
        }
        maker = makers.get(keys)
        return None if maker is None else iter(list(maker(everything)))

    def _client_args(self, everything: bool) -> Iterator[Kwargs]:
        for client in self.clients if everything else [self.main]:
            yield {"client_uuid": client.uuid}

    def _session_args(self, everything: bool) -> Iterator[Kwargs]:
        for course in self._courses(everything):
            for session in self._sessions(course):
                yield {"course_uuid": course.uuid, "session_uuid": session.uuid}

    def _technique_args(self, everything: bool) -> Iterator[Kwargs]:
        for course in self._courses(everything):
            for session in course.sessions.filter(signed_at__isnull=True)[:1]:
                yield {
                    "course_uuid": course.uuid,
                    "session_uuid": session.uuid,
                    "kind": "role_play",
                }

    def _task_args(self, everything: bool) -> Iterator[Kwargs]:
        for course in self._courses(everything):
            for task in course.between_tasks.all()[:1]:
                yield {
                    "course_uuid": course.uuid,
                    "session_uuid": task.set_in_session.uuid,
                    "task_uuid": task.uuid,
                }

    def _first(self, relation: str, key: str) -> Callable[[bool], Iterator[Kwargs]]:
        def args(everything: bool) -> Iterator[Kwargs]:
            for course in self._courses(everything):
                for record in getattr(course, relation).all()[:1]:
                    yield {"course_uuid": course.uuid, key: record.uuid}

        return args

    def _appointment_args(self, everything: bool) -> Iterator[Kwargs]:
        from openipt.scheduling.models import Appointment

        now = timezone.now()
        week = Appointment.objects.filter(
            starts_at__gte=now - dt.timedelta(days=7),
            starts_at__lte=now + dt.timedelta(days=7),
        ).order_by("starts_at")
        rows = list(week) if everything else list(week.filter(client=self.main)[:1])
        for appointment in rows:
            yield {"uuid": appointment.uuid}

    def _letter_kind_args(self, everything: bool) -> Iterator[Kwargs]:
        """The letter form for each kind of letter the demo has written."""
        from openipt.treatment.models import Letter

        for letter in Letter.objects.select_related("course").order_by("pk"):
            yield {"course_uuid": letter.course.uuid, "kind": letter.kind}

    def _letter_args(self, everything: bool) -> Iterator[Kwargs]:
        from openipt.treatment.models import Letter

        for letter in Letter.objects.select_related("course").order_by("pk"):
            yield {"course_uuid": letter.course.uuid, "letter_uuid": letter.uuid}

    def _recording_args(self, everything: bool) -> Iterator[Kwargs]:
        from openipt.treatment.models import Recording

        for recording in Recording.objects.select_related("session__course").order_by("pk"):
            session = recording.session
            yield {
                "course_uuid": session.course.uuid,
                "session_uuid": session.uuid,
                "recording_uuid": recording.uuid,
            }

    def _meeting_args(self, everything: bool) -> Iterator[Kwargs]:
        from openipt.treatment.models import SupervisionMeeting

        for meeting in SupervisionMeeting.objects.order_by("pk"):
            yield {"meeting_uuid": meeting.uuid}

    def _alert_args(self, everything: bool) -> Iterator[Kwargs]:
        from openipt.measures.models import RiskAlert

        for alert in RiskAlert.objects.all():
            yield {"alert_uuid": alert.uuid}

    def _request_args(self, everything: bool) -> Iterator[Kwargs]:
        from openipt.engagement.models import ConsultationRequest

        for item in ConsultationRequest.objects.all():
            yield {"request_uuid": item.uuid}


class PortalRecords:
    """URL arguments for the portal: the portal client's own records."""

    def __init__(self) -> None:
        from openipt.clients.models import Client

        self.client = Client.objects.get(identifiers__value=MAIN_RECORD)

    def fill(self, keys: frozenset[str], everything: bool) -> Iterator[Kwargs] | None:
        from openipt.measures.models import Administration
        from openipt.treatment.models import BetweenSessionTask, Goal

        rows: dict[frozenset[str], list[Kwargs]] = {
            frozenset(): [{}],
            frozenset({"administration_uuid"}): [
                {"administration_uuid": a.uuid}
                for a in Administration.objects.filter(
                    client=self.client, status__in=["assigned", "due"]
                )
            ],
            frozenset({"task_uuid"}): [
                {"task_uuid": t.uuid}
                for t in BetweenSessionTask.objects.filter(course__client=self.client)
            ],
            frozenset({"goal_uuid"}): [
                {"goal_uuid": g.uuid} for g in Goal.objects.filter(course__client=self.client)
            ],
        }
        found = rows.get(keys)
        return None if found is None else iter(found)


# --- Which pages --------------------------------------------------------------------------------


def _expected(name: str, persona: str) -> str | None:
    route = MATRIX.get(name)
    return None if route is None else route.expect.get(persona)


def _is_form(name: str) -> bool:
    """A page that writes: the clinician may open it and her supervisor may not."""
    return _expected(name, "alice") == OK and _expected(name, "bob") != OK


def pages(records: Any, *, portal: bool) -> tuple[list[Page], list[str]]:
    """The pages to visit, and the URL names that could not be filled from the demo."""
    persona = "dana" if portal else "alice"
    found, unfilled = [], []
    for name, route in sorted(all_url_names().items()):
        namespace = name.split(":")[0] if ":" in name else ""
        if namespace in SKIPPED_NAMESPACES or DOWNLOADS.search(name):
            continue
        if (namespace == "portal") != portal:
            continue
        expected = _expected(name, persona)
        if expected not in (OK, None) and name not in SHARED_IN_DEMO:
            continue  # not a page for this person (or POST only: NOT_ALLOWED)
        if name in NOT_PAGES | PUBLIC:
            continue
        args = records.fill(frozenset(KWARG.findall(route)), everything=not _is_form(name))
        if args is None:
            unfilled.append(name)
            continue
        found += [Page(name, kwargs) for kwargs in args]
    return found, unfilled


# --- Visiting ----------------------------------------------------------------------------------


def load_demo() -> dict[str, str]:
    out = StringIO()
    call_command("load_demo", stdout=out)
    return dict(re.findall(r"(\S+@example\.(?:org|com))\s+password: (\S+)", out.getvalue()))


def sign_in(page: Any, email: str, password: str, *, totp: str | None) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    if totp is not None:
        page.wait_for_url(re.compile(r"/accounts/2fa/authenticate/"))
        page.get_by_label(re.compile("code", re.I)).first.fill(current_totp_code(totp))
        page.get_by_role("button", name=re.compile("Sign in|Verify|Continue", re.I)).click()
    page.wait_for_url(re.compile(r"/(portal/)?$"))


# Pages whose markup changes with the record's stage (phase, format, status): axe checks
# every record. Elsewhere the same template is checked once, on its first record, and each
# further record is only checked for an answer and content (axe takes a second a page).
AXE_EVERY_RECORD = {"clients:detail", "treatment:course-detail", "treatment:session-detail"}


def visit(page: Any, target: Page, *, axe: bool = True) -> list[str]:
    """What is wrong with one page (nothing: an empty list)."""
    from playwright.sync_api import Error

    url = target.url
    try:
        response = page.goto(url)
        status = response.status if response is not None else 0
    except Error:  # Chromium shows no page for an error with an empty body (a bare 405)
        status = page.request.get(url).status
    if status == NOT_ALLOWED_STATUS:
        return []  # an action that only takes POST: nothing to look at
    if status != 200:
        return [f"{target.name} {url}: answered {status}"]
    problems = []
    text = page.locator("main").first.inner_text().strip() if page.locator("main").count() else ""
    if len(text) < MIN_MAIN_TEXT:
        problems.append(f"{target.name} {url}: <main> is empty or missing ({text!r})")
    for violation in serious_axe_violations(page) if axe else []:
        nodes = ", ".join(str(n["target"]) for n in violation["nodes"][:3])
        problems.append(
            f"{target.name} {url}: axe {violation['id']} ({violation['impact']}): "
            f"{violation['help']} at {nodes}"
        )
    return problems


def sweep(page: Any, targets: list[Page]) -> list[str]:
    problems: list[str] = []
    checked: set[str] = set()
    for target in targets:
        axe = target.name in AXE_EVERY_RECORD or target.name not in checked
        checked.add(target.name)
        problems += visit(page, target, axe=axe)
    return problems


def test_every_demo_page_has_content_and_passes_axe(new_page, live_server, transactional_db):
    from openipt.accounts.models import User
    from openipt.testing.personas import TOTP_SECRET, enrol_totp

    passwords = load_demo()
    # A newcomer enrols an authenticator on first sign-in; the test enrols a known one.
    enrol_totp(User.objects.get(email=CLINICIAN_EMAIL), TOTP_SECRET)

    staff_pages, staff_unfilled = pages(DemoRecords(), portal=False)
    portal_pages, portal_unfilled = pages(PortalRecords(), portal=True)
    assert len(staff_pages) > 60, staff_pages
    assert len(portal_pages) > 10, portal_pages

    clinician = new_page()
    sign_in(clinician, CLINICIAN_EMAIL, passwords[CLINICIAN_EMAIL], totp=TOTP_SECRET)
    problems = sweep(clinician, staff_pages)

    client = new_page()
    sign_in(client, PORTAL_EMAIL, passwords[PORTAL_EMAIL], totp=None)
    problems += sweep(client, portal_pages)

    unfilled = staff_unfilled + portal_unfilled
    report = [f"{len(staff_pages)} workspace and {len(portal_pages)} portal pages visited."]
    report += [f"URL with arguments the demo cannot fill: {name}" for name in unfilled]
    assert problems == [], "\n".join(report + problems)
    assert unfilled == [], "\n".join(report)
