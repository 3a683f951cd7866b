"""A client who reports thoughts of self-harm is met with help (issue 10; docs/measures.md
§7): after answers that raise a risk alert the next page leads with the practice's crisis
contacts as links that dial, the client's safety plan and when the clinician will see the
answers. The practice's contacts are one tap away on every portal page."""

from __future__ import annotations

import re
from html import unescape

import pytest
from django.test import Client as HttpClient
from django.urls import reverse
from django.utils import timezone

from openipt.accounts.models import CrisisLine, Practice
from openipt.accounts.practice_settings import CrisisSettings, practice_crisis_settings_update
from openipt.audit.models import AuditEvent
from openipt.measures import services as measures
from openipt.measures.models import Administration, Instrument, RiskAlert
from openipt.measures.services import SafetyPlanData
from openipt.testing.personas import Personas

PHONE = {"user-agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile"}
RESPONSE_TIME = "within one working day (Monday to Friday)"
PLACEHOLDERS = ("In a real practice", "placeholder", "TODO", "[", "lorem")


def with_contacts(personas: Personas) -> Practice:
    return practice_crisis_settings_update(
        actor=personas.adam,
        practice=personas.practice,
        settings=CrisisSettings(
            crisis_lines=[
                CrisisLine("Samaritans", "116 123", "24 hours, every day"),
                CrisisLine("Riverside crisis team", "+44 20 7946 0000", "Weekdays 9 to 5"),
            ],
            emergency_number="999",
            response_time=RESPONSE_TIME,
        ),
        version=personas.practice.version,
    )


def without_contacts(personas: Personas) -> None:
    """The practice removes its crisis contacts after Dana joined the portal."""
    Practice.objects.filter(pk=personas.practice.pk).update(crisis_lines=[], emergency_number="")


def assign(personas: Personas, code: str = "PHQ-9") -> Administration:
    return measures.administration_assign(
        actor=personas.alice,
        client=personas.dana,
        instrument=Instrument.objects.get(code=code, practice__isnull=True),
        due_on=timezone.localdate(),
    )


def answer_all(http: HttpClient, administration: Administration, item9: int) -> str:
    """Dana answers every question on her phone, then sends; returns the page she lands on."""
    url = reverse("portal:questionnaire", args=[administration.uuid])
    for item in administration.instrument.parsed.items:
        choice = item.options[item9 if item.link_id == "9" else 0]
        assert http.post(url, {"answer": choice.code}, headers=PHONE).status_code == 302
    sent = http.post(url, {"action": "submit"}, headers=PHONE)
    assert sent.status_code == 302
    assert sent["Location"] == url  # the confirmation lives at the questionnaire's address
    page = http.get(url, headers=PHONE)
    assert page.status_code == 200
    return page.content.decode()


def visible_text(html: str) -> str:
    body = html.split('<div class="portal">', 1)[1]
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", body)).split())


def syllables(word: str) -> int:
    groups = re.findall(r"[aeiouy]+", word.lower())
    count = len(groups) - (1 if word.lower().endswith("e") and len(groups) > 1 else 0)
    return max(1, count)


def reading_grade(text: str) -> float:
    """Flesch-Kincaid grade level (a US school grade; age is about grade + 5)."""
    sentences = max(1, len(re.findall(r"[.!?:](\s|$)", text)))
    words = re.findall(r"[A-Za-z']+", text)
    return (
        0.39 * len(words) / sentences + 11.8 * sum(syllables(w) for w in words) / len(words) - 15.59
    )


@pytest.mark.django_db
def test_item9_answered_leads_to_help_first_as_dana_on_a_phone(personas, dana_client):
    with_contacts(personas)
    measures.safety_plan_save(
        actor=personas.alice, client=personas.dana,
        data=SafetyPlanData(warning_signs="Staying in bed all day"),
    )  # fmt: skip
    administration = assign(personas)
    html = answer_all(dana_client, administration, item9=1)  # "Several days"

    alert = RiskAlert.objects.get(administration=administration)
    assert alert.flags == ["self_harm_item"]
    text = visible_text(html)
    # The crisis information comes first, before what happens to the answers.
    assert text.index("If you need help now") < text.index("Your answers have reached")
    assert 'href="tel:999"' in html
    assert 'href="tel:116123"' in html
    assert 'href="tel:+442079460000"' in html
    assert "24 hours, every day" in text
    assert reverse("portal:safety-plan") in html
    # When the clinician sees it, honestly.
    assert f"Alice Clinician will see your answers {RESPONSE_TIME}." in text
    assert "not watched all day and night" in text
    assert reverse("portal:home") in html  # never a dead end
    for judgement in ("fail", "wrong", "bad answer", "should not", "must not"):
        assert judgement not in text.lower()


@pytest.mark.django_db
def test_the_crisis_page_reads_at_about_age_11_to_12(personas, dana_client):
    with_contacts(personas)
    html = answer_all(dana_client, assign(personas), item9=2)
    text = visible_text(html)
    assert reading_grade(text) <= 7.0, text


@pytest.mark.django_db
def test_no_risk_answer_gets_the_ordinary_thanks(personas, dana_client):
    with_contacts(personas)
    administration = assign(personas)
    html = answer_all(dana_client, administration, item9=0)
    assert not RiskAlert.objects.filter(administration=administration).exists()
    text = visible_text(html)
    assert "Your answers have been sent to your clinician." in text
    assert f"Your clinician will see them {RESPONSE_TIME}." in text
    assert "If you need help now" not in text
    assert "thoughts of hurting yourself" not in text


@pytest.mark.django_db
def test_the_confirmation_is_an_audited_read_of_her_own_answers(personas, dana_client):
    administration = assign(personas)
    answer_all(dana_client, administration, item9=1)
    reads = AuditEvent.objects.filter(action="read", detail="portal questionnaire sent")
    assert reads.count() == 1
    # Somebody else's questionnaire is not there for her.
    other = measures.administration_assign(
        actor=personas.charlie, client=personas.erin,
        instrument=Instrument.objects.get(code="PHQ-9", practice__isnull=True),
        due_on=timezone.localdate(),
    )  # fmt: skip
    assert dana_client.get(reverse("portal:questionnaire", args=[other.uuid])).status_code == 404


@pytest.mark.django_db
def test_without_practice_contacts_the_page_still_helps_and_shows_no_placeholder(
    personas, dana_client
):
    without_contacts(personas)
    html = answer_all(dana_client, assign(personas), item9=3)
    text = visible_text(html)
    assert "Call your local emergency number" in text
    assert "emergency department" in text
    assert "the next time they are at work" in text
    assert 'href="tel:' not in html
    for placeholder in PLACEHOLDERS:
        assert placeholder not in text


@pytest.mark.django_db
@pytest.mark.parametrize(
    "name",
    ["portal:home", "portal:questionnaires", "portal:diary", "portal:goals", "portal:messages"],
)
def test_every_portal_page_has_help_one_tap_away(personas, dana_client, name):
    with_contacts(personas)
    html = dana_client.get(reverse(name)).content.decode()
    assert f'href="{reverse("portal:help")}"' in html
    assert 'href="tel:116123"' in html  # the first crisis line, straight from the bar


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["portal:help", "portal:safety-plan"])
def test_help_and_safety_plan_pages_list_the_practice_numbers(personas, dana_client, name):
    with_contacts(personas)
    html = dana_client.get(reverse(name)).content.decode()
    for tel in ("tel:999", "tel:116123", "tel:+442079460000"):
        assert f'href="{tel}"' in html
    assert "Riverside crisis team" in html
    assert "Weekdays 9 to 5" in html


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["portal:help", "portal:safety-plan", "portal:home"])
def test_without_contacts_the_portal_gives_general_guidance(personas, dana_client, name):
    without_contacts(personas)
    html = dana_client.get(reverse(name)).content.decode()
    assert f'href="{reverse("portal:help")}"' in html
    assert 'href="tel:' not in html
    if name != "portal:home":
        assert "Call your local emergency number" in html
    for placeholder in PLACEHOLDERS[:3]:
        assert placeholder not in visible_text(html)


@pytest.mark.django_db
def test_the_clinician_sees_which_contacts_come_with_the_plan(personas, alice_client):
    with_contacts(personas)
    html = alice_client.get(
        reverse("measures:safety-plan", args=[personas.dana.uuid])
    ).content.decode()
    assert "Crisis contacts shown with this plan" in html
    assert 'href="tel:116123"' in html
