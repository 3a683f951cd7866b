"""Session recordings under consent (docs/adr/0021-session-recordings.md).

The client consents to recording per course (a consent record of kind "recording"), and may
withdraw that consent at any time: the course's recordings are then deleted at once. With
consent, the session's therapist uploads the audio; its content (not its name or declared
type) must be audio. The file is sealed as it streams (``openipt.core.stream_crypto``, a key of
its own wrapped with the field encryption key) into the "recordings" storage, so only
ciphertext is ever stored, and it is unsealed chunk by chunk for playback. The therapist and
their supervisors alone reach it; a supervisor comments at moments of it and marks it reviewed.
A recording is deleted ``Practice.recording_retention_days`` after that review, or after the
upload while nobody has reviewed it (``delete_expired``, a periodic task). Every step is
audited; a deletion names the reason, never the content.
"""

from __future__ import annotations

import datetime as dt
import logging
import tempfile
import uuid as uuid_lib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO, cast

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files import File
from django.core.files.storage import Storage, storages
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from openipt.accounts import policy
from openipt.accounts.mfa_adapter import field_fernet
from openipt.accounts.models import Membership, User
from openipt.audit import services as audit
from openipt.audit.models import AuditEvent
from openipt.clients.models import ConsentRecord
from openipt.core import stream_crypto
from openipt.treatment import fidelity
from openipt.treatment.models import (
    Course,
    Recording,
    RecordingComment,
    RecordingConsent,
    Session,
)

logger = logging.getLogger(__name__)

NOT_AUDIO = gettext_lazy(
    "This file doesn't look like a sound recording. Please choose the audio file of the "
    "session (for example .m4a, .mp3, .webm, .ogg, .wav or .flac)."
)
_SNIFF_BYTES = 64

# The audio formats accepted, by what their first bytes say, and how they are served.
CONTENT_TYPES = {
    "webm": "audio/webm",
    "ogg": "audio/ogg",
    "mp4": "audio/mp4",
    "3gp": "audio/3gpp",
    "mp3": "audio/mpeg",
    "aac": "audio/aac",
    "wav": "audio/wav",
    "flac": "audio/flac",
    "amr": "audio/amr",
}


def sniff_audio(head: bytes) -> str | None:
    """The audio format the first bytes of a file show (a key of ``CONTENT_TYPES``), or
    ``None`` when they are not one of them. The name and declared type play no part."""
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "webm"  # WebM / Matroska
    if head.startswith(b"OggS"):
        return "ogg"
    if head.startswith(b"fLaC"):
        return "flac"
    if head.startswith(b"#!AMR"):
        return "amr"
    if len(head) >= 12 and head.startswith(b"RIFF") and head[8:12] == b"WAVE":
        return "wav"
    if len(head) >= 12 and head[4:8] == b"ftyp":
        return "3gp" if head[8:11] == b"3gp" else "mp4"
    if head.startswith(b"ID3"):
        return "mp3"
    if len(head) >= 2 and head[0] == 0xFF:
        if head[1] in (0xF1, 0xF9):
            return "aac"  # ADTS
        if head[1] & 0xE0 == 0xE0 and head[1] & 0x06 != 0:
            return "mp3"  # an MPEG audio frame (layer bits set)
    return None


def max_bytes() -> int:
    return int(settings.OPENIPT_RECORDING_MAX_MB) * 1024 * 1024


def storage() -> Storage:
    return storages["recordings"]


# Consent ----------------------------------------------------------------------------------


def active_consent(course: Course) -> RecordingConsent | None:
    """The course's recording consent in force, if any."""
    return (
        RecordingConsent.objects.filter(course=course, consent__revoked_at__isnull=True)
        .select_related("consent")
        .first()
    )


def _require_course_therapist(actor: User, course: Course) -> None:
    membership = policy.staff_membership(actor)
    if not (
        policy.can_access_client(membership, course.client, write=True)
        and membership is not None
        and membership.is_clinician
        and membership.pk == course.clinician_id
    ):
        raise PermissionDenied


@transaction.atomic
def recording_consent_give(
    *,
    actor: User,
    course: Course,
    consented_on: dt.date,
    text_version: str,
    request: HttpRequest | None = None,
) -> RecordingConsent:
    """Record the client's consent to audio recording of this course's sessions."""
    _require_course_therapist(actor, course)
    Course.objects.select_for_update().get(pk=course.pk)
    if active_consent(course) is not None:
        raise ValidationError(_("Consent to recording is already recorded for this course."))
    consent = ConsentRecord(
        client=course.client,
        kind=ConsentRecord.Kind.RECORDING,
        consented_on=consented_on,
        text_version=text_version.strip(),
        recorded_by=actor,
    )
    consent.full_clean()
    consent.save()
    link = RecordingConsent.objects.create(course=course, consent=consent)
    audit.record(
        actor=actor, action=AuditEvent.Action.CREATE, obj=consent, client=course.client,
        request=request, detail="consent to recording for a course",
    )  # fmt: skip
    return link


@transaction.atomic
def recording_consent_withdraw(
    *, actor: User, course: Course, request: HttpRequest | None = None
) -> int:
    """The client withdraws consent to recording: the consent is marked withdrawn and every
    recording of the course is deleted at once (the files once the change is committed).
    Returns how many recordings were deleted."""
    _require_course_therapist(actor, course)
    Course.objects.select_for_update().get(pk=course.pk)
    link = active_consent(course)
    if link is None:
        raise ValidationError(_("There is no consent to recording to withdraw."))
    consent = link.consent
    consent.revoked_at = timezone.now()
    consent.save(update_fields=["revoked_at", "updated_at"])
    audit.record(
        actor=actor, action=AuditEvent.Action.UPDATE, obj=consent, client=course.client,
        request=request, detail="consent to recording withdrawn",
    )  # fmt: skip
    rows = Recording.objects.select_for_update().filter(
        session__course=course, deleted_at__isnull=True
    )
    count = 0
    for recording in rows:
        _delete(recording, Recording.Deletion.CONSENT_WITHDRAWN, actor=actor, request=request)
        count += 1
    return count


# Upload -----------------------------------------------------------------------------------


def _stored_name(session: Session) -> str:
    return f"{session.course.uuid}/{session.uuid}/{uuid_lib.uuid4().hex}.sealed"


def _seal(source: BinaryIO, key: bytes) -> tuple[tempfile._TemporaryFileWrapper[bytes], int, str]:
    sealed = tempfile.NamedTemporaryFile(prefix="recording-", suffix=".sealed")  # noqa: SIM115
    try:
        result = stream_crypto.encrypt_stream(source, sealed, key)  # type: ignore[arg-type]
        sealed.flush()
        sealed.seek(0)
    except BaseException:
        sealed.close()
        raise
    return sealed, result.size, result.sha256


def recording_upload(
    *,
    actor: User,
    session: Session,
    upload: File[bytes],
    request: HttpRequest | None = None,
) -> Recording:
    """Seal and store the audio of a session. ``ValidationError`` (on the ``file`` field)
    when it is not audio, is empty or too large; ``PermissionDenied`` unless the actor is the
    session's therapist with write access; a course without consent in force is refused."""
    membership = policy.staff_membership(actor)
    course = session.course
    if not (
        policy.can_upload_recording(membership, session)
        and policy.can_access_client(membership, course.client, write=True)
    ):
        raise PermissionDenied
    if active_consent(course) is None:
        raise ValidationError(
            _("The client has not consented to recording for this course."), code="no_consent"
        )
    size = upload.size or 0
    if size == 0:
        raise ValidationError({"file": _("This file is empty.")})
    if size > max_bytes():
        raise ValidationError(
            {
                "file": _("This file is larger than %(mb)s MB, the most a recording may be.")
                % {"mb": settings.OPENIPT_RECORDING_MAX_MB}
            }
        )
    upload.seek(0)
    kind = sniff_audio(upload.read(_SNIFF_BYTES))
    if kind is None:
        raise ValidationError({"file": NOT_AUDIO})
    upload.seek(0)
    key = stream_crypto.new_key()
    sealed, plain_size, digest = _seal(upload.file, key)  # type: ignore[arg-type]
    with sealed:
        name = storage().save(_stored_name(session), File(sealed))
    try:
        with transaction.atomic():
            if active_consent(course) is None:  # withdrawn meanwhile
                raise ValidationError(
                    _("The client has not consented to recording for this course."),
                    code="no_consent",
                )
            now = timezone.now()
            recording = Recording.objects.create(
                session=session,
                uploaded_by=actor,
                stored_name=name,
                wrapped_key=field_fernet().encrypt(key).decode("ascii"),
                size=plain_size,
                content_kind=kind,
                sha256=digest,
                delete_after=now
                + dt.timedelta(days=course.client.practice.recording_retention_days),
            )
            audit.record(
                actor=actor, action=AuditEvent.Action.CREATE, obj=recording,
                client=course.client, request=request,
                detail=f"session recording uploaded ({kind}, {plain_size} bytes)",
            )  # fmt: skip
    except BaseException:
        storage().delete(name)
        raise
    return recording


# Playback ---------------------------------------------------------------------------------


def content_type(recording: Recording) -> str:
    return CONTENT_TYPES.get(recording.content_kind, "application/octet-stream")


def plaintext_chunks(recording: Recording) -> Iterator[bytes]:
    """The recording's audio, unsealed chunk by chunk (never whole in memory). The caller has
    checked access and audited the read."""
    if recording.is_deleted:
        raise ValueError("The recording has been deleted")
    key = field_fernet().decrypt(recording.wrapped_key.encode("ascii"))
    with storage().open(recording.stored_name, "rb") as sealed:
        yield from stream_crypto.decrypt_chunks(cast(BinaryIO, sealed), key)


# Review -----------------------------------------------------------------------------------


def _require_reviewer(actor: User, recording: Recording) -> None:
    membership = policy.staff_membership(actor)
    session = recording.session
    if not (
        policy.can_review_recording(membership, session)
        and policy.can_access_client(membership, session.course.client)
    ):
        raise PermissionDenied
    if recording.is_deleted:
        raise ValidationError(_("This recording has been deleted."))


@transaction.atomic
def recording_mark_reviewed(
    *, actor: User, recording: Recording, request: HttpRequest | None = None
) -> Recording:
    """A supervisor has listened to the recording: it is kept for the practice's retention
    period from now, then deleted."""
    _require_reviewer(actor, recording)
    locked = Recording.objects.select_for_update().get(pk=recording.pk)
    if locked.reviewed_at is not None:
        return locked
    practice = recording.session.course.client.practice
    now = timezone.now()
    locked.reviewed_at = now
    locked.reviewed_by = actor
    locked.delete_after = now + dt.timedelta(days=practice.recording_retention_days)
    locked.save(update_fields=["reviewed_at", "reviewed_by", "delete_after", "updated_at"])
    audit.record(
        actor=actor, action=AuditEvent.Action.UPDATE, obj=locked,
        client=recording.session.course.client, request=request,
        detail="session recording reviewed",
    )  # fmt: skip
    return locked


def rating_item_choices(session: Session) -> list[tuple[str, str]]:
    """The fidelity items a comment may be linked to (codes of the scale the session is
    rated on, or the current scale)."""
    scale = fidelity.current_scale()
    rated = session.fidelity_ratings.first()
    if rated is not None:
        scale = fidelity.scale_for(rated.scale_code, rated.scale_version)
    return [(item.code, item.text) for item in scale.items]


@dataclass(frozen=True)
class CommentData:
    at_seconds: int
    text: str
    rating_item_code: str = ""


@transaction.atomic
def recording_comment_add(
    *,
    actor: User,
    recording: Recording,
    data: CommentData,
    request: HttpRequest | None = None,
) -> RecordingComment:
    """A supervisor's comment at a moment of the recording, optionally about one rating
    item."""
    _require_reviewer(actor, recording)
    codes = {code for code, _text in rating_item_choices(recording.session)}
    if data.rating_item_code and data.rating_item_code not in codes:
        raise ValidationError({"rating_item_code": _("Choose one of the rating items.")})
    comment = RecordingComment(
        recording=recording,
        author=actor,
        at_seconds=data.at_seconds,
        rating_item_code=data.rating_item_code,
        text=data.text.strip(),
    )
    comment.full_clean()
    comment.save()
    audit.record(
        actor=actor, action=AuditEvent.Action.CREATE, obj=comment,
        client=recording.session.course.client, request=request,
        detail="comment on a session recording",
    )  # fmt: skip
    return comment


# Deletion ---------------------------------------------------------------------------------


def _delete_file(name: str) -> None:
    try:
        storage().delete(name)
    except OSError:  # pragma: no cover - logged; the key is gone, so the file is unreadable
        logger.exception("Could not delete a recording file")


def _delete(
    recording: Recording,
    because: str,
    *,
    actor: User | None,
    request: HttpRequest | None = None,
) -> None:
    """Inside a transaction: forget the key, drop the comments and mark the row deleted; the
    file goes once the transaction commits (a rollback keeps everything as it was)."""
    name = recording.stored_name
    recording.comments.all().delete()
    recording.wrapped_key = ""
    recording.deleted_at = timezone.now()
    recording.deleted_because = because
    recording.save(update_fields=["wrapped_key", "deleted_at", "deleted_because", "updated_at"])
    client = recording.session.course.client
    audit.record(
        actor=actor, action=AuditEvent.Action.DELETE, obj=recording, client=client,
        request=request, detail=f"session recording deleted: {because}",
    )  # fmt: skip
    transaction.on_commit(lambda: _delete_file(name))


def delete_expired(now: dt.datetime | None = None) -> int:
    """Delete every recording whose retention date has passed; idempotent. Returns how many."""
    moment = now or timezone.now()
    count = 0
    due = Recording.objects.filter(deleted_at__isnull=True, delete_after__lte=moment)
    for pk in due.values_list("pk", flat=True):
        with transaction.atomic():
            recording = (
                Recording.objects.select_for_update()
                .select_related("session__course__client")
                .filter(pk=pk, deleted_at__isnull=True, delete_after__lte=moment)
                .first()
            )
            if recording is None:
                continue
            _delete(recording, Recording.Deletion.RETENTION, actor=None)
            count += 1
    return count


def session_panel(membership: Membership | None, session: Session) -> list[Recording] | None:
    """The session's recordings for the session page, or ``None`` when this member may not
    reach them (the panel is then not shown at all)."""
    if not policy.can_access_recording(membership, session):
        return None
    return list(Recording.objects.filter(session=session).select_related("uploaded_by"))
