"""The supervisor's workspace (openipt/care/supervision.py) over the hand-computed outcome
fixture: Bob sees Alice's rates, as the outcome dashboard counts them, and nobody else's;
ratings keep their blindness."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from openipt.care.supervision import supervisor_workspace
from openipt.care.tests.outcome_fixture import membership, seed

pytestmark = pytest.mark.django_db
# A year back from here covers every course of the fixture that ended in its period.
TODAY = dt.datetime(2026, 7, 1, 12, 0, tzinfo=dt.UTC)


def test_outcomes_per_supervisee_match_the_hand_computed_fixture(personas):
    seed(personas)
    with time_machine.travel(TODAY, tick=False):
        board = supervisor_workspace(personas.bob, membership(personas.bob))
    [panel] = board.panels  # Eve, supervised by nobody, is not Bob's
    assert panel.supervisee.user == personas.alice
    outcome = panel.outcome
    assert outcome is not None
    assert (outcome.response.count, outcome.response.base) == (3, 5)
    assert (outcome.remission.count, outcome.remission.base) == (1, 5)
    assert (outcome.reliable_improvement.count, outcome.reliable_improvement.base) == (5, 7)


def test_a_member_who_supervises_nobody_has_no_workspace(personas):
    with pytest.raises(PermissionError):
        supervisor_workspace(personas.alice, membership(personas.alice))


def _rate(user, session, overall):
    from openipt.treatment import fidelity

    scale = fidelity.scale_to_use(user, session)
    answers = dict.fromkeys((item.code for item in scale.items), None)
    data = fidelity.RatingData(answers=answers, overall=overall)
    return fidelity.fidelity_rating_save(actor=user, session=session, version=0, data=data)


def test_the_therapists_self_rating_shows_only_beside_the_supervisors_own(personas):
    from django.utils import timezone

    from openipt.treatment import services
    from openipt.treatment.tests import factories

    course = factories.make_course(personas.alice, personas.dana)
    session = factories.make_session(
        personas.alice, course, 1, starts_at=timezone.now() - dt.timedelta(days=1)
    )
    session = services.session_sign(actor=personas.alice, session=session, version=1)
    _rate(personas.alice, session, 3)
    bob = membership(personas.bob)
    [panel] = supervisor_workspace(personas.bob, bob).panels
    assert panel.ratings == []
    assert [s.pk for s in panel.to_rate] == [session.pk]

    _rate(personas.bob, session, 1)

    [panel] = supervisor_workspace(personas.bob, bob).panels
    assert panel.to_rate == []
    assert [(p.supervisor_overall, p.therapist_overall) for p in panel.ratings] == [(1, 3)]
