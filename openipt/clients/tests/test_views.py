from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from openipt.audit.models import AuditEvent
from openipt.clients import services
from openipt.clients.models import CareTeamMember, Client, ClientIdentifier, ConsentRecord
from openipt.clients.tests.helpers import bulk_clients
from openipt.testing.personas import count_queries, make_client, make_staff

pytestmark = pytest.mark.django_db

CLIENT_URLS = ["detail", "edit", "status", "care-team", "consent-create"]
WRITE_URLS = ["edit", "status", "care-team", "consent-create"]
XSS = '<script>alert("x")</script>'


def url(name, client):
    return reverse(f"clients:{name}", kwargs={"client_uuid": client.uuid})


def new_client_form(**overrides):
    values = {
        "legal_given_name": "Robin",
        "legal_family_name": "Formfill",
        "date_of_birth": "17/05/1990",
        "email": "robin@example.org",
    }
    return values | overrides


def edit_form(client, **overrides):
    values = {
        "legal_given_name": client.legal_given_name,
        "legal_family_name": client.legal_family_name,
        "date_of_birth": client.date_of_birth.isoformat(),
        "version": client.version,
    }
    return values | overrides


def written_rows():
    return (
        Client.objects.count(),
        ClientIdentifier.objects.count(),
        CareTeamMember.objects.count(),
        ConsentRecord.objects.count(),
        AuditEvent.objects.count(),
    )


# --- who gets what -------------------------------------------------------------------


@pytest.mark.parametrize("name", CLIENT_URLS)
@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize("persona", ["charlie", "adam"])
def test_outsiders_get_404_on_every_url_of_dana(client, personas, name, method, persona):
    client.force_login(getattr(personas, persona))
    before = written_rows()
    response = getattr(client, method)(url(name, personas.dana), {"action": "add"})
    # The client page is read-only: a POST is refused before anything is looked up.
    assert response.status_code == (405 if (name, method) == ("detail", "post") else 404)
    assert written_rows() == before


@pytest.mark.parametrize("name", WRITE_URLS)
@pytest.mark.parametrize("method", ["get", "post"])
def test_supervisor_reads_but_cannot_change(client, personas, name, method):
    client.force_login(personas.bob)
    assert client.get(url("detail", personas.dana)).status_code == 200
    assert getattr(client, method)(url(name, personas.dana)).status_code == 404


def test_malformed_uuid_is_404(alice_client):
    assert alice_client.get("/clients/not-a-uuid/").status_code == 404
    assert alice_client.get("/clients/00000000-0000-0000-0000-000000000000/").status_code == 404


def test_anonymous_is_sent_to_sign_in(client, personas):
    response = client.get(url("detail", personas.dana))
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_client_pages_are_not_cached(alice_client, personas):
    response = alice_client.get(url("detail", personas.dana))
    assert "no-store" in response["Cache-Control"]


# --- list and search -----------------------------------------------------------------


def test_list_shows_search_results_and_add_button(alice_client, personas):
    make_client(personas.practice, personas.alice, given="Maria", family="Lopez")
    response = alice_client.get(reverse("clients:list"), {"q": "lop"})
    assert response.status_code == 200
    assert "Lopez, Maria" in response.text
    assert "Example, Dana" not in response.text
    assert reverse("clients:create") in response.text


def test_search_by_day_first_date_of_birth(alice_client, personas):
    response = alice_client.get(reverse("clients:list"), {"dob": "17/05/1990"})
    assert "Example, Dana" in response.text
    response = alice_client.get(reverse("clients:list"), {"dob": "1990-05-18"})
    assert "Example, Dana" not in response.text


def test_bad_search_date_gets_a_clear_message(alice_client):
    response = alice_client.get(reverse("clients:list"), {"dob": "31/02/1990"})
    assert response.status_code == 200
    assert "Enter the date as YYYY-MM-DD or DD/MM/YYYY" in response.text
    assert 'value="31/02/1990"' in response.text


def test_htmx_search_returns_only_the_results(alice_client):
    response = alice_client.get(reverse("clients:list"), headers={"HX-Request": "true"})
    assert 'id="client-results"' in response.text
    assert "<html" not in response.text
    assert "Example, Dana" in response.text


def test_supervisor_has_no_add_button(client, personas):
    # Bob is also a clinician in the personas; a supervisor-only colleague sees no button.
    viewer = make_staff(
        personas.practice, "v@riverside.test", "V", supervisor=True, clinician=False
    )
    client.force_login(viewer)
    response = client.get(reverse("clients:list"))
    assert reverse("clients:create") not in response.text
    assert client.get(reverse("clients:create")).status_code == 404


def test_list_query_count_is_the_same_for_1_and_50_clients(alice_client, personas):
    list_url = reverse("clients:list")
    alice_client.get(list_url)  # warm session and caches
    with count_queries() as one:
        alice_client.get(list_url, {"status": "any"})
    bulk_clients(personas.alice, 49)
    with count_queries() as fifty:
        response = alice_client.get(list_url, {"status": "any"})
    assert response.context["page"].paginator.count == 50
    assert len(fifty) == len(one)


def test_list_read_is_audited_without_the_search_terms(alice_client):
    alice_client.get(reverse("clients:list"), {"q": "dana"})
    event = AuditEvent.objects.order_by("-id").first()
    assert event.action == "read"
    assert event.object_type == "clients.client_list"
    assert "dana" not in event.detail.lower()


# --- detail ----------------------------------------------------------------------------


def test_viewing_a_client_writes_exactly_one_read_event(alice_client, personas):
    before = AuditEvent.objects.count()
    response = alice_client.get(url("detail", personas.dana))
    assert response.status_code == 200
    assert "Dana Example" in response.text
    assert AuditEvent.objects.count() == before + 1
    event = AuditEvent.objects.order_by("-id").first()
    assert (event.action, event.client_id, event.actor_id) == (
        "read",
        personas.dana.pk,
        personas.alice.pk,
    )


def test_detail_shows_identifiers_team_and_consents(alice_client, personas):
    services.consent_record_add(
        actor=personas.alice,
        client=personas.dana,
        kind="treatment",
        consented_on=dt.date(2024, 2, 1),
        text_version="v3",
    )
    response = alice_client.get(url("detail", personas.dana))
    assert "v3" in response.text
    assert "Alice Clinician" in response.text
    assert url("edit", personas.dana) in response.text


# --- create ----------------------------------------------------------------------------


def test_clinician_creates_a_client(alice_client, personas):
    response = alice_client.post(
        reverse("clients:create"),
        new_client_form(
            primary_clinician=str(personas.membership(personas.alice).uuid),
            identifier_practice="R-55",
        ),
    )
    client = Client.objects.get(legal_family_name="Formfill")
    assert response.status_code == 302
    assert response["Location"] == url("detail", client)
    assert client.date_of_birth == dt.date(1990, 5, 17)
    assert client.identifiers.get().value == "R-55"
    assert client.care_team.get().member.user == personas.alice


def test_admin_creates_a_client_for_a_clinician(client, personas):
    client.force_login(personas.adam)
    response = client.post(
        reverse("clients:create"),
        new_client_form(primary_clinician=str(personas.membership(personas.alice).uuid)),
    )
    created = Client.objects.get(legal_family_name="Formfill")
    assert created.care_team.get().member.user == personas.alice
    # Adam has no clinical access of his own, so he goes back to the list.
    assert response["Location"] == reverse("clients:list")


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("legal_given_name", XSS, "Please remove the &lt; and &gt; characters"),
        ("legal_family_name", "Smith<b>", "Please remove the &lt; and &gt; characters"),
        ("preferred_name", "<img src=x onerror=alert(1)>", "Please remove the &lt; and &gt;"),
        ("date_of_birth", "31/02/1990", "Enter the date as YYYY-MM-DD or DD/MM/YYYY"),
        ("date_of_birth", "yesterday", "Enter the date as YYYY-MM-DD or DD/MM/YYYY"),
        ("date_of_birth", "1899-12-31", "dates of birth before 1900 are not accepted"),
        ("date_of_birth", "2999-01-01", "cannot be in the future"),
        ("email", "robin@", "Enter a valid email address"),
        ("legal_family_name", "x" * 101, "at most 100 characters"),
        ("address", "y" * 501, "at most 500 characters"),
        ("legal_given_name", "", "This field is required"),
    ],
)
def test_bad_input_is_refused_next_to_the_field_and_kept(
    alice_client, personas, field, value, message
):
    before = written_rows()
    form = new_client_form(primary_clinician=str(personas.membership(personas.alice).uuid))
    form[field] = value
    response = alice_client.post(reverse("clients:create"), form)
    assert response.status_code == 200
    assert message in response.text
    form_obj = response.context["form"]
    assert field in form_obj.errors
    assert form_obj[field].value() == value  # what the user typed is kept
    assert "Formfill" in response.text or field == "legal_family_name"
    assert XSS not in response.text
    assert written_rows() == before


def test_duplicate_identifier_is_a_field_error(alice_client, personas):
    alice_client.post(
        reverse("clients:create"),
        new_client_form(
            primary_clinician=str(personas.membership(personas.alice).uuid),
            identifier_national="NHS-1",
        ),
    )
    before = written_rows()
    response = alice_client.post(
        reverse("clients:create"),
        new_client_form(
            legal_given_name="Other",
            primary_clinician=str(personas.membership(personas.alice).uuid),
            identifier_national="NHS-1",
        ),
    )
    assert response.status_code == 200
    assert "identifier_national" in response.context["form"].errors
    assert "already has this identifier" in response.text
    assert 'value="Other"' in response.text
    assert written_rows() == before


# --- edit ------------------------------------------------------------------------------


def test_edit_saves_and_bumps_the_version(alice_client, personas):
    dana = personas.dana
    response = alice_client.post(url("edit", dana), edit_form(dana, pronouns="she/her"))
    assert response["Location"] == url("detail", dana)
    dana.refresh_from_db()
    assert (dana.pronouns, dana.version) == ("she/her", 2)


def test_edit_page_has_the_version_and_is_audited_as_a_read(alice_client, personas):
    before = AuditEvent.objects.count()
    response = alice_client.get(url("edit", personas.dana))
    assert 'name="version" value="1"' in response.text
    assert AuditEvent.objects.count() == before + 1


def test_stale_edit_is_refused_with_a_clear_message(alice_client, personas, client):
    dana = personas.dana
    stale = edit_form(dana, legal_family_name="FromAlice")
    # Meanwhile, a colleague on the care team saves first.
    services.care_team_add(
        actor=personas.alice, client=dana, member=personas.membership(personas.bob)
    )
    client.force_login(personas.bob)
    client.post(url("edit", dana), edit_form(dana, legal_family_name="FromBob"))
    before = written_rows()
    response = alice_client.post(url("edit", dana), stale)
    assert response.status_code == 200
    assert "Someone else saved changes to this client" in response.text
    assert 'value="FromAlice"' in response.text
    dana.refresh_from_db()
    assert dana.legal_family_name == "FromBob"
    assert written_rows() == before


def test_edit_with_markup_is_refused(alice_client, personas):
    before = written_rows()
    response = alice_client.post(
        url("edit", personas.dana), edit_form(personas.dana, emergency_contact_name=XSS)
    )
    assert "Please remove the &lt; and &gt; characters" in response.text
    assert written_rows() == before


# --- status ----------------------------------------------------------------------------


def test_archive_needs_a_reason_and_the_reason_is_shown_escaped(alice_client, personas):
    dana = personas.dana
    before = written_rows()
    response = alice_client.post(url("status", dana), {"status": "archived", "version": 1})
    assert "This field is required" in response.text
    assert written_rows() == before
    reason = "Ended care; PHQ-9 <5 & stable " + XSS
    response = alice_client.post(
        url("status", dana), {"status": "archived", "reason": reason, "version": 1}
    )
    assert response.status_code == 302
    dana.refresh_from_db()
    assert dana.status == "archived"
    page = alice_client.get(url("detail", dana)).text
    assert XSS not in page
    assert "&lt;script&gt;" in page


def test_entered_in_error_keeps_the_record(alice_client, personas):
    alice_client.post(
        url("status", personas.dana),
        {"status": "entered_in_error", "reason": "Created twice", "version": 1},
    )
    assert Client.objects.filter(pk=personas.dana.pk, status="entered_in_error").exists()
    assert "Example, Dana" not in alice_client.get(reverse("clients:list")).text
    any_status = alice_client.get(reverse("clients:list"), {"status": "any"}).text
    assert "Example, Dana" in any_status


# --- care team -------------------------------------------------------------------------


def test_care_team_page_adds_makes_primary_and_removes(alice_client, personas):
    dana = personas.dana
    bob = personas.membership(personas.bob)
    page = url("care-team", dana)
    assert alice_client.post(page, {"action": "add", "member": str(bob.uuid)}).status_code == 302
    entry = dana.care_team.get(member=bob)
    alice_client.post(page, {"action": "primary", "entry": str(entry.uuid)})
    entry.refresh_from_db()
    assert entry.role == "primary"
    alice_entry = dana.care_team.get(member__user=personas.alice)
    response = alice_client.post(page, {"action": "remove", "entry": str(alice_entry.uuid)})
    alice_entry.refresh_from_db()
    assert alice_entry.is_active is False
    assert response["Location"] == reverse("clients:list")  # Alice is no longer on the team


def test_removing_the_primary_is_refused_with_a_message(alice_client, personas):
    primary = personas.dana.care_team.get()
    before = written_rows()
    response = alice_client.post(
        url("care-team", personas.dana), {"action": "remove", "entry": str(primary.uuid)}
    )
    assert "Make someone else the primary clinician" in response.text
    assert written_rows() == before


def test_care_team_cannot_add_someone_from_another_practice(alice_client, personas):
    before = written_rows()
    response = alice_client.post(
        url("care-team", personas.dana),
        {"action": "add", "member": str(personas.membership(personas.charlie).uuid)},
    )
    assert response.status_code == 200
    assert "member" in response.context["form"].errors
    assert written_rows() == before


def test_unknown_care_team_entry_is_404(alice_client, personas):
    erin_entry = personas.erin.care_team.get()
    response = alice_client.post(
        url("care-team", personas.dana), {"action": "remove", "entry": str(erin_entry.uuid)}
    )
    assert response.status_code == 404


# --- consent ---------------------------------------------------------------------------


def test_record_consent(alice_client, personas):
    response = alice_client.post(
        url("consent-create", personas.dana),
        {"kind": "treatment", "consented_on": "05/01/2024", "text_version": "2024-1"},
    )
    assert response["Location"] == url("detail", personas.dana)
    consent = ConsentRecord.objects.get()
    assert (consent.consented_on, consent.recorded_by) == (dt.date(2024, 1, 5), personas.alice)


def test_consent_notes_are_rendered_escaped(alice_client, personas):
    alice_client.post(
        url("consent-create", personas.dana),
        {"kind": "portal", "consented_on": "2024-01-05", "text_version": "p1", "notes": XSS},
    )
    page = alice_client.get(url("detail", personas.dana)).text
    assert XSS not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page


def test_bad_consent_is_refused_and_kept(alice_client, personas):
    before = written_rows()
    response = alice_client.post(
        url("consent-create", personas.dana),
        {"kind": "treatment", "consented_on": "2999-01-01", "text_version": "<v1>"},
    )
    assert "This date cannot be in the future" in response.text
    assert "Please remove the &lt; and &gt; characters" in response.text
    assert 'value="2999-01-01"' in response.text
    assert written_rows() == before


def test_client_page_shows_the_latest_course_and_its_symptom_chart(client, personas):
    from django.urls import reverse

    from openipt.measures import services as measures
    from openipt.measures.models import Instrument
    from openipt.measures.tests.conftest import phq9_answers
    from openipt.treatment.tests import factories

    course = factories.make_course(personas.alice, personas.dana)
    measures.administration_enter(
        actor=personas.alice,
        course=course,
        instrument=Instrument.objects.get(code="PHQ-9", practice__isnull=True),
        answers=phq9_answers("111111110"),
    )
    client.force_login(personas.alice)
    page = client.get(reverse("clients:detail", args=[personas.dana.uuid])).content.decode()
    assert reverse("treatment:course-detail", args=[course.uuid]) in page
    assert "<svg" in page
    assert "Scores as a table" in page
