"""Instruments shown as their owners publish them (issue 10; docs/measures.md §1): display
items (instructions, time frames, item notes) are kept, the copyright or source notice is
shown wherever the items are, and a clinician-rated instrument is never sent to a client."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.template import Context, Template
from django.test import Client as HttpClient
from django.urls import reverse
from django.utils import timezone

from openipt.engagement import accounts
from openipt.measures import services
from openipt.measures.models import Administration, Instrument
from openipt.measures.scoring import parse_questionnaire
from openipt.measures.scoring.parser import PERFORMER_TYPE_URL
from openipt.measures.tests.helpers import FILES, builtin_resource, epds_resource
from openipt.testing.personas import PASSWORD, Personas, give_crisis_contacts
from openipt.treatment.tests.factories import make_course

SELF_REPORT = [code for code in FILES if code != "HAM-D-17"]


@pytest.fixture
def dana_client(personas: Personas) -> HttpClient:
    """Dana signed in to the portal (her account made through the real invitation)."""
    give_crisis_contacts(personas.practice)
    _invitation, token = accounts.portal_invite(
        actor=personas.alice, client=personas.dana, email="dana@example.test"
    )
    http = HttpClient()
    http.force_login(accounts.portal_invitation_accept(token=token, password=PASSWORD))
    return http


def parsed(resource):
    outcome = parse_questionnaire(resource)
    assert outcome.definition is not None, outcome.errors
    return outcome.definition


def _display(link_id: str, text: str) -> dict[str, str]:
    return {"linkId": link_id, "type": "display", "text": text}


# --- the parser keeps display items where the owner put them ------------------------------


@pytest.mark.parametrize(
    ("code", "start"),
    [
        ("PHQ-9", "Over the last 2 weeks, how often have you been bothered by any of"),
        ("PHQ-2", "Over the last 2 weeks"),
        ("GAD-7", "Over the last 2 weeks, how often have you been bothered by the following"),
        ("GAD-2", "Over the last 2 weeks"),
        ("WHO-5", "Please indicate for each of the five statements"),
        ("HAM-D-17", "Clinician-rated. Rate each item for the past week."),
    ],
)
def test_every_builtin_keeps_its_instructions_and_notice(code: str, start: str) -> None:
    definition = parsed(builtin_resource(code))
    assert definition.instructions[0].startswith(start)
    assert definition.notice
    assert all(item.text for item in definition.items)  # no display item became a question


def test_who5_keeps_its_time_frame_and_its_required_notice() -> None:
    definition = parsed(builtin_resource("WHO-5"))
    assert definition.instructions[1] == "Over the last two weeks"
    assert "Psychiatric Research Unit" in definition.notice


def test_hamd17_item16_keeps_its_b_anchors_and_it_is_clinician_rated() -> None:
    definition = parsed(builtin_resource("HAM-D-17"))
    item16 = definition.item("16")
    assert item16 is not None
    assert item16.notes[0].startswith("B: according to weekly measurements")
    assert definition.item("17").preamble == ()
    assert definition.performer_types == ("Practitioner",)
    assert definition.clinician_rated
    assert not any(parsed(builtin_resource(code)).clinician_rated for code in SELF_REPORT)


def test_display_items_between_after_and_inside_questions() -> None:
    resource = epds_resource()
    group = resource["item"][0]["item"]
    group.insert(0, _display("d-intro", "Placeholder intro"))
    group.insert(0, _display("d-blank", "   "))  # nothing to show: left out
    group.insert(4, _display("d-stem", "Placeholder stem"))  # between items 2 and 3
    group[6]["item"] = [_display("d-note", "Placeholder note")]  # nested in item 4
    group.append(_display("d-end", "Placeholder closing"))
    definition = parsed(resource)
    assert definition.instructions == ("Placeholder intro",)
    assert definition.item("3").preamble == ("Placeholder stem",)
    assert definition.item("4").notes == ("Placeholder note",)
    assert definition.closing == ("Placeholder closing",)
    assert definition.item("2").preamble == ()


def test_a_note_under_a_question_without_a_link_id_cannot_attach_and_the_file_is_refused() -> None:
    resource = epds_resource()
    first = resource["item"][0]["item"][0]
    del first["linkId"]
    first["item"] = [_display("d-orphan", "Placeholder")]
    outcome = parse_questionnaire(resource)
    assert outcome.definition is None
    assert any("has no linkId" in error for error in outcome.errors)


@pytest.mark.parametrize(
    ("performers", "clinician_rated"),
    [([], False), (["Patient"], False), (["Practitioner"], True),
     (["Patient", "Practitioner"], False), (["RelatedPerson"], True)],
)  # fmt: skip
def test_performer_types_say_who_fills_it_in(performers, clinician_rated) -> None:
    resource = epds_resource()
    resource["extension"] += [{"url": PERFORMER_TYPE_URL, "valueCode": p} for p in performers]
    assert parsed(resource).clinician_rated is clinician_rated


def test_an_unknown_performer_type_is_refused() -> None:
    resource = epds_resource()
    resource["extension"].append({"url": PERFORMER_TYPE_URL, "valueCode": "Robot"})
    outcome = parse_questionnaire(resource)
    assert any("performerType must be one of" in error for error in outcome.errors)


def test_the_notice_falls_back_to_the_citation() -> None:
    resource = epds_resource()
    resource.pop("copyright", None)
    definition = parsed(resource)
    assert definition.notice == definition.citation


# --- shown in the portal and on the clinician's pages -----------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("code", SELF_REPORT)
def test_the_portal_shows_instructions_above_and_the_notice_below(
    personas: Personas, dana_client, code: str
) -> None:
    instrument = Instrument.objects.get(code=code, practice__isnull=True)
    administration = services.administration_assign(
        actor=personas.alice, client=personas.dana, instrument=instrument,
        due_on=timezone.localdate(),
    )  # fmt: skip
    url = reverse("portal:questionnaire", args=[administration.uuid])
    definition = instrument.parsed
    html = dana_client.get(url).content.decode()
    item_at = html.index(_escaped(definition.items[0].text))
    for text in definition.instructions:
        assert 0 < html.index(_escaped(text)) < item_at
    assert html.index(_escaped(definition.copyright)) > item_at
    for item in definition.items:
        dana_client.post(url, {"answer": item.options[0].code})
    review = dana_client.get(url).content.decode()
    assert "Send my answers" in review
    assert _escaped(definition.copyright) in review


def _escaped(text: str) -> str:
    return Template("{{ t }}").render(Context({"t": text}))


@pytest.mark.django_db
def test_every_later_question_keeps_the_time_frame_above_it(personas: Personas, dana_client):
    instrument = Instrument.objects.get(code="PHQ-9", practice__isnull=True)
    administration = services.administration_assign(
        actor=personas.alice, client=personas.dana, instrument=instrument,
        due_on=timezone.localdate(),
    )  # fmt: skip
    url = reverse("portal:questionnaire", args=[administration.uuid])
    for item in instrument.parsed.items[:8]:
        dana_client.post(url, {"answer": item.options[0].code})
    html = dana_client.get(f"{url}?step=9").content.decode()
    assert "Question 9 of 10" in html
    assert "Over the last 2 weeks" in html


@pytest.mark.parametrize("code", list(FILES))
def test_the_tags_give_the_clinician_form_its_instructions_notes_and_notice(code: str) -> None:
    definition = parsed(builtin_resource(code))
    html = Template(
        "{% load instrument_display %}{% instrument_instructions d %}"
        "{% for item in d.items %}{% instrument_item_notes item %}{% endfor %}"
        "{% instrument_notice d %}"
    ).render(Context({"d": definition}))
    assert _escaped(definition.instructions[0]) in html
    assert _escaped(definition.copyright) in html
    if definition.citation:
        assert _escaped(definition.citation) in html
    if code == "HAM-D-17":
        assert "B: according to weekly measurements" in html


@pytest.mark.django_db
@pytest.mark.parametrize("code", list(FILES))
def test_the_clinician_entry_page_shows_instructions_and_notice(
    personas: Personas, alice_client, code: str
) -> None:
    course = make_course(personas.alice, personas.dana)
    url = reverse("measures:administration-create", args=[course.uuid])
    html = alice_client.get(f"{url}?instrument={code}").content.decode()
    definition = parsed(builtin_resource(code))
    assert _escaped(definition.instructions[0]) in html
    assert _escaped(definition.copyright) in html


# --- a clinician-rated instrument is never sent to a client -----------------------------


@pytest.mark.django_db
def test_assigning_hamd17_to_a_client_is_refused_with_a_clear_message(personas: Personas):
    hamd = Instrument.objects.get(code="HAM-D-17", practice__isnull=True)
    with pytest.raises(ValidationError) as error:
        services.administration_assign(
            actor=personas.alice, client=personas.dana, instrument=hamd,
            due_on=timezone.localdate(),
        )  # fmt: skip
    assert "rated by a clinician" in " ".join(error.value.message_dict["instrument"])
    assert not Administration.objects.filter(client=personas.dana).exists()


@pytest.mark.django_db
def test_the_assign_form_never_offers_a_clinician_rated_instrument(alice_client, course):
    page = alice_client.get(reverse("measures:course-measures", args=[course.uuid]))
    choices = page.context["assign_form"].fields["instrument"].choices
    assert "HAM-D-17" not in [code for code, _title in choices]
    assert "PHQ-9" in [code for code, _title in choices]

    response = alice_client.post(
        reverse("measures:administration-assign", args=[course.uuid]),
        {"instrument": "HAM-D-17", "due_on": "2099-01-01"},
        follow=True,
    )
    assert response.status_code == 200
    assert "HAM-D-17 is not one of the available choices" in response.content.decode()
