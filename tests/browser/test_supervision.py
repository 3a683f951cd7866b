"""Supervision in Chromium (docs/user/supervision.md): Bob writes a note of his supervision
of Alice, with the case they discussed and a follow-up for her, and signs it; Alice finds
the follow-up on her home page, opens the note and marks the follow-up done. Screenshots
of the pages, wide and at 375 px, go to ``OPENIPT_SCREENSHOTS`` when it is set."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.axe import assert_no_serious_axe_violations
from tests.browser.test_session_workspace import UUID, WIDE, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

AGREED = "Keep the sessions on the move to the new job; ask about sleep every week."
FOLLOW_UP = "Bring the timeline of the move to the next meeting"
PHONE = {"width": 375, "height": 800}


def _shot(page, name: str) -> None:
    folder = os.environ.get("OPENIPT_SCREENSHOTS")
    if folder:
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def setup():
    from openipt.testing.personas import make_personas
    from openipt.treatment.tests import factories

    personas = make_personas()
    factories.make_course(personas.alice, personas.dana)
    return personas


def test_bob_signs_a_supervision_note_and_alice_marks_her_follow_up_done(
    new_page, live_server, transactional_db
):
    personas = setup()
    bob = new_page(viewport=WIDE)
    sign_in(bob, personas.bob.email)
    bob.get_by_role("navigation").get_by_role("link", name="Supervision").click()
    expect(bob.get_by_role("heading", name="Alice Clinician")).to_be_visible()
    _shot(bob, "supervision-workspace-wide")
    assert_no_serious_axe_violations(bob)

    bob.get_by_role("link", name="Write a supervision note").click()
    bob.get_by_role("checkbox", name="Alice Clinician", exact=True).check()
    bob.get_by_role("checkbox", name=re.compile(r"^Dana")).check()
    bob.get_by_label("What was agreed").fill(AGREED)
    bob.get_by_label("Follow-up 1", exact=True).fill(FOLLOW_UP)
    _shot(bob, "supervision-note-form-wide")
    assert_no_serious_axe_violations(bob)
    bob.get_by_role("button", name="Save the draft").click()
    bob.wait_for_url(re.compile(rf"/supervision/meetings/{UUID}/$"))
    expect(bob.get_by_text("Draft", exact=True)).to_be_visible()
    bob.get_by_role("button", name="Sign the note").click()
    expect(bob.get_by_text("The note is signed.")).to_be_visible()
    note_url = bob.url
    _shot(bob, "supervision-note-wide")

    alice = new_page(viewport=PHONE)
    sign_in(alice, personas.alice.email)
    waiting = alice.get_by_role("region", name="From supervision")
    expect(waiting.get_by_text(FOLLOW_UP, exact=True)).to_be_visible()
    _shot(alice, "home-follow-up-375")
    assert_no_serious_axe_violations(alice)
    waiting.get_by_role("link", name=re.compile("supervision with Bob Supervisor")).click()
    expect(alice.get_by_text(AGREED)).to_be_visible()
    assert alice.url == note_url
    _shot(alice, "supervision-note-375")
    assert_no_serious_axe_violations(alice)
    alice.go_back()
    alice.get_by_role("region", name="From supervision").get_by_role(
        "button", name=re.compile("Mark done")
    ).click()
    expect(alice.get_by_text("Marked done.")).to_be_visible()
    expect(alice.get_by_text(FOLLOW_UP)).to_have_count(0)

    bob.goto(note_url)
    expect(bob.get_by_text("Done", exact=True)).to_be_visible()
    bob.set_viewport_size(PHONE)
    bob.goto("/supervision/")
    _shot(bob, "supervision-workspace-375")
