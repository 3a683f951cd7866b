"""Session recordings under consent (docs/adr/0021-session-recordings.md): sealed at rest and
played back byte for byte, refused when the content is not audio whatever the name, deleted
when consent is withdrawn or the retention date passes (both audited), never in the portal
or the research export."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import zipfile
from pathlib import Path

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.test import Client as HttpClient
from django.urls import reverse

from openipt.audit.models import AuditEvent
from openipt.clients.models import ConsentRecord
from openipt.core import stream_crypto
from openipt.portal.tests.matrix import dana_user
from openipt.treatment import recordings
from openipt.treatment.models import Recording, RecordingComment
from openipt.treatment.tests import factories
from openipt.treatment.tests.recording_fixtures import (
    consented_course,
    upload_of,
    uploaded,
    wav_bytes,
)

pytestmark = pytest.mark.django_db
T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def session(personas):
    return factories.make_session(personas.alice, consented_course(personas), 1)


def recordings_dir() -> Path:
    return Path(recordings.storage().location)  # type: ignore[attr-defined]


def stored_files() -> list[Path]:
    return [path for path in recordings_dir().rglob("*") if path.is_file()]


def played(recording: Recording) -> bytes:
    return b"".join(recordings.plaintext_chunks(recording))


# Sealed at rest, played back byte for byte -------------------------------------------------


@pytest.mark.parametrize("seconds", [0.2, 30.0])  # one chunk, and many (about 480 KB)
def test_upload_plays_back_byte_identical_and_the_disk_holds_only_ciphertext(
    personas, session, seconds
):
    audio = wav_bytes(seconds)
    recording = uploaded(personas.alice, session, audio)
    assert played(recording) == audio
    assert recording.size == len(audio)
    assert recording.sha256 == hashlib.sha256(audio).hexdigest()
    assert recording.content_kind == "wav"
    [on_disk] = stored_files()
    sealed = on_disk.read_bytes()
    assert sealed != audio
    assert sealed.startswith(stream_crypto.MAGIC)
    assert b"RIFF" not in sealed
    assert audio[44:1044] not in sealed
    assert recordings.storage().exists(recording.stored_name)


def test_the_file_key_is_stored_only_wrapped(personas, session):
    recording = uploaded(personas.alice, session)
    assert recording.wrapped_key
    [on_disk] = stored_files()
    # The wrapped key unwraps to the key that opens the file; the row holds no raw key.
    from openipt.accounts.mfa_adapter import field_fernet

    key = field_fernet().decrypt(recording.wrapped_key.encode("ascii"))
    assert key not in recording.wrapped_key.encode("ascii")
    out = io.BytesIO()
    with on_disk.open("rb") as sealed:
        stream_crypto.decrypt_stream(sealed, out, key)
    assert out.getvalue() == played(recording)


def test_a_changed_byte_on_disk_stops_playback(personas, session):
    recording = uploaded(personas.alice, session, wav_bytes(2.0))
    [on_disk] = stored_files()
    data = bytearray(on_disk.read_bytes())
    data[-5] ^= 0xFF
    on_disk.write_bytes(bytes(data))
    with pytest.raises(stream_crypto.DecryptionError):
        played(recording)


# Content checked, not the name -----------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content_type"),
    [("session.mp3", "audio/mpeg"), ("session.wav", "audio/wav"), ("notes.pdf", "application/pdf")],
)
def test_content_that_is_not_audio_is_refused_whatever_its_name(
    personas, session, name, content_type
):
    pdf = b"%PDF-1.7\n" + b"x" * 5000
    with pytest.raises(ValidationError) as refused:
        recordings.recording_upload(
            actor=personas.alice, session=session, upload=upload_of(pdf, name, content_type)
        )
    assert refused.value.message_dict == {"file": [str(recordings.NOT_AUDIO)]}
    assert "doesn't look like a sound recording" in str(recordings.NOT_AUDIO)
    assert Recording.objects.count() == 0
    assert stored_files() == []


def test_an_audio_file_with_any_name_is_accepted(personas, session):
    recording = uploaded(personas.alice, session)  # the content decides, not ".wav"
    again = recordings.recording_upload(
        actor=personas.alice, session=session, upload=upload_of(wav_bytes(), "x.txt", "text/plain")
    )
    assert recording.content_kind == again.content_kind == "wav"


@pytest.mark.parametrize(
    ("head", "kind"),
    [
        (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81", "webm"),
        (b"OggS\x00\x02" + b"\x00" * 20, "ogg"),
        (b"\x00\x00\x00\x20ftypM4A \x00\x00\x00\x00", "mp4"),
        (b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00", "mp4"),
        (b"\x00\x00\x00\x18ftyp3gp4\x00\x00\x00\x00", "3gp"),
        (b"ID3\x04\x00\x00\x00\x00\x00\x00", "mp3"),
        (b"\xff\xfb\x90\x64\x00", "mp3"),
        (b"\xff\xf1\x50\x80\x02\x1f\xfc", "aac"),
        (b"\xff\xf9\x50\x80\x02\x1f\xfc", "aac"),
        (b"RIFF\x24\x08\x00\x00WAVEfmt ", "wav"),
        (b"fLaC\x00\x00\x00\x22", "flac"),
        (b"#!AMR\n", "amr"),
    ],
)
def test_sniffing_recognises_common_audio(head, kind):
    assert recordings.sniff_audio(head) == kind


@pytest.mark.parametrize(
    "head",
    [
        b"%PDF-1.7",
        b"\x89PNG\r\n\x1a\n",
        b"PK\x03\x04",
        b"RIFF\x24\x08\x00\x00AVI LIST",
        b"\xff\xd8\xff\xe0",  # JPEG
        b"MZ\x90\x00",
        b"hello, this is text",
        b"",
    ],
)
def test_sniffing_refuses_what_is_not_audio(head):
    assert recordings.sniff_audio(head) is None


def test_an_empty_or_too_large_file_is_refused(personas, session, settings):
    with pytest.raises(ValidationError) as empty:
        recordings.recording_upload(actor=personas.alice, session=session, upload=upload_of(b""))
    assert "empty" in empty.value.message_dict["file"][0]
    settings.OPENIPT_RECORDING_MAX_MB = 0
    with pytest.raises(ValidationError) as large:
        uploaded(personas.alice, session)
    assert "larger than 0 MB" in large.value.message_dict["file"][0]
    assert Recording.objects.count() == 0
    assert stored_files() == []


# Who may upload, and only with consent -----------------------------------------------------


def test_without_consent_nothing_is_uploaded(personas):
    course = factories.make_course(personas.alice, personas.dana)
    session = factories.make_session(personas.alice, course, 1)
    with pytest.raises(ValidationError):
        uploaded(personas.alice, session)
    assert Recording.objects.count() == 0
    assert stored_files() == []


def test_only_the_therapist_uploads(personas, session):
    for actor in (personas.bob, personas.adam, personas.charlie):
        with pytest.raises(PermissionDenied):
            uploaded(actor, session)
    assert Recording.objects.count() == 0


def test_consent_is_a_recording_consent_record_of_the_client(personas, session):
    consent = ConsentRecord.objects.get(client=personas.dana)
    assert consent.kind == ConsentRecord.Kind.RECORDING
    assert consent.recording_course.course == session.course
    with pytest.raises(ValidationError):
        recordings.recording_consent_give(
            actor=personas.alice, course=session.course, consented_on=dt.date(2026, 1, 6),
            text_version="2026-1",
        )  # fmt: skip
    with pytest.raises(PermissionDenied):
        recordings.recording_consent_withdraw(actor=personas.bob, course=session.course)


# Deletion: consent withdrawn, retention reached ------------------------------------------


def test_withdrawing_consent_deletes_the_courses_recordings_at_once(
    personas, session, django_capture_on_commit_callbacks
):
    first = uploaded(personas.alice, session)
    second = uploaded(personas.alice, factories.make_session(personas.alice, session.course, 2))
    recordings.recording_comment_add(
        actor=personas.bob, recording=first,
        data=recordings.CommentData(at_seconds=5, text="Nice summary of the week."),
    )  # fmt: skip
    assert len(stored_files()) == 2
    with django_capture_on_commit_callbacks(execute=True):
        deleted = recordings.recording_consent_withdraw(actor=personas.alice, course=session.course)
    assert deleted == 2
    assert stored_files() == []
    for recording in (first, second):
        recording.refresh_from_db()
        assert recording.is_deleted
        assert recording.deleted_because == Recording.Deletion.CONSENT_WITHDRAWN
        assert recording.wrapped_key == ""
        with pytest.raises(ValueError, match="deleted"):
            played(recording)
    assert RecordingComment.objects.count() == 0
    assert ConsentRecord.objects.get(client=personas.dana).revoked_at is not None
    deletions = AuditEvent.objects.filter(
        action=AuditEvent.Action.DELETE, object_type="treatment.recording"
    )
    assert sorted(deletions.values_list("object_id", flat=True)) == sorted(
        [str(first.uuid), str(second.uuid)]
    )
    assert {e.detail for e in deletions} == {"session recording deleted: consent"}
    assert AuditEvent.objects.filter(detail="consent to recording withdrawn").count() == 1
    # And no new upload until consent is given again.
    with pytest.raises(ValidationError):
        uploaded(personas.alice, session)


def test_a_failed_withdrawal_keeps_the_files(personas, session, django_capture_on_commit_callbacks):
    uploaded(personas.alice, session)
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(PermissionDenied):
        recordings.recording_consent_withdraw(actor=personas.bob, course=session.course)
    assert len(stored_files()) == 1
    assert Recording.objects.filter(deleted_at__isnull=True).count() == 1


def test_an_unreviewed_recording_is_deleted_the_retention_days_after_upload(
    personas, session, django_capture_on_commit_callbacks
):
    with time_machine.travel(T0, tick=False):
        recording = uploaded(personas.alice, session)
    assert recording.delete_after == T0 + dt.timedelta(days=90)
    before = T0 + dt.timedelta(days=89, hours=23)
    with time_machine.travel(before, tick=False), django_capture_on_commit_callbacks(execute=True):
        assert recordings.delete_expired() == 0
    assert len(stored_files()) == 1
    after = T0 + dt.timedelta(days=90, minutes=1)
    with time_machine.travel(after, tick=False), django_capture_on_commit_callbacks(execute=True):
        assert recordings.delete_expired() == 1
        assert recordings.delete_expired() == 0  # idempotent
    assert stored_files() == []
    recording.refresh_from_db()
    assert recording.deleted_because == Recording.Deletion.RETENTION
    event = AuditEvent.objects.get(action=AuditEvent.Action.DELETE, object_id=str(recording.uuid))
    assert event.detail == "session recording deleted: retention"


def test_review_keeps_it_for_the_practices_retention_from_the_review(
    personas, session, django_capture_on_commit_callbacks
):
    practice = personas.practice
    practice.recording_retention_days = 30
    practice.save(update_fields=["recording_retention_days"])
    with time_machine.travel(T0, tick=False):
        recording = uploaded(personas.alice, session)
    assert recording.delete_after == T0 + dt.timedelta(days=30)
    reviewed_on = T0 + dt.timedelta(days=20)
    with time_machine.travel(reviewed_on, tick=False):
        with pytest.raises(PermissionDenied):  # the therapist does not review her own
            recordings.recording_mark_reviewed(actor=personas.alice, recording=recording)
        recording = recordings.recording_mark_reviewed(actor=personas.bob, recording=recording)
    assert recording.reviewed_at == reviewed_on
    assert recording.delete_after == reviewed_on + dt.timedelta(days=30)
    past_upload_retention = T0 + dt.timedelta(days=31)
    with (
        time_machine.travel(past_upload_retention, tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert recordings.delete_expired() == 0
    assert len(stored_files()) == 1
    past_review_retention = reviewed_on + dt.timedelta(days=30, seconds=1)
    with (
        time_machine.travel(past_review_retention, tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        call_command("periodic", "--now", stdout=io.StringIO())
    recording.refresh_from_db()
    assert recording.is_deleted
    assert stored_files() == []


# Comments by the supervisor, linked to rating items -------------------------------------


def test_supervisor_comments_at_a_moment_about_a_rating_item(personas, session):
    recording = uploaded(personas.alice, session)
    code = recordings.rating_item_choices(session)[0][0]
    comment = recordings.recording_comment_add(
        actor=personas.bob, recording=recording,
        data=recordings.CommentData(at_seconds=754, text="Good link here.", rating_item_code=code),
    )  # fmt: skip
    assert (comment.at_seconds, comment.rating_item_code) == (754, code)
    with pytest.raises(ValidationError) as bad:
        recordings.recording_comment_add(
            actor=personas.bob, recording=recording,
            data=recordings.CommentData(at_seconds=1, text="x", rating_item_code="no.such"),
        )  # fmt: skip
    assert "rating_item_code" in bad.value.message_dict
    with pytest.raises(PermissionDenied):
        recordings.recording_comment_add(
            actor=personas.alice, recording=recording,
            data=recordings.CommentData(at_seconds=1, text="Me"),
        )  # fmt: skip
    assert RecordingComment.objects.count() == 1


# Never in the portal or the research export -----------------------------------------------


def test_recordings_never_reach_the_portal(personas, session):
    recording = uploaded(personas.alice, session)
    http = HttpClient()
    http.force_login(dana_user(personas))
    audio_url = reverse(
        "treatment:recording-audio", args=[session.course.uuid, session.uuid, recording.uuid]
    )
    for name in ("portal:home", "portal:record"):
        response = http.get(reverse(name))
        assert response.status_code == 200
        body = response.content.decode()
        assert str(recording.uuid) not in body
        assert "<audio" not in body
    assert http.get(audio_url).status_code == 404


def test_recordings_never_reach_the_research_export(personas, session):
    from openipt.care import research_export

    recording = uploaded(personas.alice, session)
    export = research_export.research_export(practice_id=personas.practice.pk, key=b"k" * 32, k=1)
    out = io.BytesIO()
    research_export.write_zip(export, out)
    with zipfile.ZipFile(out) as archive:
        text = b"".join(archive.read(name) for name in archive.namelist())
    assert b"recording" not in text.lower()
    assert recording.sha256.encode() not in text
    assert str(recording.uuid).encode() not in text
