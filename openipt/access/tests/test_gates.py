"""The access door: a gate answers 404 to anyone the policy keeps out, and records exactly
one read when (and only when) it is given the request it serves."""

from __future__ import annotations

import pytest
from django.http import Http404

from openipt.access.clients import access_client, audit_on_get
from openipt.access.treatment import access_course, access_session
from openipt.audit.models import AuditEvent
from openipt.core.http import parse_uuid
from openipt.treatment.tests import factories

pytestmark = pytest.mark.django_db


def _reads() -> int:
    return AuditEvent.objects.filter(action=AuditEvent.Action.READ).count()


def test_a_gate_without_the_request_records_nothing(personas):
    before = _reads()
    assert access_client(personas.alice, personas.dana.uuid) == personas.dana
    assert _reads() == before


def test_a_gate_with_the_request_records_one_read_by_the_user(personas, rf):
    before = _reads()
    access_client(personas.bob, personas.dana.uuid, audit=rf.get("/"), detail="why")
    assert _reads() == before + 1
    event = AuditEvent.objects.order_by("-id").first()
    assert (event.actor_id, event.client_id, event.detail) == (
        personas.bob.pk,
        personas.dana.pk,
        "why",
    )


@pytest.mark.parametrize(("who", "write"), [("charlie", False), ("adam", False), ("bob", True)])
def test_a_refused_gate_answers_404_and_records_nothing(personas, rf, who, write):
    before = _reads()
    with pytest.raises(Http404):
        access_client(getattr(personas, who), personas.dana.uuid, write=write, audit=rf.get("/"))
    assert _reads() == before


def test_course_and_session_gates_audit_the_record_they_serve(personas, rf):
    course = factories.make_course(personas.alice, personas.dana)
    session = factories.make_session(personas.alice, course, 1)
    request = rf.get("/")
    request.user = personas.bob
    before = _reads()
    reached = access_course(personas.bob, course.uuid, audit=request)
    assert access_session(reached, session.uuid, audit=request) == session
    events = list(AuditEvent.objects.order_by("-id")[:2])
    assert _reads() == before + 2
    assert {e.object_id for e in events} == {str(course.uuid), str(session.uuid)}
    assert {e.actor_id for e in events} == {personas.bob.pk}
    with pytest.raises(Http404):
        access_course(personas.charlie, course.uuid)
    with pytest.raises(Http404):
        access_course(personas.bob, course.uuid, write=True)


@pytest.mark.parametrize("bad", ["", "not-a-uuid", "123", None])
def test_a_malformed_uuid_is_a_404(bad):
    with pytest.raises(Http404):
        parse_uuid(bad)


def test_only_a_get_is_audited_as_a_read(rf):
    get, post = rf.get("/"), rf.post("/")
    assert audit_on_get(get) is get
    assert audit_on_get(post) is None
