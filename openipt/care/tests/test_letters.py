"""Letters and reports: each letter renders for a demo course with its sections, is refused
without the client's consent to share, never carries the process note, and the practice's
wording takes only the fields we know."""

from __future__ import annotations

import io
import re

import pytest
from django.core.exceptions import ValidationError
from django.test import Client as HttpClient
from django.urls import reverse
from pypdf import PdfReader

from openipt.audit.models import AuditEvent
from openipt.care import letters
from openipt.care.tests.letter_fixture import (
    CANARY,
    GAINS,
    RELAPSE_PLAN,
    consent_to_all,
    demo_course,
    give_consent,
    write_letter,
)
from openipt.clients.models import ConsentRecord
from openipt.treatment.models import Letter, LetterTemplate

pytestmark = pytest.mark.django_db

Kind = letters.Kind

# What each letter must say, by section heading and by content from the course.
EXPECTED = {
    Kind.ASSESSMENT: [
        "Dear Dr A. Rao",
        "What we will focus on",
        "adjusting to a big change in life",
        "The plan",
        "12 sessions, weekly",
        "What we agreed",
        "Build a circle of friends here.",
        "Questionnaires at the start",
        "PHQ-9: 18 (Moderately severe).",
        "GAD-7: 14 (Moderate).",
        "Dana has agreed to this letter being sent to you.",
        "Alice Clinician",
    ],
    Kind.END_OF_TREATMENT: [
        "Dear Dr A. Rao",
        "Dana attended 3 of 12 planned sessions.",
        "Questionnaires at the start and at the end",
        "PHQ-9 went from 18 (Moderately severe) to 7 (Mild): a reliable improvement, and now "
        "below the level of clinical concern (reliable recovery).",
        "GAD-7 went from 14",
        "Taken together, as NHS Talking Therapies reports PHQ-9 and GAD-7: reliable recovery.",
        GAINS,
        "Keeping well",
        RELAPSE_PLAN,
        "Next step",
        "No further sessions are planned. She feels ready to carry on alone.",
    ],
    Kind.CLIENT_SUMMARY: [
        "Dear Dana",
        "What we have been working on",
        "You have come to 3 of 12 planned sessions.",
        "Your PHQ-9 score went from 18 to 7 (lower scores mean fewer difficulties). "
        "That is a big enough change to be confident it is real.",
        "What you have achieved",
        GAINS,
        "Looking after yourself",
        RELAPSE_PLAN,
    ],
}


def _signed_in(user) -> HttpClient:
    http = HttpClient()
    http.force_login(user)
    return http


def pdf_text(pdf: bytes) -> str:
    """The text of every page without its spacing (the extracted text splits words where
    the font kerns, "T aken"; compared with ``_flat`` of what is expected)."""
    reader = PdfReader(io.BytesIO(pdf))
    return _flat(" ".join(page.extract_text() or "" for page in reader.pages))


def _flat(text: str) -> str:
    return re.sub(r"\s+", "", text)


@pytest.fixture
def course(personas):
    return demo_course(personas)


@pytest.mark.parametrize("kind", list(EXPECTED))
def test_each_letter_renders_to_a_pdf_with_its_sections_and_no_process_note(kind, personas, course):
    consent_to_all(personas)
    letter = write_letter(personas, course, kind)

    pdf = letters.letter_pdf(actor=personas.alice, letter=letter)

    assert pdf.startswith(b"%PDF")
    text = pdf_text(pdf)
    missing = [part for part in EXPECTED[kind] if _flat(part) not in text]
    assert missing == [], f"{kind} PDF lacks {missing}\n{text}"
    assert CANARY not in text
    assert CANARY not in letter.body
    assert "{" not in letter.body  # every field filled in


@pytest.mark.parametrize("kind", list(EXPECTED))
def test_the_preview_and_the_kept_letter_never_show_the_process_note(kind, personas, course):
    consent_to_all(personas)
    http = _signed_in(personas.alice)
    preview = http.get(reverse("letters:create", args=[course.uuid, kind]))
    letter = write_letter(personas, course, kind)
    kept = http.get(reverse("letters:detail", args=[course.uuid, letter.uuid]))

    for page in (preview, kept):
        assert page.status_code == 200
        assert CANARY not in page.content.decode()
    assert "Download PDF" in kept.content.decode()


def test_the_end_of_treatment_letter_and_summary_carry_the_charts_as_svg(personas, course):
    consent_to_all(personas)
    for kind in (Kind.END_OF_TREATMENT, Kind.CLIENT_SUMMARY):
        page = letters.letter_page(write_letter(personas, course, kind))
        assert len(page.charts) == 2  # PHQ-9 and GAD-7
        assert [chart.code for chart in page.charts] == ["PHQ-9", "GAD-7"]
        assert all(chart.svg.lstrip().startswith("<svg") for chart in page.charts)


@pytest.mark.parametrize("kind", list(EXPECTED))
def test_each_letter_is_refused_without_the_consent_to_share(kind, personas, course):
    with pytest.raises(ValidationError, match="has not given"):
        write_letter(personas, course, kind)
    assert not Letter.objects.exists()


def test_consent_for_the_gp_does_not_cover_the_clients_summary(personas, course):
    give_consent(personas, ConsentRecord.Kind.SHARE_REFERRER)
    write_letter(personas, course, Kind.ASSESSMENT)
    with pytest.raises(ValidationError):
        write_letter(personas, course, Kind.CLIENT_SUMMARY)


def test_a_withdrawn_consent_stops_the_download_of_a_letter_already_written(personas, course):
    consent = give_consent(personas, ConsentRecord.Kind.SHARE_REFERRER)
    letter = write_letter(personas, course, Kind.END_OF_TREATMENT)
    ConsentRecord.objects.filter(pk=consent.pk).update(revoked_at=letter.created_at)
    exports = AuditEvent.objects.filter(action=AuditEvent.Action.EXPORT).count()

    response = _signed_in(personas.alice).get(
        reverse("letters:pdf", args=[course.uuid, letter.uuid]), follow=True
    )

    assert response.headers["Content-Type"].startswith("text/html")
    assert "has not given" in response.content.decode()
    assert AuditEvent.objects.filter(action=AuditEvent.Action.EXPORT).count() == exports


def test_writing_a_letter_without_consent_shows_why_and_keeps_the_typing(personas, course):
    url = reverse("letters:create", args=[course.uuid, Kind.ASSESSMENT])
    response = _signed_in(personas.alice).post(url, {"recipient_name": "Dr Someone Typed"})

    body = response.content.decode()
    assert response.status_code == 200
    assert "Consent to send letters to the referrer or GP" in body
    assert 'value="Dr Someone Typed"' in body
    assert not Letter.objects.exists()


def test_writing_downloading_and_printing_are_audited_without_the_letters_text(personas, course):
    consent_to_all(personas)
    http = _signed_in(personas.alice)
    made = http.post(
        reverse("letters:create", args=[course.uuid, Kind.END_OF_TREATMENT]),
        {"recipient_name": "Dr A. Rao", "recipient_address": "1 High Street"},
    )
    letter = Letter.objects.get()
    assert made.status_code == 302
    pdf_url = reverse("letters:pdf", args=[course.uuid, letter.uuid])

    download = http.get(pdf_url)
    printed = http.get(pdf_url + "?print=1")

    assert download["Content-Disposition"].startswith("attachment")
    assert printed["Content-Disposition"].startswith("inline")
    events = AuditEvent.objects.filter(object_id=str(letter.uuid)).order_by("pk")
    assert [e.action for e in events] == [
        AuditEvent.Action.CREATE,
        AuditEvent.Action.EXPORT,
        AuditEvent.Action.PRINT,
    ]
    assert all(e.client_id == personas.dana.pk for e in events)
    assert not any(GAINS in e.detail for e in events)


def test_a_supervisor_reads_a_letter_but_cannot_download_or_write_one(personas, course):
    consent_to_all(personas)
    letter = write_letter(personas, course, Kind.ASSESSMENT)
    bob = _signed_in(personas.bob)

    assert bob.get(reverse("letters:detail", args=[course.uuid, letter.uuid])).status_code == 200
    pdf = bob.get(reverse("letters:pdf", args=[course.uuid, letter.uuid]))
    assert pdf.status_code == 404
    with pytest.raises(ValidationError):
        letters.letter_create(
            actor=personas.bob, course=course, kind=Kind.ASSESSMENT, recipient_name="Dr X"
        )


# The practice's wording ------------------------------------------------------------------


def test_fields_are_filled_in_and_nothing_else_is_interpreted():
    values = {"client_first_name": "Dana", "recipient_name": "Dr {today}"}
    text = letters.fill("Dear {recipient_name}, {{not a field}} for {client_first_name}.", values)
    assert text == "Dear Dr {today}, {not a field} for Dana."


@pytest.mark.parametrize(
    "body",
    [
        "Dear {client_name}",  # not a field
        "Dear {0}",  # positional
        "Dear {}",  # positional
        "Dear {client_first_name.__class__}",  # attribute
        "Dear {client_first_name[0]}",  # index
        "Dear {client_first_name:>99999}",  # format spec
        "Dear {client_first_name!r}",  # conversion
        "Dear {client_first_name",  # not closed
    ],
)
def test_a_template_that_does_more_than_name_a_field_is_refused(body):
    assert letters.template_problems(body)


@pytest.mark.parametrize("language", ["en", "es"])
def test_every_default_template_uses_only_known_fields(language):
    from django.utils import translation

    with translation.override(language):
        bodies = [str(body) for body in letters.DEFAULTS.values()]
    assert all(letters.template_problems(body) == [] for body in bodies)


def test_an_unknown_field_is_refused_next_to_the_wording_with_the_typing_kept(personas):
    url = reverse("letters:template-edit", args=[Kind.ASSESSMENT])
    typed = "Dear {recipient_name}, about {client_nickname}."

    response = _signed_in(personas.adam).post(url, {"body": typed})

    body = response.content.decode()
    assert response.status_code == 200
    assert "“client_nickname” is not a field we know" in body
    assert "about {client_nickname}." in body
    assert not LetterTemplate.objects.exists()


def test_the_practices_wording_is_used_and_shown_escaped(personas, course):
    consent_to_all(personas)
    admin = personas.membership(personas.adam)
    letters.template_save(
        actor=personas.adam,
        admin=admin,
        kind=Kind.CLIENT_SUMMARY,
        body="Hello {client_first_name}, <b>well done</b> on {sessions_attended}.",
    )
    letter = write_letter(personas, course, Kind.CLIENT_SUMMARY)
    assert letter.body == "Hello Dana, <b>well done</b> on 3 of 12 planned sessions."

    page = _signed_in(personas.alice).get(
        reverse("letters:detail", args=[course.uuid, letter.uuid])
    )

    assert "&lt;b&gt;well done&lt;/b&gt;" in page.content.decode()
    assert AuditEvent.objects.filter(
        action=AuditEvent.Action.CREATE, detail="letter template client_summary"
    ).exists()


def test_only_an_administrator_saves_the_wording(personas):
    with pytest.raises(ValidationError):
        letters.template_save(
            actor=personas.alice,
            admin=personas.membership(personas.alice),
            kind=Kind.ASSESSMENT,
            body="Dear {recipient_name}",
        )


# The headings of the default wording, which every letter written from it shows.
HEADINGS = {
    Kind.ASSESSMENT: ["What we will focus on", "The plan", "What we agreed"],
    Kind.END_OF_TREATMENT: ["Sessions", "Questionnaires at the start and at the end", "Next step"],
    Kind.CLIENT_SUMMARY: ["What we have been working on", "Our sessions", "What happens next"],
}


def _headings_in(language: str, kind: str, english: list[str]) -> list[str]:
    """The same headings in the default template of ``language`` (same line numbers)."""
    from django.utils import translation

    lines = str(letters.DEFAULTS[kind]).splitlines()
    with translation.override(language):
        translated = str(letters.DEFAULTS[kind]).splitlines()
    return [translated[lines.index(heading)] for heading in english]


def test_every_letter_renders_for_the_demo_practices_ended_courses():
    from io import StringIO

    from django.core.management import call_command

    from openipt.clients import services as clients
    from openipt.treatment.models import Course, ProcessNote

    call_command("load_demo", stdout=StringIO())
    ended = list(
        Course.objects.filter(termination__isnull=False).select_related("client", "clinician__user")
    )
    assert ended
    for course in ended:
        clinician = course.clinician.user
        for kind in (ConsentRecord.Kind.SHARE_REFERRER, ConsentRecord.Kind.SHARE_SUMMARY):
            clients.consent_record_add(
                actor=clinician, client=course.client, kind=kind,
                consented_on=course.start_date, text_version="demo",
            )  # fmt: skip
        notes = list(
            ProcessNote.objects.filter(session__course=course).values_list("text", flat=True)
        )
        for kind, headings in HEADINGS.items():
            letter = letters.letter_create(
                actor=clinician, course=course, kind=kind, recipient_name="Dr A. Rao"
            )
            text = pdf_text(letters.letter_pdf(actor=clinician, letter=letter))
            if kind == Kind.CLIENT_SUMMARY:  # in the language the client reads
                headings = _headings_in(course.client.language, kind, headings)
            assert [h for h in headings if _flat(h) not in text] == [], (course, kind)
            assert not [n for n in notes if n.strip() and _flat(n) in text], (course, kind)


def test_the_clients_summary_is_written_in_the_language_they_read(personas, course):
    """A client who reads Spanish gets their summary, and its PDF, in Spanish; a letter to
    their doctor stays in the writer's language (docs/translation.md)."""
    from django.utils import translation

    from openipt.clients.models import Client

    Client.objects.filter(pk=course.client_id).update(language="es")
    course.client.refresh_from_db()
    consent_to_all(personas)
    with translation.override("es"):
        template = str(letters.DEFAULTS[Kind.CLIENT_SUMMARY])
        focus = translation.gettext("adjusting to a big change in life")
    assert template != str(letters.DEFAULTS[Kind.CLIENT_SUMMARY])  # there is a Spanish one
    summary = write_letter(personas, course, Kind.CLIENT_SUMMARY)
    first_line = template.splitlines()[0].replace("{client_first_name}", "Dana")
    assert summary.body.splitlines()[0] == first_line
    assert focus in summary.body
    assert "What we have been working on" not in summary.body
    text = pdf_text(letters.letter_pdf(actor=personas.alice, letter=summary))
    assert _flat(template.splitlines()[4]) in text  # a heading of the Spanish template
    assert CANARY not in text
    to_the_doctor = write_letter(personas, course, Kind.ASSESSMENT)
    assert to_the_doctor.body.startswith("Dear Dr A. Rao")
