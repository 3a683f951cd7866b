"""Each person in their own language (docs/translation.md): staff choose theirs, a client's
record decides their portal and everything sent to them, the public pages offer both."""

from __future__ import annotations

import datetime as dt
import importlib

import pytest
from django.apps import apps as django_apps
from django.template.loader import render_to_string
from django.test import Client as Client_
from django.urls import reverse
from django.utils import timezone, translation

from openipt.accounts import services as account_services
from openipt.accounts.models import User
from openipt.audit.models import AuditEvent
from openipt.clients.models import Client
from openipt.core import languages
from openipt.core.models import OutboxEmail
from openipt.engagement import accounts, messaging
from openipt.engagement.consultation import ConsultationData, consultation_request_submit
from openipt.engagement.models import ConsultationRequest
from openipt.portal.tests.conftest import portal_user_for
from openipt.portal.tests.test_intake import book_data, detail
from openipt.scheduling import reminders
from openipt.scheduling.models import Reminder
from openipt.scheduling.services import appointment_book


def spanish(english: str) -> str:
    """The catalogue's Spanish for ``english`` (and proof that it has one)."""
    with translation.override("es"):
        translated = translation.gettext(english)
    assert translated != english, f"no Spanish for {english!r}"
    return translated


def reads_spanish(client: Client) -> Client:
    Client.objects.filter(pk=client.pk).update(language="es")
    client.refresh_from_db()
    return client


# --- Pages --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_staff_member_chooses_spanish_and_every_page_follows(alice_client, personas):
    page = alice_client.get(reverse("accounts:language"))
    assert page.status_code == 200
    assert 'lang="es"' in page.content.decode()  # "Español" is offered in its own name
    response = alice_client.post(reverse("accounts:language"), {"language": "es"})
    assert response["Location"] == reverse("accounts:language")
    personas.alice.refresh_from_db()
    assert personas.alice.language == "es"
    assert AuditEvent.objects.filter(
        action="update", actor_id=personas.alice.pk, detail="interface language: es"
    ).exists()
    home = alice_client.get(reverse("core:home"), HTTP_ACCEPT_LANGUAGE="en")
    html = home.content.decode()
    assert '<html lang="es">' in html
    assert home["Content-Language"] == "es"
    assert spanish("Sign out") in html


@pytest.mark.django_db
def test_the_saved_message_is_already_in_the_chosen_language(alice_client):
    response = alice_client.post(reverse("accounts:language"), {"language": "es"}, follow=True)
    assert spanish("Your language is saved.") in response.content.decode()


@pytest.mark.django_db
def test_without_a_choice_staff_pages_follow_the_browser(alice_client):
    for code in ("es", "en"):
        page = alice_client.get(reverse("core:home"), HTTP_ACCEPT_LANGUAGE=code)
        assert page["Content-Language"] == code


@pytest.mark.django_db
def test_an_unknown_language_is_refused_next_to_the_field_and_nothing_changes(
    alice_client, personas
):
    response = alice_client.post(reverse("accounts:language"), {"language": "xx"})
    assert response.status_code == 200
    assert "field--error" in response.content.decode()
    personas.alice.refresh_from_db()
    assert personas.alice.language == ""
    with pytest.raises(Exception, match="Choose one of the languages"):
        account_services.user_language_set(actor=personas.alice, language="fr")


@pytest.mark.django_db
def test_choosing_the_same_language_again_writes_nothing(personas):
    account_services.user_language_set(actor=personas.alice, language="es")
    before = AuditEvent.objects.count()
    account_services.user_language_set(actor=personas.alice, language="es")
    assert AuditEvent.objects.count() == before


@pytest.mark.django_db
def test_a_clients_portal_follows_their_record_not_the_browser(dana_client, personas):
    reads_spanish(personas.dana)
    response = dana_client.get(reverse("portal:home"), HTTP_ACCEPT_LANGUAGE="en")
    html = response.content.decode()
    assert response["Content-Language"] == "es"
    assert spanish("Need help now?") in html  # crisis information, in her language
    assert spanish("Language") in html  # and the way to change it, in the navigation


@pytest.mark.django_db
def test_a_client_changes_their_language_in_the_portal(dana_client, personas):
    assert dana_client.get(reverse("portal:language")).status_code == 200
    response = dana_client.post(reverse("portal:language"), {"language": "es"})
    assert response["Location"] == reverse("portal:language")
    personas.dana.refresh_from_db()
    assert personas.dana.language == "es"
    assert AuditEvent.objects.filter(
        action="update", client_id=personas.dana.pk, detail__contains="language (es)"
    ).exists()
    page = dana_client.get(reverse("portal:language"))
    assert spanish("Saved. Your portal now uses this language.") in page.content.decode()
    bad = dana_client.post(reverse("portal:language"), {"language": ""})
    assert bad.status_code == 200
    assert "field--error" in bad.content.decode()
    personas.dana.refresh_from_db()
    assert personas.dana.language == "es"


@pytest.mark.django_db
def test_only_a_client_changes_a_portal_language(personas):
    with pytest.raises(Exception, match="Only a client"):
        accounts.portal_language_set(actor=personas.alice, language="es")


@pytest.mark.django_db
def test_staff_see_and_set_the_language_a_client_reads(alice_client, personas):
    html = alice_client.get(reverse("clients:detail", args=[personas.dana.uuid])).content.decode()
    assert "Portal and messages in" in html
    form = alice_client.get(reverse("clients:edit", args=[personas.dana.uuid])).content.decode()
    assert 'name="language"' in form
    assert "Español" in form


# --- The public pages -------------------------------------------------------------------


@pytest.mark.django_db
def test_the_public_form_offers_spanish_remembers_it_and_the_client_keeps_it(
    alice_client, personas, django_capture_on_commit_callbacks
):
    client = Client_()  # someone who is not signed in (alice_client is pytest's `client`)
    url = f"/consultation/?practice={personas.practice.uuid}"
    english = client.get(url).content.decode()
    assert 'name="language" value="es"' in english
    assert 'lang="es"' in english
    switched = client.post(reverse("set_language"), {"language": "es", "next": url})
    assert switched["Location"] == url
    page = client.get(url)  # the choice is remembered (a cookie), whatever the browser says
    assert page["Content-Language"] == "es"
    assert 'name="language" value="en"' in page.content.decode()  # and English offered back
    data = {
        "name": "Paz Solicitante", "email": "paz@example.test", "phone": "",
        "contact_times": "mañanas", "preferred_times": "", "reason": "",
        "consent_to_contact": "on", "website": "",
    }  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url, data)
    item = ConsultationRequest.objects.get(name="Paz Solicitante")
    assert item.language == "es"
    ack = OutboxEmail.objects.get(kind="consultation_ack")
    with translation.override("en"):
        english_subject = translation.gettext("Consultation request")
    assert ack.subject != english_subject
    alice_client.post(detail(item), book_data(personas, legal_family_name="Solicitante"))
    assert Client.objects.get(legal_family_name="Solicitante").language == "es"


# --- What is sent -----------------------------------------------------------------------


@pytest.mark.django_db
def test_an_invitation_goes_out_in_the_clients_language(personas):
    reads_spanish(personas.dana)
    portal_user_for(personas.alice, personas.dana, "dana@example.test")
    invitation = OutboxEmail.objects.get(kind="portal_invitation")
    with languages.speaking("en"):
        english = render_to_string(
            "portal/email/invitation_subject.txt",
            {"practice": personas.practice.name, "link": "x", "days": 7},
        ).strip()
    assert invitation.subject != english


@pytest.mark.django_db
def test_a_message_notice_is_written_in_each_readers_language(personas, dana_user):
    reads_spanish(personas.dana)
    User.objects.filter(pk=personas.alice.pk).update(language="en")
    messaging.message_send(actor=personas.alice, client=personas.dana, body="Hola Dana")
    to_dana = OutboxEmail.objects.get(kind="message_notification")
    with languages.speaking("en"):
        english = render_to_string("portal/email/message_subject.txt", {"link": "x"})
    assert to_dana.subject != english.strip()
    OutboxEmail.objects.all().delete()
    messaging.message_send(actor=dana_user, client=personas.dana, body="Gracias")
    to_team = OutboxEmail.objects.get(kind="message_notification")
    assert to_team.subject == english.strip()  # Alice reads English


@pytest.mark.django_db
def test_a_reminder_is_written_in_the_clients_language_with_a_spanish_date(personas):
    Client.objects.filter(pk=personas.dana.pk).update(email="dana@example.test")
    reads_spanish(personas.dana)
    starts = timezone.now() + dt.timedelta(days=3)
    appointment = appointment_book(
        actor=personas.alice, client=personas.dana,
        clinician=personas.membership(personas.alice), starts_at=starts,
    )  # fmt: skip
    sent: list[reminders.Message] = []
    reminder = Reminder.objects.filter(target_id=appointment.pk, channel="email").first()
    assert reminder is not None
    original = reminders._deliver
    try:
        reminders._deliver = lambda row, message: sent.append(message)
        reminders.send_one(reminder, now=timezone.now())
    finally:
        reminders._deliver = original
    assert len(sent) == 1
    with languages.speaking("es"):
        weekday = translation.gettext(
            ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"][
                timezone.localtime(starts).weekday()
            ]
        )
    assert weekday.lower() in sent[0].body.lower()
    assert " de " in sent[0].body  # "3 de diciembre de 2026"
    assert translation.get_language() == "en"  # the worker's own language is untouched


@pytest.mark.django_db
def test_languages_fall_back_to_the_default(personas):
    with languages.speaking("es-MX"):
        assert translation.get_language() == "es"
    assert languages.supported("es-MX") == "es"
    assert languages.supported("fr") == "en"
    assert languages.supported(None) == "en"
    assert languages.name("es") == "Spanish"
    with languages.speaking("es"):
        assert languages.name("es") == spanish("Spanish")


# --- Old records ------------------------------------------------------------------------


@pytest.mark.django_db
def test_clients_whose_preferred_language_says_spanish_read_spanish_after_the_upgrade(personas):
    migration = importlib.import_module("openipt.clients.migrations.0011_language")
    for said in ("Spanish", "español (Mexico)", "es-US"):
        Client.objects.filter(pk=personas.dana.pk).update(language="en", preferred_language=said)
        migration.spanish_speakers_read_spanish(django_apps, None)
        assert Client.objects.get(pk=personas.dana.pk).language == "es", said
    Client.objects.filter(pk=personas.dana.pk).update(language="en", preferred_language="Welsh")
    migration.spanish_speakers_read_spanish(django_apps, None)
    assert Client.objects.get(pk=personas.dana.pk).language == "en"


@pytest.mark.django_db
def test_a_request_filed_by_code_records_the_active_language(personas):
    with translation.override("es"):
        item = consultation_request_submit(
            practice=personas.practice,
            data=ConsultationData(name="Ana", email="ana@example.test", consent_to_contact=True),
        )
    assert item.language == "es"


def _spanish_invitation(personas) -> str:
    """Dana reads Spanish and is invited: the token of her invitation link."""
    from openipt.testing.personas import give_crisis_contacts

    reads_spanish(personas.dana)
    give_crisis_contacts(personas.practice)
    _invitation, token = accounts.portal_invite(
        actor=personas.alice, client=personas.dana, email="dana@example.test"
    )
    return token


@pytest.mark.django_db
def test_the_invitation_link_opens_in_the_language_it_was_written_in(personas):
    token = _spanish_invitation(personas)
    page = Client_().get(reverse("portal:welcome", args=[token]), HTTP_ACCEPT_LANGUAGE="en")
    assert page["Content-Language"] == "es"
    assert '<html lang="es">' in page.content.decode()


@pytest.mark.django_db
def test_writing_to_a_client_shows_the_language_they_read(alice_client, personas):
    reads_spanish(personas.dana)
    page = alice_client.get(reverse("clients:messages", args=[personas.dana.uuid]))
    html = page.content.decode()
    assert 'id="reads-language"' in html
    assert "<strong>Spanish</strong>" in html


@pytest.mark.django_db
def test_the_invitation_page_switches_language_when_asked(personas):
    token = _spanish_invitation(personas)
    browser = Client_()
    url = reverse("portal:welcome", args=[token])
    browser.post(reverse("set_language"), {"language": "en", "next": url})
    assert browser.get(url)["Content-Language"] == "en"
