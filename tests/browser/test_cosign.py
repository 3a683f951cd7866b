"""A trainee's note and her supervisor, in Chromium (docs/adr/0018-trainee-co-signature.md):
Alice, in training under Bob, signs session 3; it waits on Bob's home page and in his inbox;
he returns it with a comment; Alice reads the comment and appends an amendment; Bob
co-signs; only then does the note appear in Dana's record in her portal."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.axe import assert_no_serious_axe_violations
from tests.browser.test_session_workspace import UUID, WIDE, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

NOTE_3 = "Dana named the argument with Sam as the low point of her week."
NOTE_2 = "We agreed to look at the disputes with Sam."
COMMENT = "Add how her mood changed after the argument."
AMENDMENT = "Her mood fell from 6 to 3 after the argument and lifted once they talked."


def setup_trainee():
    """Alice's sessions 1 and 2 with Dana, signed before her training began, and session 3,
    written but not signed; then Adam marks Alice as in training under Bob."""
    from openipt.accounts import services as accounts
    from openipt.accounts.models import Supervision
    from openipt.portal.tests.matrix import dana_user
    from openipt.testing.personas import make_personas
    from openipt.treatment import services
    from openipt.treatment.tests import factories

    personas = make_personas()
    dana_user(personas)
    course = factories.make_course(personas.alice, personas.dana)
    for number in (1, 2):
        note = NOTE_2 if number == 2 else "First meeting."
        session = factories.make_session(personas.alice, course, number, progress_note=note)
        services.session_sign(actor=personas.alice, session=session, version=session.version)
    third = factories.make_session(personas.alice, course, 3, progress_note=NOTE_3,
                                   focus="The argument with Sam")  # fmt: skip
    supervision = Supervision.objects.get(supervisor__user=personas.bob)
    accounts.supervision_training_set(actor=personas.adam, supervision=supervision,
                                      is_training=True)  # fmt: skip
    return personas, third


def sign_in_dana(page) -> None:
    from openipt.testing.personas import PASSWORD

    page.goto("/accounts/login/")
    page.locator("input[name=login]").fill("dana@example.test")
    page.locator("input[name=password]").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/portal/$"))


def dana_record(page):
    page.goto("/portal/record/")
    return page.get_by_role("region", name="Notes from your sessions")


def test_a_trainees_note_reaches_the_client_only_once_co_signed(
    new_page, live_server, transactional_db
):
    personas, third = setup_trainee()
    session_path = f"/courses/{third.course.uuid}/sessions/{third.uuid}/"
    dana = new_page()
    sign_in_dana(dana)
    expect(dana_record(dana).get_by_text(NOTE_2)).to_be_visible()

    # Alice signs session 3: it waits for Bob.
    alice = new_page(viewport=WIDE)
    sign_in(alice, personas.alice.email)
    alice.goto(session_path)
    alice.get_by_role("button", name="Sign and lock").click()
    expect(alice.get_by_text("waits for your supervisor's co-signature")).to_be_visible()
    record = alice.get_by_role("region", name="Session record")
    expect(record.get_by_text("Awaiting co-signature", exact=True)).to_be_visible()
    assert_no_serious_axe_violations(alice)
    expect(dana_record(dana).get_by_text(NOTE_3)).to_have_count(0)

    # Bob sees it waiting on his home page, opens it, and returns it with a comment.
    bob = new_page(viewport=WIDE)
    sign_in(bob, personas.bob.email)
    waiting = bob.get_by_role("complementary", name="Waiting for you")
    waiting.get_by_role("button", name=re.compile("Note to co-sign")).click()
    bob.wait_for_url(re.compile(rf"/sessions/{UUID}/co-sign/$"))
    expect(bob.get_by_text(NOTE_3)).to_be_visible()
    assert_no_serious_axe_violations(bob)
    bob.get_by_label("Comment for the clinician").fill(COMMENT)
    bob.get_by_role("button", name="Return with a comment").click()
    expect(bob.get_by_text("Note returned.")).to_be_visible()
    expect(dana_record(dana).get_by_text(NOTE_3)).to_have_count(0)

    # Alice finds it returned on her home page, reads the comment and appends an amendment:
    # the note goes back to Bob.
    alice.goto("/")
    waiting = alice.get_by_role("complementary", name="Waiting for you")
    waiting.get_by_role("button", name=re.compile("Note returned")).click()
    alice.wait_for_url(re.compile(rf"/sessions/{UUID}/#cosign$"))
    expect(alice.get_by_text(COMMENT)).to_be_visible()
    expect(alice.get_by_text("Returned with a comment", exact=True)).to_be_visible()
    alice.get_by_role("link", name="Add an amendment").click()
    alice.get_by_label("Amendment").fill(AMENDMENT)
    alice.get_by_role("button", name="Save").click()
    expect(alice.get_by_text("goes back to your supervisor")).to_be_visible()
    expect(dana_record(dana).get_by_text(NOTE_3)).to_have_count(0)

    # Bob finds it in his inbox again and co-signs it.
    bob.goto("/inbox/")
    bob.get_by_role("button", name=re.compile("Note to co-sign")).click()
    expect(bob.get_by_text(AMENDMENT)).to_be_visible()
    bob.get_by_role("button", name="Co-sign", exact=True).click()
    expect(bob.get_by_text("Note co-signed.")).to_be_visible()
    expect(bob.get_by_role("region", name="Session record").get_by_text(
        "Co-signed", exact=True)).to_be_visible()  # fmt: skip

    # Only now does Dana's record show the note, with the amendment.
    notes = dana_record(dana)
    expect(notes.get_by_text(NOTE_3)).to_be_visible()
    expect(notes.get_by_text(AMENDMENT)).to_be_visible()
    assert_no_serious_axe_violations(dana)
