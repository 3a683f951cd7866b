"""Who sees the practice outcome dashboard, and which courses it counts for them."""

from __future__ import annotations

import pytest

from openipt.accounts import policy
from openipt.accounts.models import Membership
from openipt.testing.personas import make_staff
from openipt.treatment.models import Course
from openipt.treatment.tests.factories import make_course

pytestmark = pytest.mark.django_db


def test_administrators_and_supervisors_only(personas):
    member = personas.membership
    assert policy.can_see_outcomes(member(personas.adam))
    assert policy.can_see_outcomes(member(personas.bob))
    assert not policy.can_see_outcomes(member(personas.alice))
    assert not policy.can_see_outcomes(member(personas.charlie))
    assert not policy.can_see_outcomes(None)
    bob = member(personas.bob)
    bob.is_active = False
    assert not policy.can_see_outcomes(bob)
    assert not policy.can_see_outcomes(Membership(kind=Membership.Kind.CLIENT, is_admin=True))


def test_courses_counted_follow_the_role(personas):
    dana_course = make_course(personas.alice, personas.dana)
    eve = make_staff(personas.practice, "eve@riverside.test", "Eve Clinician")
    from openipt.testing.personas import make_client

    eve_course = make_course(eve, make_client(personas.practice, eve, given="E", family="C"))
    erin_course = make_course(personas.charlie, personas.erin)

    def counted(user):
        q = policy.outcome_courses_q(personas.membership(user))
        return set(Course.objects.filter(q).values_list("pk", flat=True))

    assert counted(personas.adam) == {dana_course.pk, eve_course.pk}
    assert counted(personas.bob) == {dana_course.pk}
    assert counted(personas.alice) == set()
    assert counted(personas.charlie) == set()  # a clinician elsewhere: not even their own
    assert erin_course.pk not in counted(personas.adam)


def test_clinicians_listed_follow_the_role(personas):
    def listed(user):
        q = policy.outcome_clinicians_q(personas.membership(user))
        return set(Membership.objects.filter(q).values_list("user__email", flat=True))

    assert listed(personas.bob) == {"alice@riverside.test"}
    assert "charlie@hilltop.test" not in listed(personas.adam)
    assert "alice@riverside.test" in listed(personas.adam)
    assert listed(personas.alice) == set()
