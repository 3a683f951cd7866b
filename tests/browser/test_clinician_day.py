"""The clinician's day from the calendar home, in Chromium, counted as Alice makes it
(issue 9's budgets; docs/quality.md U2):

- a new message from Dana: found and opened from the home page in at most 2 clicks;
- today's session with an in-session PHQ-9: from the calendar's "Write the note" to the
  signed note in at most 6 clicks and 3 page loads besides typing (the home page counted);
- a retried "Save and sign" (the same form sent twice) signs once and saves one PHQ-9.

Screenshots of the home page at 1366 and 375 px go to /tmp/shots (``shoot``).
"""

from __future__ import annotations

import re

import pytest

from tests.browser.axe import assert_no_serious_axe_violations
from tests.browser.test_session_workspace import (
    UUID,
    WIDE,
    Counter,
    shoot,
    sign_in,
    todays_appointment,
)

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

MESSAGE = "Could we talk about my sister next time?"


def test_a_new_message_is_found_and_opened_from_home_in_two_clicks(
    new_page, live_server, transactional_db
):
    from openipt.engagement import messaging
    from openipt.portal.tests.conftest import portal_user_for
    from openipt.testing.personas import make_personas

    personas = make_personas()
    dana = portal_user_for(personas.alice, personas.dana, "dana@example.test")
    messaging.message_send(actor=dana, client=personas.dana, body=MESSAGE)
    alice = new_page(viewport=WIDE)
    sign_in(alice, personas.alice.email)  # lands on the calendar home
    assert_no_serious_axe_violations(alice)
    shoot(alice, "day-home")
    count = Counter(alice)

    count.click(alice.get_by_role("button", name=re.compile("Message.*Dana")).first)
    alice.wait_for_url(re.compile(rf"/clients/{UUID}/messages/"))

    assert count.clicks <= 2, count.clicks
    assert alice.get_by_text(MESSAGE).is_visible()


def test_todays_session_with_a_phq9_from_the_calendar_in_six_clicks_and_three_loads(
    new_page, live_server, transactional_db
):
    from openipt.measures.models import Administration, RiskAlert
    from openipt.testing.personas import make_personas
    from openipt.treatment.models import Session

    personas = make_personas()
    todays_appointment(personas)
    alice = new_page(viewport=WIDE)
    sign_in(alice, personas.alice.email)
    count = Counter(alice)  # the calendar home is load 1 (counted below)

    count.click(alice.get_by_role("button", name=re.compile("^Write the note")).first)
    alice.wait_for_url(re.compile(rf"/sessions/{UUID}/edit/$"))
    alice.keyboard.type("2121110011")  # the cursor starts in the PHQ-9 box
    count.click(alice.get_by_label("Focus of the session"))
    alice.keyboard.type("The argument with Sam about his working weekends.")
    risk = alice.get_by_role("combobox", name="Risk check")
    count.click(risk)
    risk.select_option("concerns")
    count.click(alice.get_by_label("Risk notes"))
    alice.keyboard.type("Passive thoughts some days; no plan. Safety plan reviewed together.")
    count.click(alice.get_by_role("button", name="Save and sign"))
    alice.wait_for_url(re.compile(rf"/sessions/{UUID}/$"))

    assert count.clicks <= 6, count.clicks
    assert 1 + len(count.loads) <= 3, count.loads
    assert alice.get_by_text("Session saved and signed.").is_visible()
    session = Session.objects.get()
    assert session.is_signed
    assert Administration.objects.get().session_id == session.pk
    assert RiskAlert.objects.count() == 1
    assert_no_serious_axe_violations(alice)


def test_save_and_sign_sent_twice_signs_once_and_keeps_one_phq9(
    new_page, live_server, transactional_db
):
    """The browser's retry of the same form (a lost response) is answered with the first
    result: one PHQ-9, one risk alert, one signature."""
    from openipt.measures.models import Administration, RiskAlert
    from openipt.testing.personas import make_personas
    from openipt.treatment.models import Session

    personas = make_personas()
    todays_appointment(personas)
    alice = new_page(viewport=WIDE)
    sign_in(alice, personas.alice.email)
    alice.get_by_role("button", name=re.compile("^Write the note")).first.click()
    alice.wait_for_url(re.compile(rf"/sessions/{UUID}/edit/$"))
    alice.keyboard.type("2121110011")
    alice.get_by_role("combobox", name="Risk check").select_option("concerns")
    alice.get_by_label("Risk notes").fill("Passive thoughts; no plan.")
    form = alice.locator("form", has=alice.get_by_role("button", name="Save and sign"))
    alice.evaluate(
        """(form) => {
            const data = new FormData(form);
            data.append("sign", "1");
            const send = () => fetch(form.action || location.href,
                {method: "POST", body: data, redirect: "manual", credentials: "same-origin"});
            return Promise.all([send(), send()]).then(() => send());
        }""",
        form.element_handle(),
    )

    assert Administration.objects.count() == 1
    assert RiskAlert.objects.count() == 1
    assert Session.objects.get().is_signed
