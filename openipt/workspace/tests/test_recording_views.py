"""Session recordings through the pages (docs/adr/0021-session-recordings.md): Alice records
Dana's consent, uploads a session's audio and plays it back byte for byte; Bob, her
supervisor, plays it, comments at a moment of it and marks it reviewed; a file that is not
audio is refused with a message next to the field whatever its name; withdrawing consent
deletes the recordings. Another supervisor, a care-team colleague, the administrator,
another practice and the client get 404."""

from __future__ import annotations

import html

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client as HttpClient
from django.urls import reverse

from openipt.accounts.models import Membership, Supervision
from openipt.audit.models import AuditEvent
from openipt.clients import services as client_services
from openipt.portal.tests.matrix import dana_user
from openipt.testing.personas import make_staff
from openipt.treatment import recordings
from openipt.treatment.models import Recording, RecordingComment, Session
from openipt.treatment.tests import factories
from openipt.treatment.tests.recording_fixtures import consented_course, uploaded, wav_bytes

pytestmark = pytest.mark.django_db


def signed_in(user) -> HttpClient:
    http = HttpClient()
    http.force_login(user)
    return http


@pytest.fixture
def session(personas) -> Session:
    return factories.make_session(personas.alice, consented_course(personas), 1)


def list_url(session: Session) -> str:
    return reverse("treatment:session-recordings", args=[session.course.uuid, session.uuid])


def urls_of(recording: Recording) -> tuple[str, str]:
    session = recording.session
    args = [session.course.uuid, session.uuid, recording.uuid]
    return (
        reverse("treatment:recording-detail", args=args),
        reverse("treatment:recording-audio", args=args),
    )


def test_alice_uploads_and_both_play_it_back_byte_identical(personas, session):
    audio = wav_bytes(10.0)  # several chunks
    alice = signed_in(personas.alice)
    upload = SimpleUploadedFile("Voice 012.m4a", audio, content_type="audio/mp4")
    response = alice.post(list_url(session), {"file": upload})
    assert response.status_code == 302
    recording = Recording.objects.get(session=session)
    _detail, audio_url = urls_of(recording)
    for user in (personas.alice, personas.bob):
        before = AuditEvent.objects.filter(action=AuditEvent.Action.READ).count()
        played = signed_in(user).get(audio_url)
        assert played.status_code == 200
        assert b"".join(played.streaming_content) == audio
        assert played["Content-Type"] == "audio/wav"  # from the content, not the name
        assert "no-store" in played["Cache-Control"]
        assert played["Content-Disposition"] == "inline"
        assert played["Content-Length"] == str(len(audio))
        reads = AuditEvent.objects.filter(action=AuditEvent.Action.READ)
        assert reads.count() == before + 1
        assert reads.order_by("-id").first().detail == "session recording played"
    page = signed_in(personas.bob).get(
        reverse("treatment:session-detail", args=[session.course.uuid, session.uuid])
    )
    assert f'src="{audio_url}"' in page.content.decode()


def test_not_audio_is_refused_next_to_the_field_whatever_its_name(personas, session):
    alice = signed_in(personas.alice)
    for name, kind in (("session.mp3", "audio/mpeg"), ("session.wav", "audio/wav")):
        fake = SimpleUploadedFile(name, b"%PDF-1.7\n" + b"0" * 2000, content_type=kind)
        response = alice.post(list_url(session), {"file": fake})
        assert response.status_code == 200
        body = html.unescape(response.content.decode())
        assert 'id="id_file_error"' in body
        error = body.split('id="id_file_error"', 1)[1].split("</ul>", 1)[0]
        assert "This file doesn't look like a sound recording." in error
    assert not Recording.objects.exists()


def test_bob_comments_at_a_time_and_marks_it_reviewed(personas, session):
    recording = uploaded(personas.alice, session)
    detail, _audio = urls_of(recording)
    bob = signed_in(personas.bob)
    code = recordings.rating_item_choices(session)[0][0]
    bad = bob.post(detail, {"at": "12:75", "text": "Here", "rating_item_code": code})
    assert bad.status_code == 200
    assert "Enter the time as minutes:seconds" in html.unescape(bad.content.decode())
    assert "Here" in bad.content.decode()  # the typing is kept
    ok = bob.post(detail, {"at": "12:30", "text": "Clear mood link.", "rating_item_code": code})
    assert ok.status_code == 302
    comment = RecordingComment.objects.get()
    assert (comment.at_seconds, comment.rating_item_code) == (750, code)
    assert bob.post(detail, {"action": "reviewed"}).status_code == 302
    recording.refresh_from_db()
    assert recording.reviewed_by == personas.bob
    # Alice reads the comment but neither comments nor reviews.
    alice = signed_in(personas.alice)
    page = alice.get(detail).content.decode()
    assert "<strong>12:30</strong>" in page
    assert "Clear mood link." in page
    assert "Save comment" not in page
    assert alice.post(detail, {"at": "1:00", "text": "Me"}).status_code == 404
    assert RecordingComment.objects.count() == 1


def test_consent_given_and_withdrawn_through_the_page(personas, django_capture_on_commit_callbacks):
    course = factories.make_course(personas.alice, personas.dana)
    session = factories.make_session(personas.alice, course, 1)
    url = reverse("treatment:recording-consent", args=[course.uuid])
    alice = signed_in(personas.alice)
    page = alice.get(list_url(session)).content.decode()
    assert "has not consented to recording" in page
    bad = alice.post(url, {"consented_on": "yesterday", "text_version": "2026-1"})
    assert "Enter the date" in bad.content.decode()
    assert "2026-1" in bad.content.decode()
    assert (
        alice.post(url, {"consented_on": "2026-01-05", "text_version": "2026-1"}).status_code == 302
    )
    assert recordings.active_consent(course) is not None
    recording = uploaded(personas.alice, session)
    with django_capture_on_commit_callbacks(execute=True):
        assert alice.post(url, {"action": "withdraw"}).status_code == 302
    recording.refresh_from_db()
    assert recording.is_deleted
    assert not recordings.storage().exists(recording.stored_name)
    detail, audio = urls_of(recording)
    assert alice.get(audio).status_code == 404
    assert alice.get(detail).status_code == 404


def _carl_and_sue(personas):
    """Carl is on Dana's care team; Sue supervises Carl (not Alice). Both read the course."""
    carl = make_staff(personas.practice, "carl@riverside.test", "Carl Clinician")
    client_services.care_team_add(
        actor=personas.alice, client=personas.dana, member=Membership.objects.get(user=carl)
    )
    sue = make_staff(personas.practice, "sue@riverside.test", "Sue Supervisor", supervisor=True)
    Supervision.objects.create(
        practice=personas.practice,
        supervisor=Membership.objects.get(user=sue),
        supervisee=Membership.objects.get(user=carl),
    )
    return carl, sue


def test_everyone_else_gets_404(personas, session):
    recording = uploaded(personas.alice, session)
    detail, audio = urls_of(recording)
    consent = reverse("treatment:recording-consent", args=[session.course.uuid])
    carl, sue = _carl_and_sue(personas)
    others = [carl, sue, personas.adam, personas.charlie, dana_user(personas)]
    for user in others:
        http = signed_in(user)
        for url in (list_url(session), detail, audio, consent):
            assert http.get(url).status_code == 404, (user, url)
        upload = SimpleUploadedFile("a.wav", wav_bytes(), content_type="audio/wav")
        assert http.post(list_url(session), {"file": upload}).status_code == 404, user
        assert http.post(detail, {"at": "0:01", "text": "x"}).status_code == 404, user
        assert http.post(consent, {"action": "withdraw"}).status_code == 404, user
    # Carl and Sue read the session page but see no recording there.
    for user in (carl, sue):
        page = signed_in(user).get(
            reverse("treatment:session-detail", args=[session.course.uuid, session.uuid])
        )
        assert page.status_code == 200
        assert audio not in page.content.decode()
        assert "<audio" not in page.content.decode()
    assert Recording.objects.count() == 1
    assert not RecordingComment.objects.exists()
    recording.refresh_from_db()
    assert not recording.is_deleted


@pytest.mark.parametrize(
    "values",
    [
        {"at": "9" * 40, "text": "x"},
        {"at": "99999:59", "text": "x"},
        {"at": "1:00", "text": "a\x00b"},
        {"at": "1:00", "text": "x" * 20000},
        {"at": "1:00", "text": "x", "rating_item_code": "no.such.item"},
        {"at": "-1", "text": "x"},
    ],
)
def test_hostile_comments_are_refused_without_a_server_error(personas, session, values):
    recording = uploaded(personas.alice, session)
    detail, _audio = urls_of(recording)
    response = signed_in(personas.bob).post(detail, values)
    assert response.status_code == 200
    assert 'class="errorlist' in response.content.decode()
    assert not RecordingComment.objects.exists()


def test_the_course_page_links_its_clinician_to_the_recording_consent(personas, session):
    """The course's clinician reaches the consent from the course page; the supervisor, who
    cannot record it, is not shown the link."""
    course = session.course
    page = signed_in(personas.alice).get(reverse("treatment:course-detail", args=[course.uuid]))
    consent = reverse("treatment:recording-consent", args=[course.uuid])
    assert f'href="{consent}">Consent to record sessions</a>' in page.content.decode()
    bob_page = signed_in(personas.bob).get(reverse("treatment:course-detail", args=[course.uuid]))
    assert consent not in bob_page.content.decode()
