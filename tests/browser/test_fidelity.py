"""Fidelity ratings in Chromium (docs/adr/0020-fidelity-ratings.md): Alice opens "Rate this
session" from her session page and saves her self-rating; Bob, her supervisor, sees the
form without any of her answers, saves his; both then see both ratings and the agreement.
Desktop and phone widths, with an accessibility check."""

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

ALICE_COMMENT = "I let the session drift towards her work worries."
BOB_COMMENT = "Good link between the row with Sam and her low mood."
# Where screenshots go when asked for (OPENIPT_SCREENSHOTS=/some/dir); none by default.
SHOTS = os.environ.get("OPENIPT_SCREENSHOTS", "")


def shot(page, name: str) -> None:
    if SHOTS:
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


def setup_session():
    from openipt.testing.personas import make_personas
    from openipt.treatment.tests import factories

    personas = make_personas()
    course = factories.make_course(personas.alice, personas.dana)
    session = factories.make_session(personas.alice, course, 1, focus="Grief after her mother")
    return session


def rate(page, scores: dict[str, str], overall: str, comment: str) -> None:
    """Choose a score (its label, e.g. "2 · Done adequately") for the items named by a part
    of their text; the rest keep what the form offers."""
    for text, label in scores.items():
        group = page.get_by_role("group", name=re.compile(re.escape(text)))
        group.get_by_label(label, exact=True).check()
    page.get_by_role("group", name=re.compile("how well was IPT delivered")).get_by_label(
        overall, exact=True
    ).check()
    page.get_by_label(re.compile("^Comments")).fill(comment)


EVERY_SESSION_AND_START = [
    "Kept to the agreed number",
    "Kept the conversation on the client",
    "warm, active and hopeful",
    "Stayed with IPT",
    "current symptoms",
    "Explained that the client is unwell",
    "important people",
    "Shared a link",
]


def test_alice_and_bob_rate_blind_then_both_see_the_agreement(new_page):
    session = setup_session()
    rate_url = f"/courses/{session.course.uuid}/sessions/{session.uuid}/fidelity/"

    alice = new_page(viewport=WIDE)
    sign_in(alice, "alice@riverside.test")
    alice.goto(f"/courses/{session.course.uuid}/sessions/{session.uuid}/")
    alice.get_by_role("link", name="Rate this session").click()
    expect(alice.get_by_role("heading", name="Fidelity rating — session 1")).to_be_visible()
    shot(alice, "fidelity-form-desktop")
    assert_no_serious_axe_violations(alice)
    alice.get_by_role("button", name="Save my rating").click()  # nothing chosen yet
    expect(alice.get_by_text("Please check the highlighted fields.")).to_be_visible()
    alice_scores = ["0 · Not done", "1 · Touched on", "2 · Done adequately", "3 · Done well",
                    "2 · Done adequately", "3 · Done well", "2 · Done adequately",
                    "1 · Touched on"]  # fmt: skip
    rate(alice, dict(zip(EVERY_SESSION_AND_START, alice_scores, strict=True)), "2 · Adequately",
         ALICE_COMMENT)  # fmt: skip
    alice.get_by_role("button", name="Save my rating").click()
    expect(alice.get_by_text("Your rating is saved.")).to_be_visible()
    expect(alice.get_by_text("Your supervisor has not rated this session yet.")).to_be_visible()

    bob = new_page(viewport=PHONE_VIEWPORT)
    sign_in(bob, "bob@riverside.test")
    bob.goto(rate_url)
    expect(bob.get_by_text("The therapist has rated this session.")).to_be_visible()
    assert ALICE_COMMENT not in bob.content()
    shot(bob, "fidelity-form-phone")
    assert bob.evaluate("document.documentElement.scrollWidth") <= PHONE_VIEWPORT["width"]
    bob_scores = ["0 · Not done", "2 · Done adequately", "2 · Done adequately", "3 · Done well",
                  "1 · Touched on", "3 · Done well", "2 · Done adequately",
                  "2 · Done adequately"]  # fmt: skip
    rate(bob, dict(zip(EVERY_SESSION_AND_START, bob_scores, strict=True)), "3 · Well",
         BOB_COMMENT)  # fmt: skip
    bob.get_by_role("button", name="Save my rating").click()
    expect(bob.get_by_text("Your rating is saved.")).to_be_visible()
    # Eight items both scored (the middle and ending items start as not applicable).
    # Alice 0 1 2 3 2 3 2 1, Bob 0 2 2 3 1 3 2 2: five the same. Squared differences sum to 3;
    # by chance (every Alice score against every Bob score, over 8) 116 / 8 = 14.5; so
    # kappa = 1 - 3 / 14.5 = 0.79.
    expect(bob.get_by_text("Quadratic-weighted kappa over 8 items: 0.79")).to_be_visible()
    expect(bob.get_by_text("The same score on 5 of 8 items (62%)")).to_be_visible()
    expect(bob.get_by_text(ALICE_COMMENT)).to_be_visible()
    shot(bob, "fidelity-comparison-phone")
    assert bob.evaluate("document.documentElement.scrollWidth") <= PHONE_VIEWPORT["width"]
    assert_no_serious_axe_violations(bob)

    alice.goto(rate_url)
    expect(alice.get_by_text(BOB_COMMENT)).to_be_visible()
    expect(alice.get_by_text("Quadratic-weighted kappa over 8 items:")).to_be_visible()
    shot(alice, "fidelity-comparison-desktop")
