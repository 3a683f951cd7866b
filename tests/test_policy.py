"""The authorisation policy, rule by rule (openipt/accounts/policy.py).

The permission matrix checks every URL by persona; these check every branch of the policy
functions themselves: deny by default, care team read and write, supervision read only,
admins without clinical access, and nothing across practices.
"""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest
import time_machine
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone

from openipt.accounts import policy
from openipt.accounts.models import Membership, Supervision, User
from openipt.clients.models import CareTeamMember, Client, EmergencyAccess
from openipt.testing.personas import PASSWORD, make_client, make_staff

pytestmark = pytest.mark.django_db


def _member(user: User) -> Membership:
    return Membership.objects.get(user=user)


def _fresh(user: User) -> User:
    """The user as a new request would load it (no membership cached on the object)."""
    return User.objects.get(pk=user.pk)


def _client_member(personas) -> Membership:
    user = User.objects.create_user("dana.portal@riverside.test", PASSWORD, full_name="Dana")
    return Membership.objects.create(
        user=user, practice=personas.practice, kind=Membership.Kind.CLIENT
    )


def _roleless_staff(personas) -> Membership:
    user = make_staff(personas.practice, "rita@riverside.test", "Rita Reception", clinician=False)
    return _member(user)


def _supervisor_only(personas) -> Membership:
    user = make_staff(
        personas.practice, "sam@riverside.test", "Sam Supervisor", supervisor=True,
        clinician=False,
    )  # fmt: skip
    return _member(user)


def _reachable(membership: Membership | None, *, write: bool) -> set[Client]:
    return set(Client.objects.filter(policy.client_access_q(membership, write=write)))


# --- Memberships ------------------------------------------------------------------------


def test_no_user_and_anonymous_users_have_no_membership():
    assert policy.active_membership(None) is None
    assert policy.active_membership(AnonymousUser()) is None


def test_an_inactive_user_has_no_membership(personas):
    alice = _fresh(personas.alice)
    alice.is_active = False
    assert policy.active_membership(alice) is None


def test_the_active_membership_is_found_once_and_then_cached(personas, django_assert_num_queries):
    alice = _fresh(personas.alice)
    with django_assert_num_queries(1):
        found = policy.active_membership(alice)
    assert found == _member(personas.alice)
    with django_assert_num_queries(0):
        assert policy.active_membership(alice) is found


def test_an_inactive_membership_is_no_membership_and_that_is_cached_too(
    personas, django_assert_num_queries
):
    Membership.objects.filter(user=personas.alice).update(is_active=False)
    alice = _fresh(personas.alice)
    assert policy.active_membership(alice) is None
    with django_assert_num_queries(0):
        assert policy.active_membership(alice) is None


def test_staff_membership_is_for_staff_only(personas):
    assert policy.staff_membership(_fresh(personas.alice)) == _member(personas.alice)
    assert policy.staff_membership(_client_member(personas).user) is None
    assert policy.staff_membership(None) is None


def test_portal_membership_is_for_clients_only(personas):
    client_member = _client_member(personas)
    assert policy.portal_membership(_fresh(client_member.user)) == client_member
    assert policy.portal_membership(_fresh(personas.alice)) is None
    assert policy.portal_membership(None) is None


# --- Practice roles ---------------------------------------------------------------------


def test_only_an_admin_manages_the_practice(personas):
    assert policy.can_manage_practice(_member(personas.adam))
    assert not policy.can_manage_practice(_member(personas.alice))
    assert not policy.can_manage_practice(_member(personas.bob))
    assert not policy.can_manage_practice(None)


def test_a_client_membership_never_manages_the_practice(personas):
    member = _client_member(personas)
    member.is_admin = True  # not storable (a check constraint), but the policy must not care
    assert not policy.can_manage_practice(member)


def test_clinicians_and_admins_create_clients(personas):
    assert policy.can_create_client(_member(personas.alice))
    assert policy.can_create_client(_member(personas.adam))
    assert not policy.can_create_client(_supervisor_only(personas))
    assert not policy.can_create_client(_roleless_staff(personas))
    assert not policy.can_create_client(_client_member(personas))
    assert not policy.can_create_client(None)


def test_any_staff_role_may_be_on_a_care_team(personas):
    assert policy.can_be_on_care_team(_member(personas.alice))
    assert policy.can_be_on_care_team(_member(personas.adam))
    assert policy.can_be_on_care_team(_supervisor_only(personas))
    assert not policy.can_be_on_care_team(_roleless_staff(personas))
    assert not policy.can_be_on_care_team(_client_member(personas))
    assert not policy.can_be_on_care_team(None)


def test_an_inactive_member_may_not_join_a_care_team(personas):
    alice = _member(personas.alice)
    alice.is_active = False
    assert not policy.can_be_on_care_team(alice)


def test_admins_and_clinicians_triage_consultations(personas):
    assert policy.can_triage_consultations(_member(personas.alice))
    assert policy.can_triage_consultations(_member(personas.adam))
    assert not policy.can_triage_consultations(_supervisor_only(personas))
    assert not policy.can_triage_consultations(_roleless_staff(personas))
    assert not policy.can_triage_consultations(_client_member(personas))
    assert not policy.can_triage_consultations(None)
    adam = _member(personas.adam)
    adam.is_active = False
    assert not policy.can_triage_consultations(adam)


# --- Client access ----------------------------------------------------------------------


def test_the_care_team_reads_and_writes(personas):
    alice = _member(personas.alice)
    assert _reachable(alice, write=False) == {personas.dana}
    assert _reachable(alice, write=True) == {personas.dana}
    assert policy.can_access_client(alice, personas.dana, write=False)
    assert policy.can_access_client(alice, personas.dana, write=True)


def test_a_supervisor_reads_the_supervisees_clients_but_never_writes(personas):
    bob = _member(personas.bob)
    assert _reachable(bob, write=False) == {personas.dana}
    assert _reachable(bob, write=True) == set()
    assert policy.can_access_client(bob, personas.dana, write=False)
    assert not policy.can_access_client(bob, personas.dana, write=True)


def test_an_ended_supervision_gives_no_access(personas):
    Supervision.objects.filter(supervisor=_member(personas.bob)).update(is_active=False)
    bob = _member(personas.bob)
    assert _reachable(bob, write=False) == set()
    assert not policy.can_access_client(bob, personas.dana, write=False)


def test_a_supervisor_reaches_nothing_through_a_supervisee_who_left(personas):
    Membership.objects.filter(user=personas.alice).update(is_active=False)
    bob = _member(personas.bob)
    assert _reachable(bob, write=False) == set()
    assert not policy.can_access_client(bob, personas.dana, write=False)


def test_leaving_the_care_team_ends_access_for_the_member_and_the_supervisor(personas):
    CareTeamMember.objects.filter(member=_member(personas.alice)).update(is_active=False)
    for user in (personas.alice, personas.bob):
        member = _member(user)
        assert _reachable(member, write=False) == set()
        assert not policy.can_access_client(member, personas.dana, write=False)


def test_a_clinician_off_the_care_team_has_no_access(personas):
    other = _member(make_staff(personas.practice, "olga@riverside.test", "Olga Other"))
    assert _reachable(other, write=False) == set()
    assert not policy.can_access_client(other, personas.dana, write=False)
    assert not policy.can_access_client(other, personas.dana, write=True)


def test_an_admin_has_no_clinical_access_by_the_role(personas):
    adam = _member(personas.adam)
    assert _reachable(adam, write=False) == set()
    assert not policy.can_access_client(adam, personas.dana, write=False)


def test_nothing_crosses_practices(personas):
    charlie = _member(personas.charlie)
    assert _reachable(charlie, write=False) == {personas.erin}
    assert not policy.can_access_client(charlie, personas.dana, write=False)
    assert not policy.can_access_client(_member(personas.alice), personas.erin, write=False)


def test_a_care_team_row_in_another_practice_does_not_open_the_client(personas):
    """Even a (wrongly) cross-practice care-team row gives no access: the practice decides."""
    CareTeamMember.objects.create(
        client=personas.erin,
        member=_member(personas.alice),
        added_by=personas.charlie,
    )
    alice = _member(personas.alice)
    assert _reachable(alice, write=True) == {personas.dana}
    assert not policy.can_access_client(alice, personas.erin, write=True)


def test_no_membership_inactive_staff_and_clients_reach_no_client(personas):
    inactive = _member(personas.alice)
    inactive.is_active = False
    for membership in (None, inactive, _client_member(personas)):
        assert _reachable(membership, write=False) == set()
        assert not policy.can_access_client(membership, personas.dana, write=False)


def test_the_filter_and_the_single_check_always_agree(personas):
    olga = make_staff(personas.practice, "olga@riverside.test", "Olga Other")
    frank = make_client(personas.practice, olga, given="Frank", family="Extra")
    clients = [personas.dana, personas.erin, frank]
    users = [personas.alice, personas.bob, personas.charlie, personas.adam, olga]
    for user in users:
        membership = _member(user)
        for write in (False, True):
            reachable = _reachable(membership, write=write)
            for client in clients:
                assert policy.can_access_client(membership, client, write=write) is (
                    client in reachable
                ), (user.email, client, write)


# --- Emergency access (docs/adr/0016-emergency-access.md) -------------------------------


def _break_glass(user: User, client: Client, *, minutes: int = 60) -> EmergencyAccess:
    """An emergency access row as the service writes one (the service is tested elsewhere)."""
    member = _member(user)
    now = timezone.now()
    return EmergencyAccess.objects.create(
        practice_id=client.practice_id, client=client, membership=member,
        reason="A reason long enough", started_at=now - dt.timedelta(minutes=1),
        expires_at=now + dt.timedelta(minutes=minutes),
    )  # fmt: skip


def test_an_unexpired_emergency_access_gives_read_never_write(personas):
    _break_glass(personas.adam, personas.dana)
    adam = _member(personas.adam)
    assert _reachable(adam, write=False) == {personas.dana}
    assert _reachable(adam, write=True) == set()
    assert policy.can_access_client(adam, personas.dana)
    assert not policy.can_access_client(adam, personas.dana, write=True)


def test_an_emergency_access_ends_when_it_expires(personas):
    access = _break_glass(personas.adam, personas.dana)
    with time_machine.travel(access.expires_at + dt.timedelta(seconds=1), tick=False):
        adam = _member(personas.adam)
        assert _reachable(adam, write=False) == set()
        assert not policy.can_access_client(adam, personas.dana)


def test_an_emergency_access_row_in_another_practice_opens_nothing(personas):
    """Even a (wrongly) cross-practice row gives no access: the practice decides."""
    _break_glass(personas.adam, personas.erin)
    adam = _member(personas.adam)
    assert _reachable(adam, write=False) == set()
    assert not policy.can_access_client(adam, personas.erin)


def test_an_emergency_access_of_a_member_who_left_opens_nothing(personas):
    _break_glass(personas.adam, personas.dana)
    Membership.objects.filter(user=personas.adam).update(is_active=False)
    adam = _member(personas.adam)
    assert _reachable(adam, write=False) == set()
    assert not policy.can_access_client(adam, personas.dana)


def test_an_emergency_access_ends_with_the_role_that_opened_it(personas):
    """Adam opened it as an administrator; without any clinical or admin role it is void."""
    _break_glass(personas.adam, personas.dana)
    Membership.objects.filter(user=personas.adam).update(is_admin=False)
    adam = _member(personas.adam)
    assert _reachable(adam, write=False) == set()
    assert not policy.can_access_client(adam, personas.dana)


def test_who_may_break_glass(personas):
    assert policy.can_open_emergency_access(_member(personas.adam), personas.dana)
    olga = _member(make_staff(personas.practice, "olga@riverside.test", "Olga Other"))
    assert policy.can_open_emergency_access(olga, personas.dana)
    assert policy.can_open_emergency_access(_supervisor_only(personas), personas.dana)
    # Those who can read the record already do not need it.
    assert not policy.can_open_emergency_access(_member(personas.alice), personas.dana)
    assert not policy.can_open_emergency_access(_member(personas.bob), personas.dana)
    _break_glass(personas.adam, personas.dana)
    assert not policy.can_open_emergency_access(_member(personas.adam), personas.dana)
    # Nobody outside the practice, without a role, or without a staff membership.
    assert not policy.can_open_emergency_access(_member(personas.charlie), personas.dana)
    assert not policy.can_open_emergency_access(_roleless_staff(personas), personas.dana)
    assert not policy.can_open_emergency_access(_client_member(personas), personas.dana)
    assert not policy.can_open_emergency_access(None, personas.dana)


def test_who_reviews_an_emergency_access(personas):
    olgas = _break_glass(
        make_staff(personas.practice, "olga@riverside.test", "Olga"), personas.dana
    )
    adams = _break_glass(personas.adam, personas.dana)
    adam = _member(personas.adam)
    assert policy.can_review_emergency_access(adam, olgas)
    assert policy.can_review_emergency_access(adam, adams)  # the only administrator
    for member in (_member(personas.alice), _member(personas.bob), _member(personas.charlie), None):
        assert not policy.can_review_emergency_access(member, olgas)
    zoe = _member(make_staff(personas.practice, "zoe@riverside.test", "Zoe", admin=True))
    assert not policy.can_review_emergency_access(adam, adams)  # now Zoe can
    assert policy.can_review_emergency_access(zoe, adams)
    other_admin = _member(
        make_staff(personas.other_practice, "hal@hilltop.test", "Hal", admin=True)
    )
    assert not policy.can_review_emergency_access(other_admin, olgas)
    zoe.is_active = False
    assert not policy.can_review_emergency_access(zoe, adams)


def test_the_filter_and_the_single_check_agree_under_emergency_access(personas):
    _break_glass(personas.adam, personas.dana)
    _break_glass(personas.charlie, personas.dana)
    for user in (personas.adam, personas.charlie, personas.alice):
        membership = _member(user)
        for write in (False, True):
            reachable = _reachable(membership, write=write)
            for client in (personas.dana, personas.erin):
                assert policy.can_access_client(membership, client, write=write) is (
                    client in reachable
                ), (user.email, client, write)


# --- Risk alerts ------------------------------------------------------------------------


@pytest.fixture
def alert(personas):
    from openipt.measures import services
    from openipt.measures.models import Instrument, RiskAlert
    from openipt.measures.scoring import answers_from_entries
    from openipt.treatment.tests.factories import make_course

    course = make_course(personas.alice, personas.dana, planned_sessions=12)
    phq9 = Instrument.objects.get(code="PHQ-9", practice__isnull=True)
    services.administration_enter(
        actor=personas.alice,
        course=course,
        instrument=phq9,
        answers=answers_from_entries(phq9.parsed, [0, 0, 0, 0, 0, 0, 0, 0, 2]),
    )
    return RiskAlert.objects.get()


def _alerts_for(membership: Membership | None):
    from openipt.measures.models import RiskAlert

    return set(RiskAlert.objects.filter(policy.alert_recipient_q(membership)))


def test_the_responsible_clinician_receives_the_alert(personas, alert):
    assert _alerts_for(_member(personas.alice)) == {alert}


def test_a_supervisor_receives_the_alert_only_once_escalated(personas, alert):
    bob = _member(personas.bob)
    assert _alerts_for(bob) == set()
    alert.escalated_to.add(bob)
    assert _alerts_for(bob) == {alert}


def test_others_never_receive_the_alert(personas, alert):
    charlie = _member(personas.charlie)
    alert.escalated_to.add(charlie)  # even a wrong escalation does not cross practices
    assert _alerts_for(charlie) == set()
    assert _alerts_for(_member(personas.adam)) == set()
    assert _alerts_for(None) == set()
    assert _alerts_for(_client_member(personas)) == set()


def test_a_clinician_who_left_receives_no_alert(personas, alert):
    alice = _member(personas.alice)
    alice.is_active = False
    assert _alerts_for(alice) == set()


# --- Navigation -------------------------------------------------------------------------


def test_navigation_follows_the_roles(personas):
    alice, bob, adam = (_member(u) for u in (personas.alice, personas.bob, personas.adam))
    supervisor_only, roleless = _supervisor_only(personas), _roleless_staff(personas)
    client_member = _client_member(personas)
    seen = {
        name: {
            label
            for label, member in [
                ("clinician", alice),
                ("clinician+supervisor", bob),
                ("admin", adam),
                ("supervisor", supervisor_only),
                ("no role", roleless),
                ("client", client_member),
                ("nobody", None),
            ]
            if check(member)
        }
        for name, check in [
            ("dashboard", policy.can_see_dashboard),
            ("clients", policy.can_see_clients),
            ("caseload", policy.can_see_caseload),
            ("schedule", policy.can_see_schedule),
            ("alerts", policy.can_see_alerts),
            ("clinical columns", policy.can_see_clinical_columns),
        ]
    }
    staff = {"clinician", "clinician+supervisor", "admin", "supervisor", "no role"}
    assert seen["dashboard"] == staff
    assert seen["clients"] == staff - {"no role"}
    assert seen["caseload"] == {"clinician", "clinician+supervisor"}
    assert seen["schedule"] == {"clinician", "clinician+supervisor"}
    assert seen["alerts"] == {"clinician", "clinician+supervisor", "supervisor"}
    assert seen["clinical columns"] == {"clinician", "clinician+supervisor", "supervisor"}


# --- Separation of duties (docs/adr/0015-separation-of-duties.md) -----------------------


def test_admins_change_the_access_of_others_in_their_practice_only(personas):
    adam, alice = _member(personas.adam), _member(personas.alice)
    assert policy.can_change_staff_access(adam, alice)
    assert not policy.can_change_staff_access(adam, adam)
    assert not policy.can_change_staff_access(alice, adam)
    assert not policy.can_change_staff_access(adam, _member(personas.charlie))


def test_the_admin_being_removed_may_approve_the_removal(personas):
    zoe = _member(make_staff(personas.practice, "zoe@riverside.test", "Zoe", admin=True))
    adam = _member(personas.adam)
    for kind in ("admin_removal", "deactivation"):
        removal = SimpleNamespace(
            practice_id=personas.practice.pk, requested_by_id=zoe.user_id,
            membership_id=adam.pk, supervisor_id=None, kind=kind,
        )  # fmt: skip
        assert policy.can_decide_grant(adam, removal, approve=True)
        assert not policy.can_decide_grant(zoe, removal, approve=True)  # she asked for it


def test_deciding_a_grant_takes_an_uninvolved_admin_to_approve(personas):
    adam, alice, bob = _member(personas.adam), _member(personas.alice), _member(personas.bob)
    grant = SimpleNamespace(
        practice_id=personas.practice.pk, requested_by_id=personas.adam.pk,
        membership_id=alice.pk, supervisor_id=bob.pk, kind="supervision",
    )  # fmt: skip
    assert not policy.can_decide_grant(alice, grant, approve=False)
    assert policy.can_decide_grant(adam, grant, approve=False)
    assert not policy.can_decide_grant(adam, grant, approve=True)  # he asked for it
    zoe = _member(make_staff(personas.practice, "zoe@riverside.test", "Zoe", admin=True))
    assert policy.can_decide_grant(zoe, grant, approve=True)


def test_no_membership_may_approve_any_app():
    from django.db.models import Q

    from openipt.accounts import policy

    assert policy.approvable_apps_q(None) == Q(pk__in=[])
