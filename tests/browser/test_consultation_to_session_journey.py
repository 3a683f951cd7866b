"""From a consultation request to a session, end to end in Chromium: someone anonymous asks for
a consultation -> Alice triages it in the intake queue and books it, which creates the
client -> Alice invites Dana to the portal -> Dana, on a 375 px phone, sets her password,
completes the PHQ-9 that is due before session 3 and writes two diary entries -> Alice
records session 3 and sees the new score and both diary entries in its opening review.

Every portal page Dana visits is checked with axe-core (no serious or critical violation)
and for sideways scrolling.

To keep browser time short, the IPT course and its sessions 1 and 2 (dated in the past) and
the PHQ-9 assignment are made through the services once the client exists (``course_so_far``);
everything else goes through the real pages.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.core import mail
from django.utils import timezone

from tests.browser.axe import assert_no_serious_axe_violations
from tests.browser.conftest import PHONE_VIEWPORT
from tests.browser.totp import current_totp_code

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

UUID = r"[0-9a-f-]{36}"
DANA_EMAIL = "dana.rivers@example.test"
DANA_PASSWORD = "a long portal passphrase 2026"


def sign_in_staff(page, email: str) -> None:  # type: ignore[no-untyped-def]
    """The real sign-in: password, then the authenticator code (personas share one secret)."""
    from openipt.testing.personas import PASSWORD, TOTP_SECRET

    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/accounts/2fa/authenticate/"))
    page.get_by_label(re.compile("code", re.I)).first.fill(current_totp_code(TOTP_SECRET))
    page.get_by_role("button", name=re.compile("Sign in|Verify|Continue", re.I)).click()
    page.wait_for_url(re.compile(r"/$"))


def on_phone(page, path_pattern: str):  # type: ignore[no-untyped-def]
    """On the expected page, with no serious axe-core violation, nothing wider than a phone."""
    page.wait_for_url(re.compile(path_pattern))
    assert_no_serious_axe_violations(page)
    width = page.evaluate("document.scrollingElement.scrollWidth")
    assert width <= PHONE_VIEWPORT["width"], f"{page.url} scrolls sideways ({width}px)"
    return page


def course_so_far(personas, client_uuid: str):  # type: ignore[no-untyped-def]
    """Sessions 1 and 2 held in the past weeks, with something to try after session 2; the
    PHQ-9 due before session 3 (today)."""
    from openipt.clients.models import Client
    from openipt.measures import services as measures
    from openipt.measures.models import Instrument
    from openipt.treatment import services as treatment

    client = Client.objects.get(uuid=client_uuid)
    today = timezone.localdate()
    course = treatment.course_create(
        actor=personas.alice, client=client, clinician=personas.membership(personas.alice),
        data=treatment.CourseData(format="ipt", start_date=today - dt.timedelta(days=21)),
    )  # fmt: skip
    for number, days_ago in ((1, 14), (2, 7)):
        starts_at = timezone.now() - dt.timedelta(days=days_ago)
        session = treatment.session_create(
            actor=personas.alice,
            course=course,
            data=treatment.SessionData(number=number, starts_at=starts_at),
        )
    treatment.task_set(actor=personas.alice, session=session, text="Phone my sister on Sunday")
    measures.administration_assign(
        actor=personas.alice, client=client, course=course, due_on=today,
        instrument=Instrument.objects.get(code="PHQ-9", practice__isnull=True),
    )  # fmt: skip
    return course


def test_consultation_request_to_opening_review(new_page, live_server, transactional_db):
    from openipt.testing.personas import give_crisis_contacts, make_personas

    personas = make_personas()
    give_crisis_contacts(personas.practice)

    # Someone anonymous asks for a confidential consultation.
    anon = new_page(viewport=PHONE_VIEWPORT)
    anon.goto(f"/consultation/?practice={personas.practice.uuid}")
    on_phone(anon, r"/consultation/")
    anon.get_by_label("Your name").fill("Dana Rivers")
    anon.get_by_label("Email address").fill(DANA_EMAIL)
    anon.get_by_label(re.compile("I agree that the practice may contact me")).check()
    anon.get_by_role("button", name="Send my request").click()
    on_phone(anon, r"/consultation/thanks/$")

    # Alice triages it: books the consultation, which creates the client.
    alice = new_page()
    sign_in_staff(alice, personas.alice.email)
    alice.goto("/intake/")
    alice.get_by_role("link", name="Dana Rivers").click()
    alice.get_by_label("Date of birth").fill("1991-04-01")
    clinician = alice.get_by_label("Clinician")
    clinician.select_option(clinician.locator("option", has_text="Alice").get_attribute("value"))
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    alice.get_by_label(re.compile("Consultation date and time")).fill(f"{tomorrow}T10:00")
    alice.get_by_role("button", name="Book and create the client").click()
    alice.wait_for_url(re.compile(rf"/clients/({UUID})/$"))
    client_uuid = re.search(rf"/clients/({UUID})/$", alice.url).group(1)  # type: ignore[union-attr]
    course = course_so_far(personas, client_uuid)

    # Alice invites Dana from the client page; the link arrives by email.
    mail.outbox.clear()
    alice.get_by_role("link", name="Portal", exact=True).click()
    alice.wait_for_url(re.compile(rf"/clients/{client_uuid}/portal/$"))
    alice.get_by_label("The client's email address").fill(DANA_EMAIL)
    alice.get_by_role("button", name="Invite to the portal").click()
    alice.get_by_text(f"Invitation sent to {DANA_EMAIL}").wait_for()
    [invitation] = [m for m in mail.outbox if DANA_EMAIL in m.to]
    link = re.search(r"https?://\S+(/portal/welcome/[^\s/]+/)", invitation.body)
    assert link is not None, invitation.body

    # Dana, on her phone, sets her password and is signed in to her portal.
    dana = new_page(viewport=PHONE_VIEWPORT)
    dana.goto(link.group(1))
    on_phone(dana, r"/portal/welcome/")
    dana.get_by_label("Choose a password").fill(DANA_PASSWORD)
    dana.get_by_label("Type the password again").fill(DANA_PASSWORD)
    dana.get_by_role("button", name="Create my account").click()
    on_phone(dana, r"/portal/$")

    # She completes the PHQ-9, one question per screen.
    dana.get_by_role("link", name=re.compile("Answer:")).click()
    for number in range(1, 11):
        dana.get_by_text(f"Question {number} of 10").wait_for()
        on_phone(dana, r"/portal/questionnaires/")
        # "Several days" for questions 1-8; "Not at all" for 9 (no risk alert) and 10.
        dana.locator("label.choice").nth(1 if number <= 8 else 0).click()
        dana.get_by_role("button", name=re.compile("Save and")).click()
    dana.get_by_role("button", name="Send my answers").wait_for()
    on_phone(dana, r"/portal/questionnaires/")
    dana.get_by_role("button", name="Send my answers").click()
    on_phone(dana, r"/portal/questionnaires/[0-9a-f-]+/$")  # the thank-you, at its own address

    # Two diary entries.
    for mood, who in (("3", "my sister"), ("6", "my partner")):
        dana.goto("/portal/diary/new/")
        on_phone(dana, r"/portal/diary/new/$")
        dana.locator(f"input[name=mood][value='{mood}']").check()
        dana.get_by_label("Who were you with").fill(who)
        dana.get_by_role("button", name="Save").click()
        on_phone(dana, r"/portal/diary/$")

    # The task from session 2: done, with a note.
    dana.goto("/portal/tasks/")
    on_phone(dana, r"/portal/tasks/$")
    dana.get_by_role("link", name="Phone my sister on Sunday").click()
    on_phone(dana, rf"/portal/tasks/{UUID}/$")
    dana.get_by_label("I did it").check()
    dana.get_by_label(re.compile("Anything you'd like to tell")).fill("We talked for an hour")
    dana.get_by_role("button", name="Save").click()
    on_phone(dana, r"/portal/tasks/$")
    assert dana.get_by_text("Done — well done").count() == 1

    # Alice records session 3 and sees the new score and the diary in the opening review.
    from openipt.measures.models import Administration

    completed = Administration.objects.get(client__uuid=client_uuid, status="completed")
    assert completed.total_display == "8"
    alice.goto(f"/courses/{course.uuid}/")
    alice.get_by_role("link", name="Record session 3").click()  # the overview's first action
    alice.get_by_role("heading", name="Since last session: from Dana's diary").wait_for()
    alice.get_by_role("button", name="Save session").click()
    alice.wait_for_url(re.compile(rf"/courses/{course.uuid}/sessions/{UUID}/edit/$"))
    alice.goto(alice.url.removesuffix("edit/"))  # saving stays on the note; the signed view
    assert_no_serious_axe_violations(alice)
    review = alice.locator("section#review")
    assert review.get_by_role("heading", name="Since last session: from Dana's diary").count() == 1
    assert review.get_by_text("with my sister").count() == 1
    assert review.get_by_text("with my partner").count() == 1
    scores = review.get_by_role("table")
    assert scores.get_by_role("cell", name="PHQ-9").count() == 1
    assert scores.get_by_role("cell", name="8", exact=True).count() == 1
    assert scores.get_by_role("cell", name="Mild").count() == 1
    assert review.get_by_text("Client's note: We talked for an hour").count() == 1
