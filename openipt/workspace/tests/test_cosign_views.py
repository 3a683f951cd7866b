"""Co-signing a trainee's notes through the pages (docs/adr/0018-trainee-co-signature.md):
Bob reviews Alice's note from his inbox and home page, returns it with a comment or
co-signs it; Alice sees the comment and amends; Dana's record shows the note only once it
is co-signed; another supervisor gets 404; Adam marks the training on the staff page."""

from __future__ import annotations

import pytest
from django.test import Client as HttpClient
from django.urls import reverse

from openipt.accounts.models import Membership, Supervision
from openipt.audit.models import AuditEvent
from openipt.portal.tests.matrix import dana_user
from openipt.testing.personas import make_staff
from openipt.treatment import services
from openipt.treatment.models import CoSign, ProcessNote, Session
from openipt.treatment.tests.matrix import alice_supervision, signed_by_trainee

pytestmark = pytest.mark.django_db
NOTE = "Talked about Sam."
CANARY = "CANARY-process-note-7f3a"


def signed_in(user) -> HttpClient:
    http = HttpClient()
    http.force_login(user)
    return http


def cosign_url(session: Session) -> str:
    return reverse("treatment:session-cosign", args=[session.course.uuid, session.uuid])


def detail_url(session: Session) -> str:
    return reverse("treatment:session-detail", args=[session.course.uuid, session.uuid])


def status(session: Session) -> str:
    return Session.objects.get(pk=session.pk).cosign_status


def test_bob_returns_the_note_alice_amends_bob_co_signs_and_dana_sees_it(personas):
    session = signed_by_trainee(personas)
    bob, alice = signed_in(personas.bob), signed_in(personas.alice)
    dana = signed_in(dana_user(personas))
    assert NOTE not in dana.get(reverse("portal:record")).content.decode()

    page = bob.get(cosign_url(session)).content.decode()
    assert "Return with a comment" in page
    assert NOTE in page
    response = bob.post(cosign_url(session), {"version": session.version, "comment": "",
                                              "return": ""})  # fmt: skip
    assert response.status_code == 200  # refused: the comment is asked for next to the field
    assert "Write what the clinician should add" in response.content.decode()
    assert status(session) == CoSign.AWAITING

    returned = {"version": session.version, "comment": "Add the mood rating.", "return": ""}
    response = bob.post(cosign_url(session), returned)
    assert response.status_code == 302
    assert status(session) == CoSign.RETURNED
    page = alice.get(detail_url(session)).content.decode()
    assert "Add the mood rating." in page
    assert "Returned with a comment" in page

    returned_item = reverse("inbox:open", args=["returned", session.uuid])
    assert returned_item in alice.get(reverse("core:home")).content.decode()
    opened = alice.post(returned_item)
    assert opened["Location"] == detail_url(session) + "#cosign"

    amend = reverse("treatment:session-amend", args=[session.course.uuid, session.uuid])
    assert alice.post(amend, {"text": "Mood 4 out of 10."}).status_code == 302
    assert status(session) == CoSign.AWAITING
    assert returned_item not in alice.get(reverse("inbox:list")).content.decode()
    assert NOTE not in dana.get(reverse("portal:record")).content.decode()

    version = Session.objects.get(pk=session.pk).version
    assert bob.post(cosign_url(session), {"version": version, "cosign": ""}).status_code == 302
    assert status(session) == CoSign.COSIGNED
    record = dana.get(reverse("portal:record")).content.decode()
    assert NOTE in record
    assert "Mood 4 out of 10." in record
    assert dana.get(reverse("portal:record-pdf")).status_code == 200


def test_the_review_page_records_one_read_and_shows_no_process_note(personas):
    session = signed_by_trainee(personas)
    services.process_note_save(actor=personas.alice, session=session, version=0, text=CANARY)
    assert ProcessNote.objects.filter(session=session).exists()
    bob = signed_in(personas.bob)
    before = AuditEvent.objects.filter(action="read").count()
    page = bob.get(cosign_url(session)).content.decode()
    assert AuditEvent.objects.filter(action="read").count() == before + 1
    assert CANARY not in page
    version = Session.objects.get(pk=session.pk).version
    bob.post(cosign_url(session), {"version": version, "cosign": ""})
    dana = signed_in(dana_user(personas))
    for name in ("record", "home", "tasks"):
        assert CANARY not in dana.get(reverse(f"portal:{name}")).content.decode()


def test_another_supervisor_gets_404_and_cannot_co_sign(personas):
    session = signed_by_trainee(personas)
    sue = make_staff(personas.practice, "sue@riverside.test", "Sue Supervisor", supervisor=True)
    Supervision.objects.create(
        practice=personas.practice,
        supervisor=Membership.objects.get(user=sue),
        supervisee=personas.membership(personas.alice),
    )
    http = signed_in(sue)
    assert http.get(detail_url(session)).status_code == 200  # she reads Alice's records
    assert "Return with a comment" not in http.get(detail_url(session)).content.decode()
    assert http.get(cosign_url(session)).status_code == 404
    assert http.post(cosign_url(session), {"version": 2, "cosign": ""}).status_code == 404
    for someone in (personas.alice, personas.charlie, personas.adam):
        assert signed_in(someone).post(cosign_url(session), {"version": 2, "cosign": ""}
                                       ).status_code == 404  # fmt: skip
    assert status(session) == CoSign.AWAITING


def test_the_note_waits_in_bobs_inbox_and_on_his_home_page_until_co_signed(personas):
    session = signed_by_trainee(personas)
    item = reverse("inbox:open", args=["cosign", session.uuid])
    bob = signed_in(personas.bob)
    inbox_page = bob.get(reverse("inbox:list")).content.decode()
    assert item in inbox_page
    assert "awaiting your co-signature" in inbox_page
    assert reverse("inbox:mark-read", args=["cosign", session.uuid]) not in inbox_page
    assert item in bob.get(reverse("core:home")).content.decode()
    opened = bob.post(item)
    assert opened["Location"] == cosign_url(session)
    assert item in bob.get(reverse("inbox:list")).content.decode()  # stays until dealt with
    assert item not in signed_in(personas.alice).get(reverse("inbox:list")).content.decode()

    bob.post(cosign_url(session), {"version": session.version, "cosign": ""})
    assert item not in bob.get(reverse("inbox:list")).content.decode()
    assert item not in bob.get(reverse("core:home")).content.decode()


def test_alice_is_told_her_signed_note_waits_for_her_supervisor(personas):
    from openipt.treatment.tests import factories
    from openipt.treatment.tests.matrix import alice_in_training

    alice_in_training(personas)
    course = factories.make_course(personas.alice, personas.dana)
    session = factories.make_session(personas.alice, course, 1)
    alice = signed_in(personas.alice)
    sign = reverse("treatment:session-sign", args=[course.uuid, session.uuid])
    response = alice.post(sign, {"version": session.version}, follow=True)
    page = response.content.decode()
    assert "waits for your supervisor" in page
    assert "Awaiting co-signature" in page


def test_adam_marks_alice_in_training_on_the_staff_page(personas):
    adam = signed_in(personas.adam)
    alice_membership = personas.membership(personas.alice)
    page = adam.get(reverse("accounts:staff-edit", args=[alice_membership.uuid])).content.decode()
    assert "Mark as in training under Bob Supervisor" in page
    url = reverse("accounts:supervision-training",
                  args=[alice_membership.uuid, alice_supervision(personas).uuid])  # fmt: skip
    response = adam.post(url, {"is_training": "1"}, follow=True)
    assert alice_supervision(personas).is_training
    assert "co-signs their notes" in response.content.decode()
    assert "End training under Bob Supervisor" in response.content.decode()
    # Bob cannot reach the page; Charlie's practice is another one.
    assert signed_in(personas.bob).post(url, {"is_training": "0"}).status_code == 404
    assert signed_in(personas.charlie).post(url, {"is_training": "0"}).status_code == 404
    assert alice_supervision(personas).is_training


def test_the_record_pdf_carries_only_co_signed_notes(personas, monkeypatch):
    import weasyprint

    rendered: list[str] = []

    class Capture:
        def __init__(self, *, string: str, **kwargs: object) -> None:
            rendered.append(string)

        def write_pdf(self) -> bytes:
            return b"%PDF-1.7"

    monkeypatch.setattr(weasyprint, "HTML", Capture)
    session = signed_by_trainee(personas)
    services.process_note_save(actor=personas.alice, session=session, version=0, text=CANARY)
    dana = signed_in(dana_user(personas))
    dana.get(reverse("portal:record-pdf"))
    assert NOTE not in rendered[-1]
    services.session_cosign(actor=personas.bob, session=session, version=session.version)
    dana.get(reverse("portal:record-pdf"))
    assert NOTE in rendered[-1]
    assert CANARY not in rendered[-1]


def test_the_note_form_says_what_the_client_will_read(alice_client, personas):
    """The focus and the progress note reach the client's record once final: the form says
    so beside both fields, and points private reflections to the process note."""
    from openipt.treatment.tests.factories import make_course

    course = make_course(personas.alice, personas.dana, planned_sessions=12)
    page = alice_client.get(reverse("treatment:session-create", args=[course.uuid])).content
    text = page.decode()
    assert text.count("The client can read this in their portal record once the note is final") == 2
    assert "which they never see" in text
