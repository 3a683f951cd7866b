"""Building blocks for tests of session recordings (docs/adr/0021-session-recordings.md): a
tiny valid WAV file, a course of Dana's with consent to recording, and an uploaded recording,
made through the real services. Also the permission matrix's URL-argument fillers."""

from __future__ import annotations

import datetime as dt
import io
import math
import struct
import wave
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile

from openipt.accounts.models import User
from openipt.testing.personas import Personas
from openipt.treatment import recordings
from openipt.treatment.models import Course, Recording, Session
from openipt.treatment.tests import factories


def wav_bytes(seconds: float = 0.5, rate: int = 8000) -> bytes:
    """A short mono 16-bit WAV: a quiet tone."""
    frames = b"".join(
        struct.pack("<h", int(3000 * math.sin(2 * math.pi * 440 * i / rate)))
        for i in range(int(seconds * rate))
    )
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(frames)
    return out.getvalue()


def upload_of(data: bytes, name: str = "session.wav", content_type: str = "audio/wav"):
    return SimpleUploadedFile(name, data, content_type=content_type)


def consented_course(p: Personas) -> Course:
    course = factories.make_course(p.alice, p.dana)
    recordings.recording_consent_give(
        actor=p.alice, course=course, consented_on=dt.date(2026, 1, 5), text_version="2026-1"
    )
    return course


def uploaded(actor: User, session: Session, data: bytes | None = None) -> Recording:
    return recordings.recording_upload(
        actor=actor, session=session, upload=upload_of(data if data is not None else wav_bytes())
    )


def recorded_session(p: Personas) -> Recording:
    course = consented_course(p)
    session = factories.make_session(p.alice, course, 1)
    return uploaded(p.alice, session)


# Permission-matrix fillers.


def dana_recording_consent(p: Personas) -> dict[str, Any]:
    return {"course_uuid": consented_course(p).uuid}


def dana_session_recordings(p: Personas) -> dict[str, Any]:
    session = factories.make_session(p.alice, consented_course(p), 1)
    return {"course_uuid": session.course.uuid, "session_uuid": session.uuid}


def dana_recording(p: Personas) -> dict[str, Any]:
    recording = recorded_session(p)
    session = recording.session
    return {
        "course_uuid": session.course.uuid,
        "session_uuid": session.uuid,
        "recording_uuid": recording.uuid,
    }
