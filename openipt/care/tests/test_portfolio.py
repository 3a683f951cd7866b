"""The certification case portfolio (openipt/care/portfolio.py): the PDF of the demo's
concluded course read back as text, with every section and no full name, date of birth or
process-note text; who sees it and who signs it off; the every-fourth-session check."""

from __future__ import annotations

import io
from io import StringIO

import pytest
from allauth.mfa.models import Authenticator
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.test import Client as HttpClient
from django.urls import reverse
from pypdf import PdfReader

from openipt.accounts.models import Membership, Supervision, User
from openipt.audit.models import AuditEvent
from openipt.care import portfolio
from openipt.clients.models import Client
from openipt.testing.personas import enrol_totp, make_staff
from openipt.treatment import fidelity
from openipt.treatment.fidelity import RatingData
from openipt.treatment.models import Course, PortfolioSignOff, ProcessNote, Session
from openipt.treatment.tests import factories
from openipt.workspace.management.commands.load_demo import CLINICIAN, SUPERVISOR

pytestmark = pytest.mark.django_db

CANARY = "CANARY-process-note-7f3a"
SECTIONS = (
    "Certification case portfolio",
    "Interpersonal inventory",
    "Formulation",
    "Problem areas and the work done",
    "Contract and sessions",
    "Measures",
    "Every-fourth-session check",
    "Fidelity ratings",
    "Supervisor's sign-off",
)


def _answers(score: int) -> dict[str, int | None]:
    return {item.code: score for item in fidelity.current_scale().items}


@pytest.fixture
def demo() -> Course:
    """The demo's concluded course, with a private process note holding a canary and
    session 5 rated by the therapist and the supervisor."""
    call_command("load_demo", stdout=StringIO())
    client = Client.objects.get(identifiers__value="DEMO-104")
    course = Course.objects.get(client=client, status=Course.Status.CONCLUDED)
    clinician = User.objects.get(email=CLINICIAN.email)
    session = course.sessions.get(number=5)
    ProcessNote.objects.create(
        session=session, author=clinician, text=CANARY, created_by=clinician, updated_by=clinician
    )
    for email, score in ((CLINICIAN.email, 2), (SUPERVISOR.email, 3)):
        fidelity.fidelity_rating_save(
            actor=User.objects.get(email=email), session=session, version=0,
            data=RatingData(answers=_answers(score), overall=3, comments=f"Rated {score}"),
        )  # fmt: skip
    return course


def _signed_in(email: str) -> HttpClient:
    user = User.objects.get(email=email)
    if not Authenticator.objects.filter(user=user).exists():
        enrol_totp(user)
    http = HttpClient()
    http.force_login(user)
    return http


def _pdf_text(content: bytes) -> str:
    reader = PdfReader(io.BytesIO(content))
    return "\n".join(page.extract_text() or "" for page in reader.pages)


def test_the_demo_portfolio_pdf_has_every_section_and_nothing_identifying(demo):
    client = demo.client
    http = _signed_in(CLINICIAN.email)
    before = AuditEvent.objects.filter(action=AuditEvent.Action.EXPORT).count()
    response = http.get(reverse("treatment:course-portfolio-pdf", args=[demo.uuid]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert AuditEvent.objects.filter(action=AuditEvent.Action.EXPORT).count() == before + 1
    text = _pdf_text(response.content)
    flat = " ".join(text.split())
    for heading in SECTIONS:
        assert heading in flat, heading
    assert "D. D., aged 40-49" in flat  # Devon Demo-Dogwood, born 1982
    assert "Partner (A.)" in flat
    assert "Not yet signed off by the supervisor." in flat
    assert "Rated 2" in flat  # the therapist's comment
    assert "Rated 3" in flat  # the supervisor's
    assert "PHQ-9: Met" in flat
    assert "GAD-7: Not met" in flat
    assert client.legal_family_name not in flat
    assert f"{client.legal_given_name} {client.legal_family_name}" not in flat
    born = client.date_of_birth
    for shown in (born.isoformat(), born.strftime("%d/%m/%Y"), f"{born.day} {born:%B %Y}"):
        assert shown not in flat
    assert str(client.identifiers.first().value) not in flat
    assert CANARY not in flat


def test_the_preview_warns_about_free_text_and_never_shows_the_process_note(demo):
    http = _signed_in(SUPERVISOR.email)
    response = http.get(reverse("treatment:course-portfolio", args=[demo.uuid]))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Check the text for names before you download." in body
    assert CANARY not in body
    assert "Sign off the portfolio" in body


def test_the_supervisor_signs_off_once_and_the_pdf_shows_it(demo):
    supervisor = User.objects.get(email=SUPERVISOR.email)
    http = _signed_in(SUPERVISOR.email)
    url = reverse("treatment:course-portfolio-signoff", args=[demo.uuid])
    response = http.post(url, {"comment": "A faithful piece of work."})
    assert response.status_code == 302
    row = PortfolioSignOff.objects.get(course=demo)
    assert row.supervisor == supervisor
    assert AuditEvent.objects.filter(
        action=AuditEvent.Action.CREATE, object_id=str(row.uuid)
    ).exists()
    with pytest.raises(ValidationError):
        portfolio.portfolio_sign_off(actor=supervisor, course=demo)
    text = " ".join(
        _pdf_text(
            http.get(reverse("treatment:course-portfolio-pdf", args=[demo.uuid])).content
        ).split()
    )
    assert "Signed off by Sasha Demo-Supervisor" in text
    assert "A faithful piece of work." in text
    assert "Not yet signed off" not in text


def test_only_an_active_supervisor_of_the_clinician_signs_off(demo):
    clinician = User.objects.get(email=CLINICIAN.email)
    with pytest.raises(PermissionDenied):
        portfolio.portfolio_sign_off(actor=clinician, course=demo)
    response = _signed_in(CLINICIAN.email).post(
        reverse("treatment:course-portfolio-signoff", args=[demo.uuid])
    )
    assert response.status_code == 404
    other = make_staff(demo.client.practice, "other.sup@example.org", "Other Sup",
                       supervisor=True)  # fmt: skip
    with pytest.raises(PermissionDenied):
        portfolio.portfolio_sign_off(actor=other, course=demo)
    assert (
        _signed_in(other.email)
        .get(reverse("treatment:course-portfolio", args=[demo.uuid]))
        .status_code
        == 404
    )
    # The supervision ends: no more sign-off.
    supervisor = User.objects.get(email=SUPERVISOR.email)
    Supervision.objects.filter(supervisor__user=supervisor).update(is_active=False)
    with pytest.raises(PermissionDenied):
        portfolio.portfolio_sign_off(actor=supervisor, course=demo)
    assert not PortfolioSignOff.objects.exists()


def test_an_open_course_has_no_pdf_and_cannot_be_signed_off(personas):
    course = factories.make_course(personas.alice, personas.dana)
    with pytest.raises(ValidationError):
        portfolio.portfolio_sign_off(actor=personas.bob, course=course)
    http = _signed_in(personas.alice.email)
    assert (
        http.get(reverse("treatment:course-portfolio-pdf", args=[course.uuid])).status_code == 404
    )
    page = http.get(reverse("treatment:course-portfolio", args=[course.uuid]))
    assert "still open" in page.content.decode()


@pytest.mark.parametrize(
    ("measured", "passed", "gap"),
    [
        ({1, 5, 9, 12}, True, 3),  # three sessions between, every time
        ({1, 6, 12}, False, 5),
        ({1, 4, 8}, False, 4),  # the last four sessions without it
        (set(), False, 12),
    ],
)
def test_every_fourth_session_check(measured, passed, gap):
    held = list(range(1, 13))
    (result,) = portfolio.schedule_check(held, {"PHQ-9": measured}, ["PHQ-9"])
    assert (result.passed, result.longest_gap) == (passed, gap)
    assert result.verdict.startswith("Met" if passed else "Not met")


def test_initials_and_people_leave_names_out():
    assert portfolio.initials("devon", "Demo-Dogwood") == "D. D."
    assert portfolio.initials("", " ") == ""


def test_the_code_never_reads_process_notes():
    source = portfolio.__file__
    with open(source, encoding="utf-8") as handle:
        code = handle.read()
    assert "ProcessNote" not in code.split('"""', 2)[2]  # the docstring may name it


def _membership(user: User) -> Membership:
    return Membership.objects.get(user=user)


def test_held_sessions_with_measures_listed(demo):
    result = portfolio.course_portfolio(demo)
    assert [c.number for c in result.checks] == list(
        demo.sessions.filter(attendance=Session.Attendance.ATTENDED)
        .order_by("number")
        .values_list("number", flat=True)
    )
    phq9 = {c.number for c in result.checks if c.measured["PHQ-9"]}
    assert phq9 == {1, 4, 8, 11, 12}
    assert result.fidelity[0].comparison is not None


def test_the_concluded_course_page_links_to_the_portfolio(demo):
    http = _signed_in(CLINICIAN.email)
    page = http.get(reverse("treatment:course-detail", args=[demo.uuid])).content.decode()
    assert reverse("treatment:course-portfolio", args=[demo.uuid]) in page
    maintenance = Course.objects.get(follows=demo)
    open_page = http.get(reverse("treatment:course-detail", args=[maintenance.uuid]))
    assert reverse("treatment:course-portfolio", args=[maintenance.uuid]) not in (
        open_page.content.decode()
    )
