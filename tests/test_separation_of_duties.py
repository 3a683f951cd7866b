"""Separation of duties (docs/adr/0015-separation-of-duties.md, docs/quality.md S16).

The access probe: Adam (admin only) ticked "Supervisor" on his own membership, then named
himself Alice's supervisor, and Dana's record opened to him. Nobody may change their own
roles or supervision; with two administrators any role (the admin role too), a
supervision, an invitation with any role, removing the admin role and deactivating an
administrator wait for another; a single administrator's changes take effect at once and
are listed, like every change, in the weekly summary to all admins.
"""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.test import Client as HttpClient
from django.urls import reverse
from django.utils import timezone

from openipt.accounts import policy, services
from openipt.accounts.models import (
    Invitation,
    Membership,
    RoleGrant,
    StaffChangeSummary,
    Supervision,
    User,
)
from openipt.accounts.tasks import send_weekly_staff_summaries
from openipt.audit.models import AuditEvent
from openipt.testing.personas import PASSWORD, Personas, make_staff

pytestmark = pytest.mark.django_db

LONDON = ZoneInfo("Europe/London")
# A Wednesday, and the Monday after it (the personas' practice is in Europe/London).
WEDNESDAY = dt.datetime(2026, 11, 4, 10, 0, tzinfo=LONDON)
NEXT_MONDAY = dt.datetime(2026, 11, 9, 0, 5, tzinfo=LONDON)


def m(user: User) -> Membership:
    return Membership.objects.get(user=user)


def browser(user: User) -> HttpClient:
    http = HttpClient()
    http.force_login(user)
    return http


def update(actor: User, member: Membership, *, supervisors=None, **roles: bool):
    current = {
        "is_admin": member.is_admin,
        "is_supervisor": member.is_supervisor,
        "is_clinician": member.is_clinician,
    }
    if supervisors is None:
        supervisors = list(
            Membership.objects.filter(
                supervisions_given__supervisee=member, supervisions_given__is_active=True
            )
        )
    return services.staff_update(
        actor=actor, membership=member, supervisors=supervisors, **(current | roles)
    )


def admin_events(obj) -> list[str]:
    return list(
        AuditEvent.objects.filter(action=AuditEvent.Action.ADMIN, object_id=str(obj.uuid))
        .order_by("id")
        .values_list("detail", flat=True)
    )


@pytest.fixture
def zoe(personas: Personas) -> User:
    """A second administrator of Alice's practice."""
    return make_staff(
        personas.practice, "zoe@riverside.test", "Zoe Admin", admin=True, clinician=False
    )


@pytest.fixture
def carla(personas: Personas) -> User:
    return make_staff(
        personas.practice, "carla@riverside.test", "Carla Sup", supervisor=True, clinician=False
    )


def dana_url(personas: Personas) -> str:
    return reverse("clients:detail", kwargs={"client_uuid": personas.dana.uuid})


# Rule 1: nobody changes their own roles or supervision.


def test_service_refuses_own_roles_next_to_the_field(personas):
    adam_m = m(personas.adam)
    before = AuditEvent.objects.count()
    with pytest.raises(ValidationError) as refused:
        update(personas.adam, adam_m, is_supervisor=True)
    assert "is_supervisor" in refused.value.message_dict
    assert "own roles" in refused.value.message_dict["is_supervisor"][0]
    adam_m.refresh_from_db()
    assert not adam_m.is_supervisor
    assert AuditEvent.objects.count() == before
    assert not RoleGrant.objects.exists()


def test_service_refuses_own_supervision_as_supervisee(personas, carla):
    adam_m = m(personas.adam)
    with pytest.raises(ValidationError) as refused:
        update(personas.adam, adam_m, supervisors=[m(carla)])
    assert "supervisors" in refused.value.message_dict
    assert not Supervision.objects.filter(supervisee=adam_m).exists()


def test_service_refuses_adding_or_ending_oneself_as_supervisor(personas):
    # Even once Adam holds the supervisor role (given by someone else), he cannot name
    # himself anyone's supervisor, nor end a supervision of his own.
    Membership.objects.filter(user=personas.adam).update(is_supervisor=True)
    adam_m, alice_m, bob_m = m(personas.adam), m(personas.alice), m(personas.bob)
    with pytest.raises(ValidationError) as refused:
        update(personas.adam, alice_m, supervisors=[bob_m, adam_m])
    assert "yourself" in refused.value.message_dict["supervisors"][0]
    assert not Supervision.objects.filter(supervisor=adam_m).exists()

    Supervision.objects.create(practice=personas.practice, supervisor=adam_m, supervisee=alice_m)
    with pytest.raises(ValidationError):
        update(personas.adam, alice_m, supervisors=[bob_m])
    assert Supervision.objects.get(supervisor=adam_m).is_active


def test_own_staff_page_shows_roles_read_only_with_an_explanation(personas):
    page = browser(personas.adam).get(f"/staff/{m(personas.adam).uuid}/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "you cannot change them here" in text
    assert "another administrator must make any change" in text
    for name in ("is_admin", "is_supervisor", "is_clinician"):
        tag = re.search(rf'<input[^>]*name="{name}"[^>]*>', text).group(0)
        assert "disabled" in tag
    assert "Save changes" not in text


def test_the_probe_is_refused_on_the_pages_and_dana_stays_closed(personas):
    """Adam ticks Supervisor on his own membership, then names himself Alice's supervisor."""
    adam = browser(personas.adam)
    adam_m, alice_m, bob_m = m(personas.adam), m(personas.alice), m(personas.bob)
    own = adam.post(f"/staff/{adam_m.uuid}/", {"is_admin": "on", "is_supervisor": "on"})
    assert own.status_code == 200
    assert "is_supervisor" in own.context["form"].errors
    assert b"You cannot change your own roles" in own.content
    adam_m.refresh_from_db()
    assert not adam_m.is_supervisor

    Membership.objects.filter(pk=adam_m.pk).update(is_supervisor=True)  # as if it had worked
    other = adam.post(
        f"/staff/{alice_m.uuid}/",
        {"is_clinician": "on", "supervisors": [str(bob_m.uuid), str(adam_m.uuid)]},
    )
    assert other.status_code == 200
    assert "supervisors" in other.context["form"].errors
    assert not Supervision.objects.filter(supervisor=adam_m).exists()
    assert adam.get(dana_url(personas)).status_code == 404


# Rule 2: with two administrators, a second one approves.


def test_clinical_role_waits_for_the_other_admin(personas, zoe):
    alice_m = m(personas.alice)
    result = update(zoe, alice_m, is_supervisor=True)
    assert len(result.pending) == 1
    grant = result.pending[0]
    alice_m.refresh_from_db()
    assert not alice_m.is_supervisor  # not in effect yet
    assert grant.kind == RoleGrant.Kind.SUPERVISOR
    assert grant.requested_by == zoe

    with pytest.raises(ValidationError, match="You asked for this change"):
        services.role_grant_approve(actor=zoe, grant=grant)
    alice_m.refresh_from_db()
    assert not alice_m.is_supervisor

    services.role_grant_approve(actor=personas.adam, grant=grant)
    alice_m.refresh_from_db()
    assert alice_m.is_supervisor
    grant.refresh_from_db()
    assert (grant.decision, grant.decided_by) == (RoleGrant.Decision.APPROVED, personas.adam)
    assert admin_events(grant) == [
        "requested: supervisor role for alice@riverside.test",
        "approved: supervisor role for alice@riverside.test",
    ]
    with pytest.raises(ValidationError, match="already been decided"):
        services.role_grant_approve(actor=personas.adam, grant=grant)


def test_refusal_changes_nothing(personas, zoe):
    bob_m = m(personas.bob)
    Membership.objects.filter(pk=bob_m.pk).update(is_clinician=False)
    grant = update(zoe, m(personas.bob), is_clinician=True).pending[0]
    services.role_grant_refuse(actor=personas.adam, grant=grant, reason="Not yet registered")
    bob_m.refresh_from_db()
    assert not bob_m.is_clinician
    grant.refresh_from_db()
    assert grant.decision == RoleGrant.Decision.REFUSED
    assert grant.reason == "Not yet registered"
    assert admin_events(grant)[-1] == "refused: clinician role for bob@riverside.test"
    assert "registered" not in "".join(admin_events(grant))  # free text stays out of the log
    with pytest.raises(ValidationError):
        services.role_grant_approve(actor=personas.adam, grant=grant)


def test_the_person_a_grant_concerns_cannot_approve_it(personas, zoe):
    grant = update(zoe, m(personas.adam), is_clinician=True).pending[0]
    with pytest.raises(ValidationError, match="concerns you"):
        services.role_grant_approve(actor=personas.adam, grant=grant)
    assert not m(personas.adam).is_clinician


def test_the_database_refuses_an_approval_by_the_requester(personas, zoe):
    grant = update(zoe, m(personas.alice), is_supervisor=True).pending[0]
    with pytest.raises(IntegrityError), transaction.atomic():
        RoleGrant.objects.filter(pk=grant.pk).update(
            decision="approved", decided_by=zoe, decided_at=timezone.now()
        )


def test_supervision_waits_for_the_other_admin(personas, zoe, carla):
    alice_m, bob_m, carla_m = m(personas.alice), m(personas.bob), m(carla)
    result = update(zoe, alice_m, supervisors=[bob_m, carla_m])
    grant = result.pending[0]
    assert (grant.kind, grant.supervisor, grant.membership) == ("supervision", carla_m, alice_m)
    assert not Supervision.objects.filter(supervisor=carla_m).exists()
    assert not policy.can_access_client(carla_m, personas.dana, write=False)
    with pytest.raises(ValidationError):
        services.role_grant_approve(actor=zoe, grant=grant)

    services.role_grant_approve(actor=personas.adam, grant=grant)
    assert Supervision.objects.get(supervisor=carla_m, supervisee=alice_m).is_active
    assert policy.can_access_client(m(carla), personas.dana, write=False)
    assert admin_events(grant)[-1] == (
        "approved: supervision of alice@riverside.test by carla@riverside.test"
    )


def test_refused_supervision_is_never_created(personas, zoe, carla):
    grant = update(zoe, m(personas.alice), supervisors=[m(personas.bob), m(carla)]).pending[0]
    services.role_grant_refuse(actor=personas.adam, grant=grant)
    assert not Supervision.objects.filter(supervisor=m(carla)).exists()


def test_removals_need_no_approval(personas, zoe):
    bob_m = m(personas.bob)
    result = update(zoe, bob_m, is_supervisor=False)
    assert result.pending == ()
    bob_m.refresh_from_db()
    assert not bob_m.is_supervisor
    result = update(zoe, m(personas.alice), supervisors=[])
    assert not Supervision.objects.filter(supervisee=m(personas.alice), is_active=True).exists()
    assert "supervision ended by bob@riverside.test" in admin_events(m(personas.alice))[-1]


def test_unticking_a_waiting_role_withdraws_the_request(personas, zoe):
    alice_m = m(personas.alice)
    grant = update(zoe, alice_m, is_supervisor=True).pending[0]
    update(zoe, alice_m, is_supervisor=False)
    grant.refresh_from_db()
    assert grant.decision == RoleGrant.Decision.REFUSED
    assert admin_events(grant)[-1] == "withdrawn: supervisor role for alice@riverside.test"


def test_pages_two_admins_request_then_approve(personas, zoe):
    alice_m = m(personas.alice)
    zoe_http, adam_http = browser(zoe), browser(personas.adam)
    data = {"is_clinician": "on", "is_supervisor": "on", "supervisors": [str(m(personas.bob).uuid)]}
    response = zoe_http.post(f"/staff/{alice_m.uuid}/", data, follow=True)
    assert b"waits for another administrator&#x27;s approval" in response.content
    alice_m.refresh_from_db()
    assert not alice_m.is_supervisor
    assert b"Waiting for approval" in zoe_http.get(f"/staff/{alice_m.uuid}/").content
    assert b"1 waiting" in zoe_http.get("/staff/").content

    zoe_page = zoe_http.get("/staff/grants/").content.decode()
    assert "Supervisor role for Alice Clinician" in zoe_page
    assert "You asked for this, so another administrator must approve it." in zoe_page
    assert "/approve/" not in zoe_page
    grant = RoleGrant.objects.get()
    assert zoe_http.post(f"/staff/grants/{grant.uuid}/approve/").status_code == 302
    alice_m.refresh_from_db()
    assert not alice_m.is_supervisor

    adam_page = adam_http.get("/staff/grants/").content.decode()
    assert f"/staff/grants/{grant.uuid}/approve/" in adam_page
    done = adam_http.post(f"/staff/grants/{grant.uuid}/approve/", follow=True)
    assert b"The change has taken effect" in done.content
    alice_m.refresh_from_db()
    assert alice_m.is_supervisor
    assert "approved: supervisor role for alice@riverside.test" in done.content.decode()


def test_page_refuse_with_a_reason(personas, zoe):
    grant = update(zoe, m(personas.alice), is_supervisor=True).pending[0]
    response = browser(personas.adam).post(
        f"/staff/grants/{grant.uuid}/refuse/", {"reason": "Ask again in May"}, follow=True
    )
    assert b"Nothing has changed" in response.content
    assert b"Ask again in May" in response.content  # recent decisions
    assert not m(personas.alice).is_supervisor


def test_other_practice_admin_cannot_decide(personas, zoe):
    grant = update(zoe, m(personas.alice), is_supervisor=True).pending[0]
    hanna = make_staff(personas.other_practice, "hanna@hilltop.test", "Hanna", admin=True)
    http = browser(hanna)
    assert http.post(f"/staff/grants/{grant.uuid}/approve/").status_code == 404
    assert http.post(f"/staff/grants/{grant.uuid}/refuse/").status_code == 404
    assert "Alice" not in http.get("/staff/grants/").content.decode()
    grant.refresh_from_db()
    assert grant.is_pending


# Invitations with a clinical role.


def test_invitation_with_clinical_role_is_sent_only_after_approval(
    personas, zoe, client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        invitation, token = services.invitation_create(
            actor=zoe, practice=personas.practice, email="nina@riverside.test",
            full_name="Nina New", is_admin=False, is_supervisor=False, is_clinician=True,
        )  # fmt: skip
    assert token == ""
    assert mail.outbox == []
    grant = RoleGrant.objects.get(invitation=invitation)
    assert grant.is_pending
    with pytest.raises(ValidationError):
        services.role_grant_approve(actor=zoe, grant=grant)

    with django_capture_on_commit_callbacks(execute=True):
        services.role_grant_approve(actor=personas.adam, grant=grant)
    assert [message.to for message in mail.outbox] == [["nina@riverside.test"]]
    sent = re.search(r"/invitations/([^/\s]+)/", mail.outbox[0].body).group(1)
    response = client.post(
        f"/invitations/{sent}/",
        {"full_name": "Nina New", "password1": PASSWORD, "password2": PASSWORD},
    )
    assert response.status_code == 302
    assert m(User.objects.get(email="nina@riverside.test")).is_clinician
    assert admin_events(grant) == [
        "requested: invitation of nina@riverside.test with roles clinician",
        "approved: invitation of nina@riverside.test with roles clinician",
    ]


def test_refused_invitation_can_never_be_accepted(personas, zoe):
    invitation, _token = services.invitation_create(
        actor=zoe, practice=personas.practice, email="nina@riverside.test",
        full_name="Nina New", is_admin=False, is_supervisor=True, is_clinician=False,
    )  # fmt: skip
    grant = RoleGrant.objects.get(invitation=invitation)
    services.role_grant_refuse(actor=personas.adam, grant=grant)
    invitation.refresh_from_db()
    assert invitation.revoked_at is not None
    with pytest.raises(ValidationError):
        services.role_grant_approve(actor=personas.adam, grant=grant)


def test_invitation_page_says_it_waits(personas, zoe):
    response = browser(zoe).post(
        "/staff/invite/",
        {"email": "nina@riverside.test", "full_name": "Nina", "is_clinician": "on"},
        follow=True,
    )
    assert b"waits for another administrator" in response.content
    assert mail.outbox == []


def test_invitation_for_the_admin_role_alone_waits_with_two_admins(
    personas, zoe, django_capture_on_commit_callbacks
):
    # Hole 2: otherwise one admin invites an address they control as a fake second admin.
    with django_capture_on_commit_callbacks(execute=True):
        invitation, token = services.invitation_create(
            actor=zoe, practice=personas.practice, email="ola@riverside.test",
            full_name="Ola", is_admin=True, is_supervisor=False, is_clinician=False,
        )  # fmt: skip
    assert token == ""
    assert mail.outbox == []
    grant = RoleGrant.objects.get(invitation=invitation)
    assert (grant.kind, grant.is_pending) == (RoleGrant.Kind.INVITATION, True)
    page = browser(personas.adam).get("/staff/grants/").content.decode()
    assert "Invitation to ola@riverside.test (Administrator)" in page
    with django_capture_on_commit_callbacks(execute=True):
        services.role_grant_approve(actor=personas.adam, grant=grant)
    assert [message.to for message in mail.outbox] == [["ola@riverside.test"]]


def test_single_admin_invitation_for_the_admin_role_is_sent_at_once(
    personas, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        _invitation, token = services.invitation_create(
            actor=personas.adam, practice=personas.practice, email="ola@riverside.test",
            full_name="Ola", is_admin=True, is_supervisor=False, is_clinician=False,
        )  # fmt: skip
    assert token
    assert len(mail.outbox) == 1
    assert not RoleGrant.objects.exists()


def test_admin_role_waits_for_the_other_admin(personas, zoe):
    alice_m = m(personas.alice)
    grant = update(zoe, alice_m, is_admin=True).pending[0]
    assert grant.kind == RoleGrant.Kind.ADMIN
    alice_m.refresh_from_db()
    assert not alice_m.is_admin
    page = browser(zoe).get(f"/staff/{alice_m.uuid}/").content.decode()
    assert re.search(r'<input[^>]*name="is_admin"[^>]*checked', page)  # shown as waiting
    update(zoe, alice_m, is_admin=True)  # saving again keeps the request
    grant.refresh_from_db()
    assert grant.is_pending
    with pytest.raises(ValidationError, match="You asked for this change"):
        services.role_grant_approve(actor=zoe, grant=grant)
    services.role_grant_approve(actor=personas.adam, grant=grant)
    alice_m.refresh_from_db()
    assert alice_m.is_admin
    assert admin_events(grant)[-1] == "approved: admin role for alice@riverside.test"


def test_single_admin_gives_the_admin_role_at_once(personas):
    alice_m = m(personas.alice)
    assert update(personas.adam, alice_m, is_admin=True).pending == ()
    alice_m.refresh_from_db()
    assert alice_m.is_admin
    assert not RoleGrant.objects.exists()
    assert (
        "roles of alice@riverside.test: clinician -> admin,clinician" in (admin_events(alice_m)[-1])
    )


# Removing an administrator (hole 1: demote the other admin, then grant alone).


def test_removing_the_other_admins_role_waits_and_the_remover_cannot_approve(personas, zoe):
    adam_m = m(personas.adam)
    grant = update(zoe, adam_m, is_admin=False, is_clinician=True).pending
    removal = next(g for g in grant if g.kind == RoleGrant.Kind.ADMIN_REMOVAL)
    adam_m.refresh_from_db()
    assert adam_m.is_admin  # still an administrator
    assert policy.grants_need_second_admin(personas.practice.pk)
    # Zoe is still not the sole administrator: her grants keep waiting.
    assert update(zoe, m(personas.alice), is_supervisor=True).pending
    assert not m(personas.alice).is_supervisor
    with pytest.raises(ValidationError, match="You asked for this change"):
        services.role_grant_approve(actor=zoe, grant=removal)
    assert m(personas.adam).is_admin

    yuri = make_staff(personas.practice, "yuri@riverside.test", "Yuri", admin=True)
    services.role_grant_approve(actor=yuri, grant=removal)
    assert not m(personas.adam).is_admin
    assert admin_events(removal) == [
        "requested: removal of admin role from adam@riverside.test",
        "approved: removal of admin role from adam@riverside.test",
    ]


def test_the_admin_being_removed_may_agree_to_it(personas, zoe):
    """With two administrators, one cannot remove the other alone; the other may agree."""
    removal = next(
        g
        for g in update(zoe, m(personas.adam), is_admin=False, is_clinician=True).pending
        if g.kind == RoleGrant.Kind.ADMIN_REMOVAL
    )
    assert m(personas.adam).is_admin
    services.role_grant_approve(actor=personas.adam, grant=removal)
    assert not m(personas.adam).is_admin


def test_who_gains_may_not_approve_but_who_loses_may(personas, zoe):
    grant = update(zoe, m(personas.adam), is_clinician=True).pending[0]
    with pytest.raises(ValidationError, match="concerns you"):
        services.role_grant_approve(actor=personas.adam, grant=grant)
    assert not m(personas.adam).is_clinician


def test_ticking_the_admin_role_again_withdraws_a_waiting_removal(personas, zoe):
    yuri = make_staff(personas.practice, "yuri@riverside.test", "Yuri", admin=True)
    removal = update(zoe, m(yuri), is_admin=False).pending[0]
    page = browser(zoe).get(f"/staff/{m(yuri).uuid}/").content.decode()
    assert "Removal waiting for approval" in page
    update(zoe, m(yuri), is_admin=False)  # saving the page again keeps it
    removal.refresh_from_db()
    assert removal.is_pending
    update(zoe, m(yuri), is_admin=True)
    removal.refresh_from_db()
    assert removal.decision == RoleGrant.Decision.REFUSED
    assert m(yuri).is_admin


def test_deactivating_another_admin_waits_for_another_admins_approval(personas, zoe, client):
    adam_m = m(personas.adam)
    assert services.staff_deactivate(actor=zoe, membership=adam_m).is_active
    grant = RoleGrant.objects.get(kind=RoleGrant.Kind.DEACTIVATION)
    adam_m.refresh_from_db()
    assert adam_m.is_active
    assert User.objects.get(pk=personas.adam.pk).is_active
    response = browser(zoe).post(f"/staff/{adam_m.uuid}/deactivate/", follow=True)
    assert b"waits for another administrator" in response.content
    assert RoleGrant.objects.filter(kind=RoleGrant.Kind.DEACTIVATION).count() == 1
    with pytest.raises(ValidationError, match="You asked for this change"):
        services.role_grant_approve(actor=zoe, grant=grant)
    yuri = make_staff(personas.practice, "yuri@riverside.test", "Yuri", admin=True)
    assert (
        "Deactivation of administrator Adam" in browser(yuri).get("/staff/grants/").content.decode()
    )
    services.role_grant_approve(actor=yuri, grant=grant)
    adam_m.refresh_from_db()
    assert not adam_m.is_active
    assert not User.objects.get(pk=personas.adam.pk).is_active


# Hole 3: a request outlives its requester's admin role.


@pytest.mark.parametrize("how", ["demoted", "deactivated"])
def test_request_of_a_former_admin_cannot_be_approved_but_can_be_refused(personas, zoe, how):
    grant = update(zoe, m(personas.alice), is_supervisor=True).pending[0]
    if how == "demoted":
        Membership.objects.filter(user=zoe).update(is_admin=False, is_clinician=True)
    else:
        Membership.objects.filter(user=zoe).update(is_active=False)
    with pytest.raises(ValidationError, match="no longer is one"):
        services.role_grant_approve(actor=personas.adam, grant=grant)
    assert not m(personas.alice).is_supervisor
    services.role_grant_refuse(actor=personas.adam, grant=grant)
    grant.refresh_from_db()
    assert grant.decision == RoleGrant.Decision.REFUSED


# One administrator: at once, and said so.


def test_single_admin_grants_take_effect_at_once_and_the_page_says_so(personas, carla):
    adam = browser(personas.adam)
    alice_m = m(personas.alice)
    for url in ("/staff/", f"/staff/{alice_m.uuid}/", "/staff/grants/"):
        assert b"You are the only administrator" in adam.get(url).content
    response = adam.post(
        f"/staff/{alice_m.uuid}/",
        {"is_clinician": "on", "is_supervisor": "on", "supervisors": [str(m(carla).uuid)]},
    )
    assert response.status_code == 302
    alice_m.refresh_from_db()
    assert alice_m.is_supervisor
    assert Supervision.objects.get(supervisor=m(carla), supervisee=alice_m).is_active
    assert not RoleGrant.objects.exists()
    log = adam.get("/staff/grants/").content.decode()
    assert "roles of alice@riverside.test: clinician -&gt; supervisor,clinician" in log
    assert "supervision started by carla@riverside.test" in log


def test_review_page_lists_30_days_of_changes(personas):
    alice_m = m(personas.alice)
    with time_machine.travel(timezone.now() - dt.timedelta(days=40)):
        update(personas.adam, alice_m, is_supervisor=True)
    update(personas.adam, m(personas.bob), is_supervisor=False)
    page = browser(personas.adam).get("/staff/grants/").content.decode()
    assert "roles of bob@riverside.test" in page
    assert "roles of alice@riverside.test" not in page


def test_setup_grants_the_first_persons_roles_and_records_them(client):
    client.post(
        "/setup/",
        {"practice_name": "Lakeside", "time_zone": "Europe/Madrid", "full_name": "Rosa",
         "email": "rosa@lakeside.test", "password1": PASSWORD, "password2": PASSWORD,
         "sees_clients": "on"},
    )  # fmt: skip
    rosa = m(User.objects.get(email="rosa@lakeside.test"))
    assert (rosa.is_admin, rosa.is_clinician) == (True, True)
    assert AuditEvent.objects.filter(
        detail="practice set up; first administrator rosa@lakeside.test with roles admin,clinician"
    ).exists()


# The weekly summary.


def _a_week_of_changes(personas: Personas, zoe: User) -> None:
    with time_machine.travel(WEDNESDAY, tick=False):
        grant = update(zoe, m(personas.alice), is_supervisor=True).pending[0]
        services.role_grant_approve(actor=personas.adam, grant=grant)
        update(zoe, m(personas.bob), is_clinician=False)
        browser(personas.alice).get(dana_url(personas))  # a clinical read, not a role change


def test_weekly_summary_goes_once_to_every_admin_and_lists_the_changes(
    personas, zoe, django_capture_on_commit_callbacks
):
    gone = make_staff(personas.practice, "gone@riverside.test", "Gone Admin", admin=True)
    services.staff_deactivate(actor=personas.adam, membership=m(gone))
    deactivation = RoleGrant.objects.get(kind=RoleGrant.Kind.DEACTIVATION, membership=m(gone))
    services.role_grant_approve(actor=zoe, grant=deactivation)
    _a_week_of_changes(personas, zoe)
    assert "openipt.accounts.tasks.send_weekly_staff_summaries" in settings.OPENIPT_PERIODIC_TASKS

    with time_machine.travel(NEXT_MONDAY, tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            assert send_weekly_staff_summaries.call() == 1
        with django_capture_on_commit_callbacks(execute=True):
            for _minute in range(3):  # the periodic command runs it every minute
                assert send_weekly_staff_summaries.call() == 0

    assert sorted(message.to[0] for message in mail.outbox) == [
        "adam@riverside.test",
        "zoe@riverside.test",
    ]
    body = mail.outbox[0].body
    assert "2026-W45" in mail.outbox[0].subject
    assert "requested: supervisor role for alice@riverside.test" in body
    assert "approved: supervisor role for alice@riverside.test" in body
    assert "roles of bob@riverside.test: supervisor,clinician -> supervisor" in body
    assert "/staff/grants/" in body
    for clinical in (personas.dana.legal_given_name, personas.dana.legal_family_name,
                     str(personas.dana.uuid), "read"):  # fmt: skip
        assert clinical not in body
    row = StaffChangeSummary.objects.get(practice=personas.practice)
    assert (row.iso_year, row.iso_week, row.recipients) == (2026, 45, 2)
    assert AuditEvent.objects.filter(object_id=str(row.uuid), action="admin").count() == 1


def test_weekly_summary_is_written_in_each_administrators_language(
    personas, zoe, django_capture_on_commit_callbacks
):
    User.objects.filter(pk=zoe.pk).update(language="es")
    _a_week_of_changes(personas, zoe)
    with (
        time_machine.travel(NEXT_MONDAY, tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert send_weekly_staff_summaries.call() == 1
    by_recipient = {message.to[0]: message for message in mail.outbox}
    english, spanish = by_recipient["adam@riverside.test"], by_recipient["zoe@riverside.test"]
    assert "2026-W45" in english.subject
    assert "2026-W45" in spanish.subject
    assert english.subject != spanish.subject
    assert english.body != spanish.body


def test_weekly_summary_skips_the_current_week_and_a_quiet_week(
    personas, zoe, django_capture_on_commit_callbacks
):
    _a_week_of_changes(personas, zoe)
    with (
        time_machine.travel(WEDNESDAY + dt.timedelta(hours=2), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert services.staff_summaries_send_due() == 0  # last week was quiet
    assert mail.outbox == []
    quiet = StaffChangeSummary.objects.filter(practice=personas.practice, iso_week=44)
    assert quiet.get().changes == 0
    with (
        time_machine.travel(NEXT_MONDAY + dt.timedelta(days=7), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        services.staff_summaries_send_due()  # the week after: nothing happened
    assert mail.outbox == []


def test_pending_invitation_cannot_be_accepted_even_with_its_first_token(personas, zoe):
    # The first token is never emailed; even if it leaked, accepting is refused.
    invitation, _ = services.invitation_create(
        actor=zoe, practice=personas.practice, email="nina@riverside.test",
        full_name="Nina", is_admin=False, is_supervisor=False, is_clinician=True,
    )  # fmt: skip
    token = "known-token"
    Invitation.objects.filter(pk=invitation.pk).update(token_hash=services.token_hash(token))
    with pytest.raises(ValidationError):
        services.invitation_accept(token=token, full_name="Nina", password=PASSWORD)
    assert not User.objects.filter(email="nina@riverside.test").exists()


def test_waiting_supervisor_is_shown_ticked_and_kept_on_the_next_save(personas, zoe, carla):
    alice_m, bob_m, carla_m = m(personas.alice), m(personas.bob), m(carla)
    grant = update(zoe, alice_m, supervisors=[bob_m, carla_m]).pending[0]
    page = browser(zoe).get(f"/staff/{alice_m.uuid}/").content.decode()
    tag = re.search(rf'<input[^>]*value="{carla_m.uuid}"[^>]*>', page).group(0)
    assert "checked" in tag
    update(zoe, alice_m, supervisors=[bob_m, carla_m], is_supervisor=False)
    grant.refresh_from_db()
    assert grant.is_pending  # saving the page again does not withdraw it


def test_withdrawing_a_waiting_invitation_closes_its_request(personas, zoe):
    invitation, _ = services.invitation_create(
        actor=zoe, practice=personas.practice, email="nina@riverside.test",
        full_name="Nina", is_admin=False, is_supervisor=False, is_clinician=True,
    )  # fmt: skip
    services.invitation_revoke(actor=zoe, invitation=invitation)
    grant = RoleGrant.objects.get(invitation=invitation)
    assert grant.decision == RoleGrant.Decision.REFUSED
    assert admin_events(grant)[-1] == (
        "withdrawn: invitation of nina@riverside.test with roles clinician"
    )
