"""Supervision through the pages (docs/user/supervision.md): Bob writes a note of his meeting
with Alice, signs it, and Alice reads it and finds her follow-up on her home page. The
supervisor's workspace shows his own supervisees only, in a fixed number of queries.
Another supervisor, another practice, the administrator and the client get 404."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client as HttpClient
from django.urls import reverse
from django.utils import timezone

from openipt.accounts.models import Membership, Supervision
from openipt.testing.personas import make_client, make_staff, query_count
from openipt.treatment import services as treatment_services
from openipt.treatment.models import SupervisionFollowUp, SupervisionMeeting
from openipt.treatment.tests import factories
from openipt.treatment.tests.supervision_builders import FOLLOW_UP, bob_meeting

pytestmark = pytest.mark.django_db
AGREED = "Agreed-text-7f3a: slow down at the middle phase"


def signed_in(user) -> HttpClient:
    http = HttpClient()
    http.force_login(user)
    return http


def detail(meeting: SupervisionMeeting) -> str:
    return reverse("supervision:meeting-detail", args=[meeting.uuid])


def new_note(personas, course, **extra) -> dict[str, object]:
    alice = personas.membership(personas.alice)
    return {
        "version": 0,
        "held_on": "2026-11-30",
        "supervisees": [str(alice.uuid)],
        "cases": [str(course.uuid)],
        "agreed": AGREED,
        "follow_up_0_text": FOLLOW_UP,
        "follow_up_0_person": "",
        "follow_up_0_due": "2026-12-07",
        "follow_up_1_text": "",
        "follow_up_1_person": "",
        "follow_up_1_due": "",
    } | extra


def other_supervisor(personas):
    """Sam supervises someone else in Alice's practice, not Alice."""
    sam = make_staff(personas.practice, "sam@riverside.test", "Sam Supervisor", supervisor=True)
    kim = make_staff(personas.practice, "kim@riverside.test", "Kim Clinician")
    Supervision.objects.create(
        practice=personas.practice,
        supervisor=Membership.objects.get(user=sam),
        supervisee=Membership.objects.get(user=kim),
    )
    return sam


def test_bob_writes_and_signs_a_note_and_alice_sees_her_follow_up_at_home(personas):
    course = factories.make_course(personas.alice, personas.dana)
    bob = signed_in(personas.bob)
    form = bob.get(reverse("supervision:meeting-create"))
    assert "Dana" in form.content.decode()  # her course is offered as a case
    response = bob.post(reverse("supervision:meeting-create"), new_note(personas, course))
    meeting = SupervisionMeeting.objects.get()
    assert response["Location"] == detail(meeting)
    alice = signed_in(personas.alice)
    assert alice.get(detail(meeting)).status_code == 404  # a draft is Bob's alone
    assert FOLLOW_UP not in alice.get("/").content.decode()

    bob.post(reverse("supervision:meeting-sign", args=[meeting.uuid]), {"version": "1"})

    page = alice.get(detail(meeting)).content.decode()
    assert AGREED in page
    assert "Dana" in page
    home = alice.get("/").content.decode()
    assert FOLLOW_UP in home
    assert "From supervision" in home
    follow_up = SupervisionFollowUp.objects.get()
    done = alice.post(reverse("supervision:follow-up-done", args=[follow_up.uuid]))
    assert done["Location"] == "/"
    assert FOLLOW_UP not in alice.get("/").content.decode()


def test_a_refused_note_keeps_what_was_typed_and_saves_nothing(personas):
    course = factories.make_course(personas.alice, personas.dana)
    bob = signed_in(personas.bob)
    data = new_note(personas, course, supervisees=[], follow_up_1_due="2026-12-08")
    page = bob.post(reverse("supervision:meeting-create"), data).content.decode()
    assert "Choose who was supervised." in page
    assert "Say what the follow-up is." in page
    assert AGREED in page
    assert FOLLOW_UP in page
    assert not SupervisionMeeting.objects.exists()


def test_a_signed_note_offers_only_an_amendment_and_keeps_a_refused_one(personas):
    meeting = bob_meeting(personas)
    bob = signed_in(personas.bob)
    assert bob.get(reverse("supervision:meeting-edit", args=[meeting.uuid])).status_code == 404
    amend = reverse("supervision:meeting-amend", args=[meeting.uuid])
    refused = bob.post(amend, {"text": " "})
    assert "Write the amendment." in refused.content.decode()
    bob.post(amend, {"text": "Sleep has improved."})
    assert "Sleep has improved." in bob.get(detail(meeting)).content.decode()
    # Alice reads the amendment but cannot add one.
    alice = signed_in(personas.alice)
    assert "Sleep has improved." in alice.get(detail(meeting)).content.decode()
    assert alice.post(amend, {"text": "Mine"}).status_code == 404


def test_another_supervisor_reaches_nothing_of_bobs_notes(personas):
    meeting = bob_meeting(personas)
    draft = bob_meeting(personas, sign=False)
    sam = signed_in(other_supervisor(personas))
    follow_up = SupervisionFollowUp.objects.filter(meeting=meeting).get()
    assert sam.get(detail(meeting)).status_code == 404
    assert sam.get(reverse("supervision:meeting-edit", args=[draft.uuid])).status_code == 404
    assert sam.post(reverse("supervision:meeting-sign", args=[draft.uuid])).status_code == 404
    assert sam.post(reverse("supervision:meeting-amend", args=[meeting.uuid])).status_code == 404
    done = sam.post(reverse("supervision:follow-up-done", args=[follow_up.uuid]))
    assert done.status_code == 404
    # His workspace lists his own supervisee, never Alice or her client.
    page = sam.get(reverse("supervision:workspace")).content.decode()
    assert "Kim Clinician" in page
    assert "Alice Clinician" not in page
    assert "Dana" not in page
    # And he cannot name Alice in a note of his own.
    alice = personas.membership(personas.alice)
    assert (
        f'value="{alice.uuid}"'
        not in sam.get(reverse("supervision:meeting-create")).content.decode()
    )


def test_the_workspace_shows_each_supervisees_caseload_waiting_notes_and_ratings(personas):
    course = factories.make_course(personas.alice, personas.dana)
    session = factories.make_session(
        personas.alice, course, 1, starts_at=timezone.now() - dt.timedelta(days=3)
    )
    treatment_services.session_sign(actor=personas.alice, session=session, version=session.version)
    page = signed_in(personas.bob).get(reverse("supervision:workspace")).content.decode()
    assert "Alice Clinician" in page
    assert "Dana" in page  # the caseload
    assert reverse("treatment:session-fidelity", args=[course.uuid, session.uuid]) in page
    assert "How their clients got on" in page


def _supervisees_with_courses(personas, n: int, first: int = 0) -> None:
    """``n`` supervisees of Bob's, each with one open course with one recent signed session."""
    bob = personas.membership(personas.bob)
    for i in range(first, first + n):
        user = make_staff(personas.practice, f"trainee{i}@riverside.test", f"Trainee {i}")
        Supervision.objects.create(
            practice=personas.practice, supervisor=bob, supervisee=Membership.objects.get(user=user)
        )
        client = make_client(personas.practice, user, given=f"Client{i}", family="Example")
        course = factories.make_course(user, client)
        session = factories.make_session(
            user, course, 1, starts_at=timezone.now() - dt.timedelta(days=2)
        )
        treatment_services.session_sign(actor=user, session=session, version=session.version)
    bob_meeting(personas)


def test_the_workspace_runs_the_same_number_of_queries_for_one_or_five_supervisees(personas):
    url = reverse("supervision:workspace")
    http = signed_in(personas.bob)
    _supervisees_with_courses(personas, 1)
    http.get(url)  # warm the session and caches
    one = query_count(lambda: http.get(url))
    _supervisees_with_courses(personas, 4, first=1)
    five = query_count(lambda: http.get(url))
    page = http.get(url).content.decode()
    assert all(f"Trainee {i}" in page for i in range(5))
    assert five == one


def test_the_workspace_shows_outcome_rates_and_ratings_per_supervisee(personas):
    import time_machine

    from openipt.care.tests.outcome_fixture import seed
    from openipt.care.tests.test_supervision_workspace import TODAY

    seed(personas)
    with time_machine.travel(TODAY, tick=False):
        page = signed_in(personas.bob).get(reverse("supervision:workspace")).content.decode()
    assert "<strong>60%</strong>" in page  # response: 3 of 5
    assert "<strong>20%</strong>" in page  # remission: 1 of 5
    assert "<strong>71%</strong>" in page  # reliable improvement: 5 of 7


def test_a_draft_is_edited_in_its_form_and_a_stale_edit_is_refused(personas):
    draft = bob_meeting(personas, sign=False)
    course = draft.cases.get()
    bob = signed_in(personas.bob)
    edit = reverse("supervision:meeting-edit", args=[draft.uuid])
    form = bob.get(edit).content.decode()
    assert FOLLOW_UP in form
    assert "ask about sleep each week" in form
    data = new_note(personas, course, version=draft.version, agreed="Now about the ending")
    assert bob.post(edit, data)["Location"] == detail(draft)
    draft.refresh_from_db()
    assert draft.agreed == "Now about the ending"
    stale = bob.post(edit, data | {"agreed": "Older tab"}).content.decode()
    assert "Someone else saved this record" in stale
    assert "Older tab" in stale
    draft.refresh_from_db()
    assert draft.agreed == "Now about the ending"
