"""The demo's letters, recordings and supervision, on Devon's concluded course: a letter to
his GP with his consent to send it, a short recording of one session with a supervisor's
comment, fidelity ratings of that session by the clinician and the supervisor, a signed
supervision note with a follow-up for the clinician. The course portfolio is left for its
supervisor to sign off. Everything goes through the real services (the recording is sealed
like any other) and each piece is made once: a second run finds it and adds nothing.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import struct
import wave

from django.core.files.uploadedfile import SimpleUploadedFile

from openipt.care import letters
from openipt.clients import services as client_services
from openipt.clients.models import ConsentRecord
from openipt.treatment import fidelity, recordings
from openipt.treatment import supervision as supervision_notes
from openipt.treatment.models import (
    Course,
    FidelityRating,
    Recording,
    Session,
    SupervisionMeeting,
)
from openipt.workspace.management.demo.kit import CONSENT_VERSION, Clinic, _backdate

CONCLUDED_RECORD = "DEMO-104"  # Devon: the concluded course
RATED_SESSION = 12  # the last session: the page sweep of the demo opens it
GP_NAME = "Dr Jordan Demo-GP (fictional)"
GP_ADDRESS = "Demo Health Centre\n1 Example Street\nNowhere"


def training_records(clinic: Clinic) -> None:
    course = (
        Course.objects.filter(
            client__practice=clinic.practice,
            client__identifiers__value=CONCLUDED_RECORD,
            status=Course.Status.CONCLUDED,
        )
        .order_by("pk")
        .first()
    )
    if course is None:
        return
    session = course.sessions.get(number=RATED_SESSION)
    _letter(clinic, course)
    _recording(clinic, course, session)
    _fidelity(clinic, session)
    _supervision(clinic, course)


def tone_wav(seconds: float = 3.0, rate: int = 8000) -> bytes:
    """A few seconds of a quiet tone as a mono 16-bit WAV (the demo has no real audio)."""
    frames = b"".join(
        struct.pack("<h", int(2500 * math.sin(2 * math.pi * 440 * i / rate)))
        for i in range(int(seconds * rate))
    )
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(frames)
    return out.getvalue()


def _letter(clinic: Clinic, course: Course) -> None:
    if course.letters.exists():
        return
    if not ConsentRecord.objects.filter(
        client=course.client, kind=ConsentRecord.Kind.SHARE_REFERRER, revoked_at__isnull=True
    ).exists():
        client_services.consent_record_add(
            actor=clinic.clinician,
            client=course.client,
            kind=ConsentRecord.Kind.SHARE_REFERRER,
            consented_on=clinic.day(-121),
            text_version=CONSENT_VERSION,
            notes="Fictional demo record: agreed that his GP hears how the course went.",
        )
    letter = letters.letter_create(
        actor=clinic.clinician,
        course=course,
        kind=letters.Kind.END_OF_TREATMENT,
        recipient_name=GP_NAME,
        recipient_address=GP_ADDRESS,
    )
    _backdate(letter, created_at=clinic.at(-42, dt.time(16, 0)))


def _recording(clinic: Clinic, course: Course, session: Session) -> None:
    if Recording.objects.filter(session__course=course).exists():
        return
    if recordings.active_consent(course) is None:
        recordings.recording_consent_give(
            actor=clinic.clinician,
            course=course,
            consented_on=clinic.day(-60),
            text_version=CONSENT_VERSION,
        )
    recording = recordings.recording_upload(
        actor=clinic.clinician,
        session=session,
        upload=SimpleUploadedFile(
            f"session-{session.number}.wav", tone_wav(), content_type="audio/wav"
        ),
    )
    items = recordings.rating_item_choices(session)
    recordings.recording_comment_add(
        actor=clinic.supervisor,
        recording=recording,
        data=recordings.CommentData(
            at_seconds=1,
            text="A good moment: you linked his better week to time with Ana. Name that "
            "link out loud so Devon hears it too.",
            rating_item_code=items[0][0] if items else "",
        ),
    )


def _fidelity(clinic: Clinic, session: Session) -> None:
    if FidelityRating.objects.filter(session=session).exists():
        return
    scale = fidelity.current_scale()
    values = sorted(a.value for a in scale.anchors)
    overall = sorted(a.value for a in scale.overall_anchors)
    high, next_down = values[-1], values[-2] if len(values) > 1 else values[-1]
    codes = [item.code for item in scale.items]
    ratings = [
        (clinic.clinician, next_down, "Kept to the transition; the routine work ran long."),
        (clinic.supervisor, high, "Clear focus on the new role; warm and well paced."),
    ]
    for rater, score, comments in ratings:
        answers: dict[str, int | None] = {
            code: (score if n % 3 else next_down) for n, code in enumerate(codes)
        }
        fidelity.fidelity_rating_save(
            actor=rater,
            session=session,
            version=0,
            data=fidelity.RatingData(
                answers=answers,
                overall=overall[-2] if len(overall) > 1 else overall[-1],
                comments=comments,
            ),
        )


def _supervision(clinic: Clinic, course: Course) -> None:
    supervisor = clinic.supervisor_membership
    if SupervisionMeeting.objects.filter(supervisor=supervisor).exists():
        return
    meeting = supervision_notes.supervision_meeting_create(
        actor=clinic.supervisor,
        data=supervision_notes.MeetingData(
            held_on=clinic.day(-40),
            supervisees=[clinic.membership],
            cases=[course],
            agreed="Devon's course ended well; the move to monthly maintenance fits his two "
            "earlier episodes. We listened to part of his last session together.",
            follow_ups=[
                supervision_notes.FollowUpData(
                    supervisee=clinic.membership,
                    text="Bring Devon's maintenance plan and his early warning signs to the "
                    "next supervision.",
                    due_on=clinic.day(10),
                )
            ],
        ),
    )
    supervision_notes.supervision_meeting_sign(
        actor=clinic.supervisor, meeting=meeting, version=meeting.version
    )
