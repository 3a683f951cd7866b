"""Fidelity ratings through the pages (docs/adr/0020-fidelity-ratings.md): Alice rates her
session and Bob, her supervisor, rates the same session; neither page shows the other's
answers until both are saved; then both see both and the agreement figure. Another
supervisor, a care-team colleague, the administrator, another practice and the client get
404."""

from __future__ import annotations

import re

import pytest
from django.test import Client as HttpClient
from django.urls import reverse

from openipt.accounts.models import Membership, Supervision
from openipt.audit.models import AuditEvent
from openipt.clients import services as client_services
from openipt.portal.tests.matrix import dana_user
from openipt.testing.personas import make_staff
from openipt.treatment import fidelity
from openipt.treatment.fidelity_forms import NOT_APPLICABLE, field_name
from openipt.treatment.models import FidelityRating, Session
from openipt.treatment.tests import factories

pytestmark = pytest.mark.django_db
ALICE_COMMENT = "Alice-self-rating-comment-4c1e"
BOB_COMMENT = "Bob-supervisor-comment-9d2b"
CHECKED = " checked>"  # a preselected radio button


def signed_in(user) -> HttpClient:
    http = HttpClient()
    http.force_login(user)
    return http


@pytest.fixture
def session(personas) -> Session:
    course = factories.make_course(personas.alice, personas.dana)
    return factories.make_session(personas.alice, course, 1)


def url(session: Session) -> str:
    return reverse("treatment:session-fidelity", args=[session.course.uuid, session.uuid])


def form_data(scores: dict[str, int | None], overall: int, comments: str, version: int = 0):
    post: dict[str, object] = {"version": version, "overall": overall, "comments": comments}
    for code, value in scores.items():
        post[field_name(code)] = NOT_APPLICABLE if value is None else value
    return post


def codes() -> list[str]:
    return [item.code for item in fidelity.current_scale().items]


# Alice and Bob's scores: the five "all" and initial items of the hand-worked example in
# openipt/treatment/tests/test_fidelity.py, every other item not applicable for one or both.
ALICE = dict.fromkeys(codes(), None) | {
    "all.time_limit": 0, "all.interpersonal_focus": 1, "all.stance": 2, "all.no_drift": 3,
    "initial.symptom_review": 2, "initial.sick_role": 3,
}  # fmt: skip
BOB = dict.fromkeys(codes(), None) | {
    "all.time_limit": 0, "all.interpersonal_focus": 2, "all.stance": 2, "all.no_drift": 3,
    "initial.symptom_review": 1, "middle.agreed_focus": 2,
}  # fmt: skip


def test_both_rate_blind_then_see_both_and_the_hand_computed_kappa(personas, session):
    alice, bob = signed_in(personas.alice), signed_in(personas.bob)
    response = alice.post(url(session), form_data(ALICE, 3, ALICE_COMMENT))
    assert response.status_code == 302
    own = alice.get(url(session)).content.decode()
    assert "Your supervisor has not rated this session yet." in own
    assert ALICE_COMMENT in own  # her own comment, in the form to change it

    # Bob, before he has saved: the form and that Alice rated, nothing of what she said.
    page = bob.get(url(session)).content.decode()
    assert "The therapist has rated this session. Save your rating to see theirs." in page
    assert ALICE_COMMENT not in page
    assert "Quadratic-weighted kappa" not in page
    group = page.split("In every session")[1].split("Getting started")[0]
    assert CHECKED not in group, "no score is preselected from Alice's answers"

    assert bob.post(url(session), form_data(BOB, 2, BOB_COMMENT)).status_code == 302
    for http in (alice, bob):
        page = http.get(url(session)).content.decode()
        assert ALICE_COMMENT in page
        assert BOB_COMMENT in page
        # 21/26 = 0.808 over the five items both scored; 3 of 5 the same (60%).
        assert "Quadratic-weighted kappa over 5 items: 0.81" in page
        assert "The same score on 3 of 5 items (60%)" in page
        assert "Save my rating" not in page
        assert "Save changes" not in page


def test_the_supervisors_page_before_the_therapist_saved_shows_none_of_her_answers(
    personas, session
):
    bob, alice = signed_in(personas.bob), signed_in(personas.alice)
    assert bob.post(url(session), form_data(BOB, 2, BOB_COMMENT)).status_code == 302
    page = alice.get(url(session)).content.decode()
    assert "Your supervisor has rated this session. Save your rating to see theirs." in page
    assert BOB_COMMENT not in page
    # Every item of the "In every session" group is blank for her: nothing of Bob's leaked
    # into her form's initial values.
    group = page.split("In every session")[1].split("Getting started")[0]
    assert CHECKED not in group
    # And Bob's page shows only his own rating.
    own = bob.get(url(session)).content.decode()
    assert BOB_COMMENT in own
    assert "Quadratic-weighted kappa" not in own


def test_a_missing_answer_is_shown_next_to_the_item_and_the_typing_is_kept(personas, session):
    alice = signed_in(personas.alice)
    post = form_data(ALICE, 3, ALICE_COMMENT)
    del post[field_name("all.stance")]
    response = alice.post(url(session), post)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Choose a score, or “Not applicable”." in page
    assert ALICE_COMMENT in page
    assert not FidelityRating.objects.exists()
    assert AuditEvent.objects.filter(action="read", detail="fidelity ratings").exists()


def test_items_of_other_phases_start_as_not_applicable(personas, session):
    page = signed_in(personas.alice).get(url(session)).content.decode()
    middle = page.split("Working on it (middle phase)")[1].split("Finishing well")[0]
    expected = len(fidelity.current_scale().items_of("middle"))
    assert middle.count(CHECKED) == len(re.findall(r'value="na"[^>]* checked>', middle)) == expected


def test_the_session_page_links_to_the_rating_for_alice_and_bob_only(personas, session):
    detail = reverse("treatment:session-detail", args=[session.course.uuid, session.uuid])
    for user in (personas.alice, personas.bob):
        assert "Rate this session" in signed_in(user).get(detail).content.decode()
    carl, sue = _carl_and_sue(personas)
    for user in (carl, sue):
        page = signed_in(user).get(detail)
        assert page.status_code == 200
        assert "Rate this session" not in page.content.decode()


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


def test_everyone_else_gets_404_for_reading_and_saving(personas, session):
    carl, sue = _carl_and_sue(personas)
    others = [carl, sue, personas.adam, personas.charlie, dana_user(personas)]
    for user in others:
        http = signed_in(user)
        assert http.get(url(session)).status_code == 404, user
        assert http.post(url(session), form_data(ALICE, 3, "x")).status_code == 404, user
    assert not FidelityRating.objects.exists()


def test_a_session_that_did_not_take_place_shows_no_form(personas):
    course = factories.make_course(personas.alice, personas.dana)
    missed = factories.make_session(personas.alice, course, 1, attendance="no_show")
    page = signed_in(personas.alice).get(url(missed)).content.decode()
    assert "Only a session that took place can be rated." in page
    assert "Save my rating" not in page
