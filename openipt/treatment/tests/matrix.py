"""URL-argument fillers for the permission matrix (tests/test_permission_matrix.py): Alice in
training under Bob, and a note of hers awaiting his co-signature, made through the real
services (docs/adr/0018-trainee-co-signature.md)."""

from __future__ import annotations

from typing import Any

from openipt.accounts import services as accounts
from openipt.accounts.models import Supervision
from openipt.testing.personas import Personas
from openipt.treatment import services
from openipt.treatment.models import Session
from openipt.treatment.tests import factories


def alice_supervision(p: Personas) -> Supervision:
    return Supervision.objects.get(supervisor__user=p.bob, supervisee__user=p.alice)


def alice_in_training(p: Personas) -> Supervision:
    """Adam marks Alice as in training under Bob."""
    return accounts.supervision_training_set(
        actor=p.adam, supervision=alice_supervision(p), is_training=True
    )


def signed_by_trainee(p: Personas, number: int = 1) -> Session:
    """A note Alice, in training under Bob, has signed: it awaits Bob's co-signature."""
    alice_in_training(p)
    course = factories.make_course(p.alice, p.dana)
    session = factories.make_session(p.alice, course, number, progress_note="Talked about Sam.")
    return services.session_sign(actor=p.alice, session=session, version=session.version)


def note_awaiting_bob(p: Personas) -> dict[str, Any]:
    session = signed_by_trainee(p)
    return {"course_uuid": session.course.uuid, "session_uuid": session.uuid}


def alice_supervision_kwargs(p: Personas) -> dict[str, Any]:
    return {"uuid": p.membership(p.alice).uuid, "supervision_uuid": alice_supervision(p).uuid}
