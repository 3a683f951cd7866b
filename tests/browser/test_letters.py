"""Letters in Chromium (docs/user/letters.md): Alice opens "Letters and reports" from the
course page, previews the end-of-treatment letter, writes it and downloads the PDF; the
kept letter shows its charts; the page passes the accessibility check; the PDF's own
template is looked at as a page too. Desktop and phone widths."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.axe import assert_no_serious_axe_violations
from tests.browser.conftest import PHONE_VIEWPORT
from tests.browser.test_session_workspace import WIDE, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

# Where screenshots go when asked for (OPENIPT_SCREENSHOTS=/some/dir); none by default.
SHOTS = os.environ.get("OPENIPT_SCREENSHOTS", "")


def shot(page, name: str) -> None:
    if SHOTS:
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


def no_sideways_scroll(page) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"))


def test_alice_previews_writes_and_downloads_the_end_of_treatment_letter(new_page):
    from django.template.loader import render_to_string

    from openipt.care import letters
    from openipt.care.tests.letter_fixture import CANARY, GAINS, consent_to_all, demo_course
    from openipt.testing.personas import make_personas
    from openipt.treatment.models import Letter

    personas = make_personas()
    course = demo_course(personas)
    consent_to_all(personas)

    alice = new_page(viewport=WIDE)
    sign_in(alice, "alice@riverside.test")
    alice.goto(f"/courses/{course.uuid}/")
    alice.get_by_role("link", name="Letters and reports").click()
    alice.get_by_role("link", name="End-of-treatment letter").click()
    expect(alice.get_by_role("heading", name="Preview")).to_be_visible()
    expect(alice.get_by_text(GAINS)).to_be_visible()
    shot(alice, "letter-preview-desktop")

    alice.get_by_label("Who the letter is to").fill("Dr A. Rao")
    alice.get_by_label("Their address").fill("Riverside Surgery\n1 High Street")
    alice.get_by_role("button", name="Write the letter").click()
    expect(alice.get_by_role("heading", name="End-of-treatment letter")).to_be_visible()
    expect(alice.locator(".letter-chart svg")).to_have_count(2)
    assert CANARY not in alice.content()
    assert_no_serious_axe_violations(alice)
    shot(alice, "letter-kept-desktop")

    with alice.expect_download() as download:
        alice.get_by_role("link", name="Download PDF").click()
    assert download.value.suggested_filename == "letter-end_of_treatment.pdf"

    phone = alice  # the same person on a phone-sized window (signing in twice reuses a code)
    phone.set_viewport_size(PHONE_VIEWPORT)
    letter = Letter.objects.get()
    phone.goto(f"/courses/{course.uuid}/letters/{letter.uuid}/")
    expect(phone.get_by_role("link", name="Download PDF")).to_be_visible()
    assert no_sideways_scroll(phone)
    shot(phone, "letter-kept-phone")

    # The PDF's page, from the same template WeasyPrint is given.
    html = render_to_string("letters/letter_pdf.html", {"page": letters.letter_page(letter)})
    sheet = new_page(viewport={"width": 794, "height": 1123})
    sheet.set_content(html)
    expect(sheet.get_by_text(re.compile("Dear Dr A. Rao"))).to_be_visible()
    expect(sheet.locator("svg")).to_have_count(2)
    shot(sheet, "letter-pdf-page")


def test_adam_is_told_next_to_the_wording_that_a_field_is_unknown(new_page):
    from openipt.testing.personas import make_personas

    make_personas()
    adam = new_page(viewport=WIDE)
    sign_in(adam, "adam@riverside.test")
    adam.goto("/letter-templates/")
    adam.get_by_role("link", name="Progress summary for the client").click()
    wording = adam.get_by_label("Wording")
    wording.fill("Dear {client_first_name}, well done on {sesions_attended}.")
    adam.get_by_role("button", name="Save").click()
    expect(adam.get_by_text("“sesions_attended” is not a field we know").first).to_be_visible()
    expect(wording).to_have_value("Dear {client_first_name}, well done on {sesions_attended}.")
    assert_no_serious_axe_violations(adam)
    shot(adam, "letter-wording-error")
