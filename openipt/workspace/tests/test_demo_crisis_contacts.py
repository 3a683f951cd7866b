"""The demo practice gives its clients crisis contacts that read like a real practice's and
are plainly made up: numbers from the UK ranges kept for drama, each line marked as part of
the demo, warm words about what to do, and when clinicians see messages."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client as HttpClient
from django.urls import reverse

from openipt.accounts.models import Practice, phone_digits
from openipt.engagement.models import PortalAccess
from openipt.workspace.management.commands.load_demo import PRACTICE_NAME
from openipt.workspace.management.demo.crisis import DEMO_CRISIS_SETTINGS

# Ofcom's numbers for drama: 020 7946 0xxx, 0808 157 0xxx, 01632 960xxx, 07700 900xxx.
FICTIONAL = re.compile(r"^(02079460|08081570|01632960|07700900)\d{3}$")
PLACEHOLDERS = ("in a real practice", "placeholder", "todo", "lorem", "[", "xxx")


def test_every_number_is_from_a_range_that_connects_to_nobody() -> None:
    assert DEMO_CRISIS_SETTINGS.crisis_lines
    for line in DEMO_CRISIS_SETTINGS.crisis_lines:
        assert FICTIONAL.match(phone_digits(line.number)), line.number
        assert "not a real number" in line.name
        assert line.hours
    assert DEMO_CRISIS_SETTINGS.emergency_number == ""  # the portal says "your local" one


def test_the_words_are_plain_and_say_it_is_a_demo() -> None:
    text = DEMO_CRISIS_SETTINGS.crisis_information
    assert "emergency department" in text
    assert "demo practice" in text.lower()
    assert "do not connect" in text
    assert DEMO_CRISIS_SETTINGS.response_time.startswith("within")
    for placeholder in PLACEHOLDERS:
        assert placeholder not in text.lower()


@pytest.mark.django_db
def test_the_demo_practice_has_them_and_its_portal_shows_them() -> None:
    call_command("load_demo", stdout=StringIO())
    practice = Practice.objects.get(name=PRACTICE_NAME)
    assert practice.crisis_contacts == tuple(DEMO_CRISIS_SETTINGS.crisis_lines)
    assert practice.response_time == DEMO_CRISIS_SETTINGS.response_time
    assert practice.crisis_information == DEMO_CRISIS_SETTINGS.crisis_information
    access = PortalAccess.objects.filter(client__practice=practice, user__isnull=False).first()
    assert access is not None
    assert access.user is not None
    http = HttpClient()
    http.force_login(access.user)
    html = http.get(reverse("portal:help")).content.decode()
    assert 'href="tel:08081570192"' in html
    assert "not a real number" in html
    assert "In a real practice" not in html
