"""The practice's crisis contacts: the settings page, its service and the setup wizard
(issue 10; docs/measures.md §7)."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client as HttpClient
from django.urls import reverse

from openipt.accounts.models import CrisisLine, Practice, phone_digits, validate_phone_number
from openipt.accounts.practice_settings import (
    CrisisSettings,
    crisis_lines_as_rows,
    crisis_settings_of,
    practice_crisis_settings_update,
)
from openipt.audit.models import AuditEvent
from openipt.core.versioning import EditConflict
from openipt.testing.personas import Personas

URL = "/practice/settings/"
SAMARITANS = CrisisLine("Samaritans", "116 123", "24 hours, every day")


def _post(personas: Personas, **overrides: str) -> dict[str, str]:
    data = {
        "version": str(Practice.objects.get(pk=personas.practice.pk).version),
        "emergency_number": "999",
        "line1_name": "Samaritans",
        "line1_number": "116 123",
        "line1_hours": "24 hours, every day",
        "response_time": "within one working day (Monday to Friday)",
        "crisis_information": "",
    }
    return data | overrides


@pytest.fixture
def adam_client(personas: Personas) -> HttpClient:
    http = HttpClient()
    http.force_login(personas.adam)
    return http


def test_url_name() -> None:
    assert reverse("accounts:practice-settings") == URL


@pytest.mark.parametrize(
    ("number", "tel"),
    [("116 123", "116123"), ("+44 (0)20 7946-0000", "+4402079460000"), ("999", "999"),
     ("1-800-273-8255", "18002738255"), ("01.23.45.67.89", "0123456789")],
)  # fmt: skip
def test_good_numbers_are_accepted_and_dial_as_digits(number: str, tel: str) -> None:
    validate_phone_number(number)
    assert phone_digits(number) == tel
    assert CrisisLine("x", number).tel == f"tel:{tel}"


@pytest.mark.parametrize("number", ["", "12", "call us", "999 or 112", "+", "1" * 16, "++44 1"])
def test_numbers_nobody_can_dial_are_refused(number: str) -> None:
    with pytest.raises(ValidationError):
        validate_phone_number(number)


@pytest.mark.django_db
def test_an_admin_saves_the_contacts_once_audited(personas: Personas) -> None:
    saved = practice_crisis_settings_update(
        actor=personas.adam,
        practice=personas.practice,
        settings=CrisisSettings(
            crisis_lines=[SAMARITANS, CrisisLine(" Crisis team ", " 020 7946 0000 ")],
            emergency_number=" 999 ",
            response_time="within one working day",
        ),
        version=1,
    )
    assert saved.version == 2
    assert saved.crisis_contacts == (SAMARITANS, CrisisLine("Crisis team", "020 7946 0000"))
    assert saved.emergency_tel == "tel:999"
    assert saved.has_crisis_contacts
    events = AuditEvent.objects.filter(action="admin", object_id=str(saved.uuid))
    assert events.count() == 1
    assert "2 line(s)" in events.get().detail
    assert crisis_settings_of(saved).crisis_lines == saved.crisis_contacts
    assert crisis_lines_as_rows([SAMARITANS])[0]["number"] == "116 123"


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["alice", "bob", "charlie"])
def test_nobody_but_the_practice_admin_may_change_them(personas: Personas, who: str) -> None:
    actor = getattr(personas, who)
    if who == "charlie":
        # Charlie is made an administrator of his own practice: still not Alice's.
        membership = personas.membership(personas.charlie)
        membership.is_admin = True
        membership.save()
    with pytest.raises(PermissionDenied):
        practice_crisis_settings_update(
            actor=actor, practice=personas.practice, settings=CrisisSettings(), version=1
        )


@pytest.mark.django_db
def test_a_stale_version_or_a_bad_number_saves_nothing(personas: Personas) -> None:
    practice_crisis_settings_update(
        actor=personas.adam, practice=personas.practice, settings=CrisisSettings(), version=1
    )
    with pytest.raises(EditConflict):
        practice_crisis_settings_update(
            actor=personas.adam,
            practice=personas.practice,
            settings=CrisisSettings(emergency_number="999"),
            version=1,
        )
    with pytest.raises(ValidationError) as error:
        practice_crisis_settings_update(
            actor=personas.adam,
            practice=personas.practice,
            settings=CrisisSettings(crisis_lines=[CrisisLine("Line", "not a number")]),
            version=2,
        )
    assert "crisis_lines" in error.value.message_dict
    fresh = Practice.objects.get(pk=personas.practice.pk)
    assert (fresh.version, fresh.emergency_number, fresh.crisis_lines) == (2, "", [])


@pytest.mark.django_db
def test_the_model_refuses_malformed_rows(personas: Personas) -> None:
    practice = Practice.objects.get(pk=personas.practice.pk)
    for bad in ("nope", [{"number": "999"}], [{"name": "X", "number": "1", "extra": ""}]):
        practice.crisis_lines = bad
        with pytest.raises(ValidationError):
            practice.full_clean()
    practice.crisis_lines = [{"name": "Odd", "number": ""}, "junk"]
    assert practice.crisis_contacts == ()
    practice.crisis_lines = "junk"
    assert practice.crisis_contacts == ()


@pytest.mark.django_db
def test_the_page_saves_for_the_admin(personas: Personas, adam_client: HttpClient) -> None:
    page = adam_client.get(URL)
    html = page.content.decode()
    assert page.status_code == 200
    assert "No crisis contacts yet." in html
    response = adam_client.post(URL, _post(personas))
    assert response.status_code == 302
    practice = Practice.objects.get(pk=personas.practice.pk)
    assert practice.crisis_contacts == (SAMARITANS,)
    assert practice.emergency_number == "999"
    html = adam_client.get(URL).content.decode()
    assert 'href="tel:116123"' in html  # the preview of what clients see
    assert 'value="Samaritans"' in html
    assert "No crisis contacts yet." not in html


@pytest.mark.django_db
def test_a_bad_number_is_shown_next_to_its_field_with_the_typing_kept(
    personas: Personas, adam_client: HttpClient
) -> None:
    response = adam_client.post(
        URL, _post(personas, line2_name="Local crisis team", line2_number="ring the office")
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="id_line2_number_error"' in html
    assert "Enter a phone number someone can dial" in html
    assert 'value="ring the office"' in html
    assert 'value="Local crisis team"' in html
    assert Practice.objects.get(pk=personas.practice.pk).crisis_lines == []


@pytest.mark.django_db
def test_half_a_line_asks_for_the_other_half(personas: Personas, adam_client: HttpClient) -> None:
    response = adam_client.post(
        URL, _post(personas, line1_name="", line2_number="0800 000 000", line3_name="Only name")
    )
    html = response.content.decode()
    assert 'id="id_line1_name_error"' in html
    assert 'id="id_line2_name_error"' in html
    assert 'id="id_line3_number_error"' in html
    assert "Add the phone number for this line." in html


@pytest.mark.django_db
def test_a_stale_save_is_refused_and_the_typing_kept(
    personas: Personas, adam_client: HttpClient
) -> None:
    opened = _post(personas, emergency_number="112")
    adam_client.post(URL, _post(personas))  # someone else saves first
    response = adam_client.post(URL, opened)
    html = response.content.decode()
    assert "Someone else saved this record" in html
    assert 'value="112"' in html
    assert Practice.objects.get(pk=personas.practice.pk).emergency_number == "999"


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["alice", "bob", "charlie"])
def test_the_page_is_not_there_for_anyone_else(personas: Personas, who: str) -> None:
    http = HttpClient()
    http.force_login(getattr(personas, who))
    assert http.get(URL).status_code == 404
    assert http.post(URL, _post(personas)).status_code == 404


@pytest.mark.django_db
def test_admins_find_it_in_the_navigation(personas: Personas, adam_client: HttpClient) -> None:
    assert f'href="{URL}"' in adam_client.get(reverse("accounts:staff-list")).content.decode()


def _setup_data(**overrides: str) -> dict[str, str]:
    return {
        "practice_name": "Harbour Practice",
        "time_zone": "Europe/London",
        "full_name": "Hana Admin",
        "email": "hana@harbour.test",
        "password1": "correct horse battery staple",
        "password2": "correct horse battery staple",
    } | overrides


@pytest.mark.django_db
def test_setup_asks_for_the_crisis_contacts_and_saves_them(client: HttpClient) -> None:
    page = client.get(reverse("accounts:setup")).content.decode()
    assert "Help for clients in a crisis" in page
    assert 'name="line1_number"' in page
    assert 'name="line3_number"' not in page
    response = client.post(
        reverse("accounts:setup"),
        _setup_data(emergency_number="999", line1_name="Samaritans", line1_number="116 123",
                    response_time="within one working day"),
    )  # fmt: skip
    assert response.status_code == 302
    practice = Practice.objects.get()
    assert practice.crisis_contacts == (CrisisLine("Samaritans", "116 123"),)
    assert (practice.emergency_number, practice.response_time) == ("999", "within one working day")


@pytest.mark.django_db
def test_setup_without_contacts_still_works(client: HttpClient) -> None:
    assert client.post(reverse("accounts:setup"), _setup_data()).status_code == 302
    assert not Practice.objects.get().has_crisis_contacts


@pytest.mark.django_db
def test_setup_with_a_bad_number_creates_nothing_and_keeps_the_typing(client: HttpClient) -> None:
    response = client.post(
        reverse("accounts:setup"), _setup_data(line1_name="Helpline", line1_number="help")
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="id_line1_number_error"' in html
    assert 'value="Harbour Practice"' in html
    assert 'value="help"' in html
    assert not Practice.objects.exists()
