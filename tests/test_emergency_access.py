"""Break-glass access (docs/adr/0016-emergency-access.md): a staff member outside a client's
care team reads the record in an emergency, for a limited time, after stating why; it is
audited, the primary clinician and the administrators are told, and an administrator
reviews it."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client as HttpClient
from django.urls import reverse

from openipt.access.treatment import access_process_note
from openipt.accounts.models import Membership, User
from openipt.audit.models import AuditEvent
from openipt.clients import selectors, services
from openipt.clients.models import ClientIdentifier, EmergencyAccess
from openipt.testing.personas import make_client, make_staff
from openipt.treatment import services as treatment
from openipt.treatment.tests import factories

pytestmark = pytest.mark.django_db

REASON = "Dana phoned the front desk in crisis; her clinician is away"
T0 = dt.datetime(2027, 3, 1, 10, 0, tzinfo=dt.UTC)
EMERGENCY = reverse("clients:emergency")


def _http(user: User) -> HttpClient:
    http = HttpClient()
    http.force_login(user)
    return http


def _open_by_name(http: HttpClient, personas, **overrides: str):
    data = {
        "legal_given_name": "Dana",
        "legal_family_name": "Example",
        "date_of_birth": personas.dana.date_of_birth.isoformat(),
        "reason": REASON,
        "confirm": "on",
    } | overrides
    return http.post(EMERGENCY, data)


def _detail(personas) -> str:
    return reverse("clients:detail", kwargs={"client_uuid": personas.dana.uuid})


def _events(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("id"))


# --- Opening ------------------------------------------------------------------------------


@pytest.mark.parametrize("reason", ["", "   ", "too short", "<b>markup</b> is not welcome here"])
def test_opening_needs_a_proper_reason_and_creates_nothing_without_one(personas, reason):
    with pytest.raises(ValidationError) as refused:
        services.emergency_access_open(actor=personas.adam, client=personas.dana, reason=reason)
    assert "reason" in refused.value.error_dict
    assert not EmergencyAccess.objects.exists()
    assert _events(AuditEvent.Action.EMERGENCY_ACCESS) == []


def test_the_page_refuses_without_a_reason_next_to_the_field(personas):
    response = _open_by_name(_http(personas.adam), personas, reason="short")
    assert response.status_code == 200
    assert response.context["form"].errors["reason"]
    assert not EmergencyAccess.objects.exists()


def test_adam_opens_danas_record_and_can_read_it(personas, django_capture_on_commit_callbacks):
    http = _http(personas.adam)
    assert http.get(_detail(personas)).status_code == 404  # as today: no existence oracle
    with django_capture_on_commit_callbacks(execute=True):
        response = _open_by_name(http, personas)
    assert response.status_code == 302
    assert response["Location"] == _detail(personas)
    page = http.get(_detail(personas))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'role="status"' in html
    assert "every page you open is recorded" in html
    access = EmergencyAccess.objects.get()
    assert access.membership == Membership.objects.get(user=personas.adam)
    assert access.reason == REASON
    assert access.expires_at - access.started_at == dt.timedelta(minutes=60)


def test_an_identifier_finds_the_client_exactly(personas):
    ClientIdentifier.objects.create(
        practice=personas.practice, client=personas.dana, system="practice", value="R-1001"
    )
    http = _http(personas.adam)
    assert (
        http.post(EMERGENCY, {"identifier": "R-100", "reason": REASON, "confirm": "on"}).status_code
        == 200
    )
    assert not EmergencyAccess.objects.exists()
    response = http.post(EMERGENCY, {"identifier": "R-1001", "reason": REASON, "confirm": "on"})
    assert response["Location"] == _detail(personas)


def test_a_partial_name_or_wrong_birth_date_matches_nobody(personas):
    http = _http(personas.adam)
    for overrides in (
        {"legal_given_name": "Dan"},
        {"date_of_birth": "1990-05-18"},
        {"legal_given_name": ""},
    ):
        response = _open_by_name(http, personas, **overrides)
        assert response.status_code == 200
    assert not EmergencyAccess.objects.exists()
    # A search that matched nobody is recorded too, so fishing shows in the audit log.
    misses = _events(AuditEvent.Action.EMERGENCY_ACCESS)
    assert [e.detail for e in misses] == ["refused: no single record matched"] * 2


def test_the_emergency_reader_reads_the_course_pages_but_writes_nothing(personas):
    course = factories.make_course(personas.alice, personas.dana)
    session = factories.make_session(personas.alice, course, 1)
    treatment.process_note_save(actor=personas.alice, session=session, version=0, text="PRIVATE")
    services.emergency_access_open(actor=personas.adam, client=personas.dana, reason=REASON)
    http = _http(personas.adam)
    for name in ("treatment:course-detail", "treatment:timeline", "treatment:inventory"):
        response = http.get(reverse(name, kwargs={"course_uuid": course.uuid}))
        assert response.status_code == 200, name
        assert "every page you open is recorded" in response.content.decode(), name
    session_kwargs = {"course_uuid": course.uuid, "session_uuid": session.uuid}
    assert http.get(reverse("treatment:session-detail", kwargs=session_kwargs)).status_code == 200
    # Read only: every write page is 404, and the services refuse.
    assert (
        http.get(reverse("clients:edit", kwargs={"client_uuid": personas.dana.uuid})).status_code
        == 404
    )
    assert (
        http.get(
            reverse("treatment:course-update", kwargs={"course_uuid": course.uuid})
        ).status_code
        == 404
    )
    with pytest.raises(PermissionDenied):
        services.consent_record_add(
            actor=personas.adam, client=personas.dana, kind="treatment",
            consented_on=dt.date(2026, 1, 5), text_version="v1",
        )  # fmt: skip
    # Process notes stay with their author (docs/quality.md S3).
    assert access_process_note(personas.adam, session) is None
    assert http.get(reverse("treatment:process-note", kwargs=session_kwargs)).status_code == 404
    assert (
        "PRIVATE"
        not in http.get(reverse("treatment:session-detail", kwargs=session_kwargs)).content.decode()
    )


def test_the_access_ends_on_time(personas):
    with time_machine.travel(T0, tick=False):
        services.emergency_access_open(actor=personas.adam, client=personas.dana, reason=REASON)
        assert _http(personas.adam).get(_detail(personas)).status_code == 200
    with time_machine.travel(T0 + dt.timedelta(minutes=59), tick=False):
        response = _http(personas.adam).get(_detail(personas))
        assert response.status_code == 200
        assert "Emergency access until 11:00" in response.content.decode()
    with time_machine.travel(T0 + dt.timedelta(minutes=61), tick=False):
        assert _http(personas.adam).get(_detail(personas)).status_code == 404


def test_the_length_follows_the_setting(personas, settings):
    settings.OPENIPT_BREAK_GLASS_MINUTES = 15
    access = services.emergency_access_open(
        actor=personas.adam, client=personas.dana, reason=REASON
    )
    assert access.expires_at - access.started_at == dt.timedelta(minutes=15)
    assert (
        _events(AuditEvent.Action.EMERGENCY_ACCESS)[0].detail == "emergency access for 15 minutes"
    )


# --- Who may ------------------------------------------------------------------------------


def test_alice_already_on_the_team_is_refused_she_does_not_need_it(personas):
    with pytest.raises(PermissionDenied):
        services.emergency_access_open(actor=personas.alice, client=personas.dana, reason=REASON)
    response = _open_by_name(_http(personas.alice), personas)
    assert response["Location"] == _detail(personas)
    with pytest.raises(PermissionDenied):  # Bob reads Dana already, as Alice's supervisor
        services.emergency_access_open(actor=personas.bob, client=personas.dana, reason=REASON)
    assert not EmergencyAccess.objects.exists()


def test_charlie_cannot_open_dana_by_any_input(personas):
    ClientIdentifier.objects.create(
        practice=personas.practice, client=personas.dana, system="practice", value="R-1001"
    )
    http = _http(personas.charlie)
    assert _open_by_name(http, personas).status_code == 200
    assert (
        http.post(
            EMERGENCY, {"identifier": "R-1001", "reason": REASON, "confirm": "on"}
        ).status_code
        == 200
    )
    with pytest.raises(PermissionDenied):
        services.emergency_access_open(actor=personas.charlie, client=personas.dana, reason=REASON)
    assert not EmergencyAccess.objects.exists()
    assert http.get(_detail(personas)).status_code == 404


def test_a_staff_member_without_a_clinical_or_admin_role_cannot_break_glass(personas):
    rita = make_staff(personas.practice, "rita@riverside.test", "Rita Reception", clinician=False)
    assert _http(rita).get(EMERGENCY).status_code == 404
    with pytest.raises(PermissionDenied):
        services.emergency_access_open(actor=rita, client=personas.dana, reason=REASON)


def test_a_second_opening_while_one_is_open_is_refused(personas):
    services.emergency_access_open(actor=personas.adam, client=personas.dana, reason=REASON)
    with pytest.raises(PermissionDenied):
        services.emergency_access_open(actor=personas.adam, client=personas.dana, reason=REASON)


# --- Notification -------------------------------------------------------------------------


def test_the_primary_clinician_and_the_admins_are_told_without_the_client_named(
    personas, django_capture_on_commit_callbacks
):
    zoe = make_staff(
        personas.practice, "zoe@riverside.test", "Zoe Admin", admin=True, clinician=False
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.emergency_access_open(actor=personas.adam, client=personas.dana, reason=REASON)
    sent = {m.to[0]: m for m in mail.outbox}
    assert set(sent) == {personas.alice.email, zoe.email}  # not Adam himself, not Bob
    for message in sent.values():
        text = message.subject + message.body
        assert "Adam Admin" in text
        for secret in ("Dana", "Example", "crisis", str(personas.dana.date_of_birth)):
            assert secret not in text
    assert reverse("clients:detail", args=[personas.dana.uuid]) in sent[personas.alice.email].body
    assert reverse("accounts:emergency-access") in sent[zoe.email].body


def test_nothing_is_sent_when_the_opening_is_refused(personas, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(ValidationError):
        services.emergency_access_open(actor=personas.adam, client=personas.dana, reason="")
    assert mail.outbox == []


# --- Review -------------------------------------------------------------------------------


REVIEW_LIST = reverse("accounts:emergency-access")


def test_the_access_is_listed_for_review_until_reviewed(personas):
    access = services.emergency_access_open(
        actor=personas.adam, client=personas.dana, reason=REASON
    )
    adam = _http(personas.adam)
    staff_page = adam.get(reverse("accounts:staff-list")).content.decode()
    assert "1 to review" in staff_page
    listing = adam.get(REVIEW_LIST)
    assert listing.status_code == 200
    assert [row.access for row in listing.context["rows"]] == [access]
    assert REASON in listing.content.decode()
    # Adam is the only administrator, so he reviews his own (docs/adr/0015).
    url = reverse("accounts:emergency-access-review", kwargs={"uuid": access.uuid})
    response = adam.post(url, {f"{access.uuid}-note": "Confirmed with the front desk"})
    assert response.status_code == 302
    listing = adam.get(REVIEW_LIST)
    assert listing.context["rows"] == []
    assert [a.pk for a in listing.context["recent"]] == [access.pk]
    access.refresh_from_db()
    assert access.reviewed_by == Membership.objects.get(user=personas.adam)
    assert access.review_note == "Confirmed with the front desk"
    assert "to review" not in adam.get(reverse("accounts:staff-list")).content.decode()
    with pytest.raises(ValidationError):
        services.emergency_access_review(actor=personas.adam, access=access, note="again")


def test_only_another_admin_reviews_an_admins_own_access_when_there_is_one(personas):
    zoe = make_staff(
        personas.practice, "zoe@riverside.test", "Zoe Admin", admin=True, clinician=False
    )
    access = services.emergency_access_open(
        actor=personas.adam, client=personas.dana, reason=REASON
    )
    with pytest.raises(PermissionDenied):
        services.emergency_access_review(actor=personas.adam, access=access)
    assert _http(personas.adam).get(REVIEW_LIST).context["rows"][0].can_review is False
    services.emergency_access_review(actor=zoe, access=access, note="ok")
    access.refresh_from_db()
    assert access.is_reviewed


def test_clinicians_and_other_practices_cannot_review(personas):
    access = services.emergency_access_open(
        actor=personas.adam, client=personas.dana, reason=REASON
    )
    url = reverse("accounts:emergency-access-review", kwargs={"uuid": access.uuid})
    for who in (personas.alice, personas.bob, personas.charlie):
        assert _http(who).post(url, {}).status_code == 404
        assert _http(who).get(REVIEW_LIST).status_code == 404
        with pytest.raises(PermissionDenied):
            services.emergency_access_review(actor=who, access=access)
    access.refresh_from_db()
    assert not access.is_reviewed


# --- Audit --------------------------------------------------------------------------------


def test_everything_is_audited_without_the_reason(personas):
    access = services.emergency_access_open(
        actor=personas.adam, client=personas.dana, reason=REASON
    )
    http = _http(personas.adam)
    before = AuditEvent.objects.filter(
        action=AuditEvent.Action.READ, client_id=personas.dana.pk
    ).count()
    http.get(_detail(personas))
    reads = AuditEvent.objects.filter(action=AuditEvent.Action.READ, client_id=personas.dana.pk)
    assert reads.count() == before + 1
    assert reads.order_by("-id").first().actor_id == personas.adam.pk
    services.emergency_access_review(actor=personas.adam, access=access, note="fine")
    opened = _events(AuditEvent.Action.EMERGENCY_ACCESS)
    reviewed = _events(AuditEvent.Action.EMERGENCY_REVIEW)
    assert [(e.object_id, e.client_id, e.actor_id) for e in opened] == [
        (str(access.uuid), personas.dana.pk, personas.adam.pk)
    ]
    assert [e.object_id for e in reviewed] == [str(access.uuid)]
    assert opened[0].detail == "emergency access for 60 minutes"
    assert all(REASON not in e.detail and "fine" not in e.detail for e in AuditEvent.objects.all())


@pytest.mark.parametrize(
    "name",
    [
        "clients:messages",
        "clients:diary",
        "measures:safety-plan",
        "measures:safety-plan-history",
        "scheduling:client-appointments",
    ],
)
def test_every_client_page_read_in_an_emergency_shows_the_banner(personas, name):
    services.emergency_access_open(actor=personas.adam, client=personas.dana, reason=REASON)
    response = _http(personas.adam).get(reverse(name, kwargs={"client_uuid": personas.dana.uuid}))
    assert response.status_code == 200
    assert "every page you open is recorded" in response.content.decode()
    # Alice, on the care team, sees no banner.
    alice = _http(personas.alice).get(reverse(name, kwargs={"client_uuid": personas.dana.uuid}))
    assert "every page you open is recorded" not in alice.content.decode()


# --- What the search may tell ---------------------------------------------------------------


def test_a_namesake_of_an_own_client_is_found_without_saying_there_are_two(personas):
    """Alice searches with the details of her own client Dana while another clinician's
    client shares them: the search counts only records Alice cannot open, so it finds that
    one (opening it is audited and reported) instead of answering "several records match",
    which would have told her that someone else with those details is a client here."""
    olga = make_staff(personas.practice, "olga@riverside.test", "Olga Other")
    twin = make_client(personas.practice, olga, given="Dana", family="Example",
                       date_of_birth=personas.dana.date_of_birth)  # fmt: skip
    found = selectors.emergency_access_find(
        personas.alice, given="Dana", family="Example", dob=personas.dana.date_of_birth
    )
    assert found == twin


def test_with_no_namesake_the_search_finds_the_own_client(personas):
    found = selectors.emergency_access_find(
        personas.alice, given="Dana", family="Example", dob=personas.dana.date_of_birth
    )
    assert found == personas.dana


def test_a_flagged_duplicate_number_does_not_lead_to_or_hide_the_record(personas):
    ClientIdentifier.objects.create(
        practice=personas.practice, client=personas.dana, system="national", value="NHS-42"
    )
    olga = make_staff(personas.practice, "olga@riverside.test", "Olga Other")
    other = make_client(personas.practice, olga, given="Other", family="Person")
    ClientIdentifier.objects.create(
        practice=personas.practice, client=other, system="national", value="NHS-42",
        duplicate_of=personas.dana,
    )  # fmt: skip
    found = selectors.emergency_access_find(personas.adam, identifier="NHS-42")
    assert found == personas.dana
