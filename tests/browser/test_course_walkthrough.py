"""A whole IPT course end to end in Chromium: Alice walks Dana through a 12-session individual
IPT course, and at every step the guidance panel shows exactly what the protocol says is
due.

intake -> baseline PHQ-9 -> inventory of five -> timeline with onset -> role dispute
(renegotiation) -> formulation agreed -> contract -> middle sessions with a communication
analysis and a decision analysis -> the ending raised in time -> termination record with a
relapse plan -> course concluded with nothing due.

The steps that matter go through the real pages, by keyboard-friendly means (labelled fields,
buttons by name). Routine sessions in between (2, 3, 5, 7, 8, 10, 11) are recorded through
``treatment.services`` by ``routine_session`` to keep the browser time short; the guidance is
still read from the page after each of them. Sessions are dated weekly in the past, so that
every one of them counts as held.
"""

from __future__ import annotations

import datetime as dt
import re
import tempfile
from dataclasses import replace
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.browser.axe import assert_no_serious_axe_violations
from tests.browser.conftest import DESKTOP_VIEWPORT, PHONE_VIEWPORT
from tests.browser.totp import current_totp_code

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

SHOTS = Path(tempfile.gettempdir()) / "shots"  # /tmp/shots on Linux
UUID = r"[0-9a-f-]{36}"
PEOPLE = (  # name, relationship, closeness ring
    ("Sam", "Partner", "Inner circle (closest)"),
    ("Mum", "Mother", "Inner circle (closest)"),
    ("Priya", "Friend from college", "Middle circle"),
    ("Tom", "Brother", "Middle circle"),
    ("Lee", "Manager at work", "Outer circle"),
)

# What the guidance panel says (protocol.py's reasons, in English), and the badges.
DUE, OVERDUE = "Due", "Overdue"
BASELINE = "Take a baseline depression measure at or before session 1."
INVENTORY = "Record the people in the client's life before the formulation."
TIMELINE = (
    "Record a timeline linking mood to life events, with the onset marked, before the formulation."
)
WRITE_FORMULATION = "Write the formulation and agree it with the client."
AGREE_FORMULATION = "Share the formulation and record the client's agreement and its date."
CONTRACT = "Record the contract: how many sessions, how often, and the focus."
PSYCHOEDUCATION = "Explain the diagnosis and the sick role."
MEDICATION = "Consider medication and record the decision."
PRIMARY_AREA = "Choose the primary problem area."
DISPUTE_PERSON = "Link the dispute to a person in the inventory."
DISPUTE_STAGE = "Record the dispute's stage: still talking, stuck or ending."
RAISE_ENDING = "Raise the ending now; do it by session 10."
ENDING_MISSED = "The ending should have been raised by session 10."
GAINS = "Review progress and credit the client with the gains."
WARNING_SIGNS = "List the early signs of relapse."
RELAPSE_PLAN = "Agree what to do if those signs appear."
FINAL_MEASURE = "Take the final depression measure."
NEXT_STEP = "Record the next step: maintenance, further treatment, referral, or none with a reason."
NOTHING_DUE = "Nothing is due from the protocol right now."


def measure_due(session: int) -> str:
    return f"A depression measure is due at session {session}."


# --- Page helpers -----------------------------------------------------------------------------


def checked(page, path_pattern: str):  # type: ignore[no-untyped-def]
    """On the expected page, and no serious or critical axe-core violation on it."""
    assert re.search(path_pattern, page.url), f"expected {path_pattern}, at {page.url}"
    assert_no_serious_axe_violations(page)
    return page


def sign_in(page, email: str) -> None:  # type: ignore[no-untyped-def]
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


def guidance_items(page) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """The guidance panel as {reason: badge}: the reason is the item's own text, without the
    rule number and the mark form."""
    pairs = page.locator("section[aria-labelledby=due-heading] li").evaluate_all(
        """items => items.map(li => [
            [...li.childNodes].filter(n => n.nodeType === Node.TEXT_NODE)
                .map(n => n.textContent).join('').trim(),
            li.querySelector('.badge').textContent.trim()])"""
    )
    return dict(pairs)


def assert_guidance(page, expected: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    """Exactly these items are shown, with these badges (nothing more, nothing less)."""
    shown = guidance_items(page)
    assert shown == expected, (
        f"guidance on {page.url}\n missing: {set(expected) - set(shown)}\n"
        f" unexpected: {set(shown) - set(expected)}\n shown: {shown}"
    )
    panel = page.get_by_role("region", name="What is due next")
    if expected:
        expect(panel.get_by_text(NOTHING_DUE)).to_have_count(0)
    else:
        expect(panel.get_by_text(NOTHING_DUE)).to_be_visible()


def overview(page, course_url: str, *, held: int, phase: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(course_url)
    status = page.get_by_role("heading", level=2, name=re.compile(r"^Session \d+ of"))
    expect(status).to_have_text(re.compile(rf"^Session {held} of 12 · {re.escape(phase)}"))
    expect(page.get_by_text(f"Sessions held: {held}. Next session: {held + 1}.")).to_be_visible()


def screenshots(page, name: str) -> None:  # type: ignore[no-untyped-def]
    """Desktop and 375 px shots into /tmp/shots; the phone view must not scroll sideways."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"course-{name}-desktop.png"), full_page=True)
    page.set_viewport_size(PHONE_VIEWPORT)
    page.screenshot(path=str(SHOTS / f"course-{name}-375.png"), full_page=True)
    width = page.evaluate("document.scrollingElement.scrollWidth")
    page.set_viewport_size(DESKTOP_VIEWPORT)
    assert width <= PHONE_VIEWPORT["width"], f"the {name} page scrolls sideways ({width}px)"


def local(moment: dt.datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def record_session(  # type: ignore[no-untyped-def]
    page,
    course_url: str,
    number: int,
    when: dt.datetime,
    *,
    mood: int,
    events: str,
    focus: str,
    check: bool = False,
) -> str:
    """Record a session through the form (opening review, focus, task, risk check); its URL."""
    page.goto(course_url)
    page.get_by_role("link", name=f"Record session {number}").click()  # the page's first action
    page.wait_for_url(re.compile(r"/sessions/new/$"))
    if check:
        checked(page, r"/sessions/new/$")
    expect(page.get_by_label("Session number")).to_have_value(str(number))
    page.get_by_label("Date and time").fill(local(when))
    page.get_by_label("Attendance").select_option(label="Attended")
    page.get_by_role("group", name="Who attended").get_by_label("Client").check()
    page.get_by_label("Mood since last time").fill(str(mood))
    page.get_by_label("Interpersonal events since last time").fill(events)
    page.get_by_label("How the events and the mood are linked").fill(
        "Mood dips after arguments at home."
    )
    page.get_by_label("Focus of the session").fill(focus)
    page.get_by_label("Something to try before next time").fill(
        "Try one calm conversation with Sam."
    )
    page.get_by_label("Risk check").select_option(label="Asked: no current concerns")
    page.get_by_role("textbox", name="Progress note").fill(f"Session {number} went as planned.")
    if check:
        screenshots(page, "session-form")
    page.get_by_role("button", name="Save session").click()
    page.wait_for_url(re.compile(rf"/sessions/{UUID}/edit/$"))  # saving stays on the note
    page.goto(page.url.removesuffix("edit/"))
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Session {number}")
    return page.url


def sign_session(page) -> None:  # type: ignore[no-untyped-def]
    page.get_by_role("button", name="Sign and lock").click()
    expect(page.get_by_text("Session signed.")).to_be_visible()


def enter_phq9(page, course_uuid: str, session: int, answers: str) -> None:  # type: ignore[no-untyped-def]
    """The in-session PHQ-9, typed into the quick-entry box and linked to ``session``."""
    page.goto(f"/courses/{course_uuid}/measures/new/?instrument=PHQ-9")
    choice = page.get_by_label("Session")
    option = choice.locator("option", has_text=re.compile(rf"^Session {session} "))
    choice.select_option(value=option.get_attribute("value"))
    box = page.get_by_label("Quick entry")
    box.focus()
    box.press_sequentially(answers)
    box.press("Enter")
    page.wait_for_url(re.compile(rf"/courses/{course_uuid}/measures/$"))
    expect(page.get_by_text("Scores saved.")).to_be_visible()


def add_technique(page, session_url: str, link: str, fields: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    page.goto(session_url)
    page.get_by_role("link", name=f"Record: {link}").click()
    page.wait_for_url(re.compile(r"/techniques/[a-z_]+/$"))
    for label, value in fields.items():
        page.get_by_label(label, exact=True).fill(value)
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(re.compile(rf"/sessions/{UUID}/$"))
    expect(page.get_by_text("Technique record saved.")).to_be_visible()


def open_termination(page, course_url: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(course_url)
    page.get_by_role("navigation", name="Course").get_by_role(
        "link", name="Ending (Finishing well)"
    ).click()
    page.wait_for_url(re.compile(r"/termination/$"))


def save_termination(page) -> None:  # type: ignore[no-untyped-def]
    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_url(re.compile(rf"/courses/{UUID}/$"))
    expect(page.get_by_text("Ending record saved.")).to_be_visible()


# --- The walkthrough --------------------------------------------------------------------------


def test_a_whole_individual_ipt_course_follows_the_guidance(
    new_page, live_server, transactional_db
):
    from openipt.care import guidance as guidance_lib
    from openipt.testing.personas import make_personas
    from openipt.treatment import protocol, services
    from openipt.treatment.models import Course, Session

    personas = make_personas()
    alice_user, dana = personas.alice, personas.dana
    today = timezone.localdate()
    start = today - dt.timedelta(days=7 * 11 + 1)  # session 12 was yesterday

    def when(number: int) -> dt.datetime:
        day = start + dt.timedelta(days=7 * (number - 1))
        return timezone.make_aware(dt.datetime.combine(day, dt.time(10, 0)))

    def routine_session(number: int, *, phase: str) -> None:  # through the services, not the UI
        course = Course.objects.get(client=dana)
        session = services.session_create(
            actor=alice_user,
            course=course,
            data=services.SessionData(
                number=number,
                starts_at=when(number),
                attendance=Session.Attendance.ATTENDED,
                attendees=["client"],
                mood=4 + number // 3,
                events_since_last=f"Week {number}: talked things over with Sam.",
                focus="The disagreement with Sam about household roles.",
                tasks_set="Keep trying calm conversations.",
                risk_check=Session.Risk.NO_CONCERNS,
            ),
        )
        services.session_sign(actor=alice_user, session=session, version=session.version)
        assert guidance_lib.session_phase(course, session) == phase

    alice = new_page()
    sign_in(alice, alice_user.email)

    # 1. Intake: start the course (individual IPT, 12 weekly sessions).
    alice.goto(f"/courses/new/{dana.uuid}/")
    checked(alice, r"/courses/new/")
    alice.get_by_label("Format").select_option(label="Individual IPT")
    alice.get_by_label("Start date").fill(start.isoformat())
    alice.get_by_label("Planned number of sessions").fill("12")
    alice.get_by_label("Frequency").select_option(label="Weekly")
    alice.get_by_role("group", name="Presenting concerns").get_by_label("Depression").check()
    alice.get_by_role("button", name="Start course").click()
    alice.wait_for_url(re.compile(rf"/courses/{UUID}/$"))
    course_url = alice.url
    course_uuid = course_url.rstrip("/").rsplit("/", 1)[-1]
    expect(alice.get_by_text("Course started.")).to_be_visible()
    checked(alice, rf"/courses/{UUID}/$")
    overview(alice, course_url, held=0, phase="Getting started")
    initial_tasks = {
        BASELINE: DUE,
        INVENTORY: DUE,
        TIMELINE: DUE,
        WRITE_FORMULATION: DUE,
        CONTRACT: DUE,
        PSYCHOEDUCATION: DUE,
        MEDICATION: DUE,
        PRIMARY_AREA: DUE,
    }
    assert_guidance(alice, initial_tasks)
    assert next(iter(guidance_items(alice))) == INVENTORY  # in rule order: rule 2 comes first

    # 2. Session 1 with the baseline PHQ-9 (18, no risk item): the baseline is no longer due.
    session_1 = record_session(
        alice,
        course_url,
        1,
        when(1),
        mood=3,
        events="Row with Sam about chores; stayed in bed all weekend.",
        focus="Symptoms, the diagnosis, and how the weeks ahead will work.",
        check=True,
    )
    checked(alice, rf"/sessions/{UUID}/$")
    expect(alice.get_by_text("Getting started", exact=True).first).to_be_visible()
    sign_session(alice)
    enter_phq9(alice, course_uuid, 1, "332222220")
    del initial_tasks[BASELINE]
    overview(alice, course_url, held=1, phase="Getting started")
    assert_guidance(alice, initial_tasks)

    # Psychoeducation given: Alice marks it done from the panel (htmx swaps the panel).
    item = alice.locator("section[aria-labelledby=due-heading] li", has_text=PSYCHOEDUCATION)
    item.get_by_text("Mark done, not applicable or deferred").click()
    item.get_by_label("Mark as").select_option(label="Done")
    item.get_by_label("Reason or note").fill("Explained in session 1.")
    item.get_by_role("button", name="Mark").click()
    expect(
        alice.locator("section[aria-labelledby=due-heading] li", has_text=PSYCHOEDUCATION)
    ).to_have_count(0)
    del initial_tasks[PSYCHOEDUCATION]
    assert_guidance(alice, initial_tasks)
    # One list: the marked task moves to the phase's other tasks, folded below it.
    others = alice.locator("details.settled-tasks")
    others.locator("summary").click()
    marked = others.get_by_role("listitem").filter(has_text="Explain the diagnosis")
    expect(marked.locator(".badge")).to_have_text("Done")
    expect(
        others.get_by_role("listitem").filter(has_text="Agree sessions, frequency")
    ).to_have_count(0)  # still flagged, so listed once, above

    # Medication considered: recorded on the course details.
    alice.get_by_role("link", name="Edit course details").click()
    alice.wait_for_url(re.compile(r"/edit/$"))
    checked(alice, r"/edit/$")
    alice.get_by_label("Medication").select_option(label="No medication (decided)")
    alice.get_by_role("button", name="Save", exact=True).click()
    alice.wait_for_url(re.compile(rf"/courses/{UUID}/$"))
    del initial_tasks[MEDICATION]
    assert_guidance(alice, initial_tasks)

    # 3. Interpersonal inventory of five people, in their rings of the closeness circle.
    alice.get_by_role("navigation", name="Course").get_by_role(
        "link", name=re.compile("^Inventory")
    ).click()
    alice.wait_for_url(re.compile(r"/inventory/$"))
    at_start = alice.get_by_role("region", name="At the start")
    expect(at_start.locator("p", has_text="Nobody recorded yet.")).to_be_visible()
    for index, (name, relationship, ring) in enumerate(PEOPLE):
        alice.get_by_role("link", name="Add a person").click()
        alice.wait_for_url(re.compile(r"/inventory/new/$"))
        if index == 0:
            checked(alice, r"/inventory/new/$")
        alice.get_by_label("Name or alias").fill(name)
        alice.get_by_label("Relationship").fill(relationship)
        alice.get_by_label("Closeness").select_option(label=ring)
        alice.get_by_label("How often in contact").fill("Weekly")
        alice.get_by_label("Knows about the client's difficulties").select_option(label="Partly")
        alice.get_by_role("button", name="Save", exact=True).click()
        alice.wait_for_url(re.compile(r"/inventory/$"))
        expect(alice.get_by_text("Person added to the inventory.")).to_be_visible()
    checked(alice, r"/inventory/$")
    start_circle = alice.get_by_role("img", name="Closeness circle at the start")
    labels = start_circle.locator("text").all_text_contents()
    # Numbered dots in the rings, each person's name in the key beside the picture.
    assert all(any(name in label for label in labels) for name, _r, _ring in PEOPLE), labels
    table = alice.get_by_role("region", name="At the start").get_by_role("table")
    for name, relationship, ring in PEOPLE:
        row = table.get_by_role("row", name=re.compile(rf"^{name} "))
        expect(row).to_contain_text(relationship)
        expect(row).to_contain_text(ring)
    screenshots(alice, "inventory")
    del initial_tasks[INVENTORY]
    overview(alice, course_url, held=1, phase="Getting started")
    assert_guidance(alice, initial_tasks)
    circle = alice.get_by_role("img", name="Closeness circle")
    labels = circle.locator("text").all_text_contents()
    assert all(any(name in label for label in labels) for name, _r, _ring in PEOPLE), labels

    # 4. Timeline: the dispute, and the onset of symptoms marked on the second event.
    alice.goto(course_url + "timeline/")
    checked(alice, r"/timeline/$")
    events = (
        (start - dt.timedelta(days=120), "Dispute", "Sam took a job with long hours", 6, False),
        (start - dt.timedelta(days=60), "Dispute", "Arguments about chores every week", 3, True),
    )
    for index, (day, kind, what, mood, onset) in enumerate(events):
        alice.get_by_role("link", name="Add an event").click()
        alice.wait_for_url(re.compile(r"/timeline/new/$"))
        if index == 0:
            checked(alice, r"/timeline/new/$")
        alice.get_by_label("Date").fill(day.isoformat())
        alice.get_by_label("Type of event").select_option(label=kind)
        alice.get_by_label("What happened").fill(what)
        alice.get_by_label("People involved").fill("Sam")
        alice.get_by_label("Mood at the time").fill(str(mood))
        if onset:
            alice.get_by_label("Symptoms began around here").check()
        alice.get_by_role("button", name="Save", exact=True).click()
        alice.wait_for_url(re.compile(r"/timeline/$"))
    expect(alice.get_by_role("row", name=re.compile("Arguments about chores"))).to_contain_text(
        "Yes"
    )
    del initial_tasks[TIMELINE]
    overview(alice, course_url, held=1, phase="Getting started")
    assert_guidance(alice, initial_tasks)

    # 5. Problem area: a role dispute, made the primary focus, then its person and stage.
    alice.get_by_role("navigation", name="Course").get_by_role("link", name="Problem areas").click()
    alice.wait_for_url(re.compile(r"/problem-areas/$"))
    checked(alice, r"/problem-areas/$")
    alice.get_by_label("Problem area").select_option(label="Role dispute (Disagreements)")
    alice.get_by_label("Evidence for this area").fill(
        "Mood fell as the arguments with Sam about chores began."
    )
    alice.get_by_role("button", name="Add", exact=True).click()
    expect(alice.get_by_text("Candidate problem area recorded.")).to_be_visible()
    alice.get_by_role("link", name="Role dispute (Disagreements)").click()
    alice.wait_for_url(re.compile(rf"/problem-areas/{UUID}/$"))
    checked(alice, rf"/problem-areas/{UUID}/$")
    alice.get_by_label("Primary focus").check()
    alice.get_by_role("button", name="Save", exact=True).click()
    expect(alice.get_by_text("Problem area saved.")).to_be_visible()
    area_url = alice.url
    del initial_tasks[PRIMARY_AREA]
    overview(alice, course_url, held=1, phase="Getting started")
    assert_guidance(alice, {**initial_tasks, DISPUTE_PERSON: DUE, DISPUTE_STAGE: DUE})
    alice.goto(area_url)
    alice.get_by_label("The other person", exact=True).select_option(label="Sam")
    alice.get_by_label("Stage of the dispute").select_option(label="Renegotiation (Still talking)")
    alice.get_by_label("What the client expects").fill("Chores shared evenly.")
    alice.get_by_label("What the other person expects").fill("Help when work is quiet.")
    alice.get_by_role("button", name="Save", exact=True).click()
    expect(alice.get_by_text("Problem area saved.")).to_be_visible()
    overview(alice, course_url, held=1, phase="Getting started")
    assert_guidance(alice, initial_tasks)
    focus = alice.get_by_role("region", name="Focus areas")
    expect(focus).to_contain_text("Role dispute (Disagreements) — primary focus")
    expect(focus).to_contain_text("Renegotiation (Still talking)")

    # 6. Formulation: written, then shared and agreed.
    alice.get_by_role("navigation", name="Course").get_by_role(
        "link", name=re.compile("^Formulation")
    ).click()
    alice.wait_for_url(re.compile(r"/formulation/$"))
    checked(alice, r"/formulation/$")
    alice.get_by_label("Formulation (Our shared summary)").fill(
        "Dana's low mood began as she and Sam stopped agreeing on who does what at home. "
        "Depression is common and treatable, and it is not her fault. Over twelve weeks we "
        "will work on that disagreement."
    )
    alice.get_by_role("button", name="Save formulation").click()
    alice.wait_for_url(re.compile(rf"/courses/{UUID}/$"))
    del initial_tasks[WRITE_FORMULATION]
    assert_guidance(alice, {**initial_tasks, AGREE_FORMULATION: DUE})
    alice.goto(course_url + "formulation/")
    alice.get_by_label("Shared with the client on").fill(when(2).date().isoformat())
    alice.get_by_label("Client's agreement").select_option(label="Agreed by the client")
    alice.get_by_role("button", name="Save formulation").click()
    alice.wait_for_url(re.compile(rf"/courses/{UUID}/$"))
    assert_guidance(alice, initial_tasks)
    expect(alice.get_by_role("region", name=re.compile("^Formulation"))).to_contain_text(
        "Agreed by the client"
    )

    # 7. Contract: 12 weekly sessions focused on the role dispute. Nothing is due now.
    alice.get_by_role("navigation", name="Course").get_by_role(
        "link", name=re.compile("^Contract")
    ).click()
    alice.wait_for_url(re.compile(r"/contract/$"))
    checked(alice, r"/contract/$")
    alice.get_by_label("Number of sessions").fill("12")
    alice.get_by_label("Frequency").select_option(label="Weekly")
    focus_areas = alice.get_by_role("group", name="Focus areas")
    expect(focus_areas.get_by_label("Role dispute (Disagreements)")).to_be_checked()
    alice.get_by_label("Goals", exact=True).fill("Agree a fair split of chores with Sam.")
    alice.get_by_label("Agreed on").fill(when(2).date().isoformat())
    alice.get_by_role("button", name="Save contract").click()
    expect(alice.get_by_text("Agreement recorded.")).to_be_visible()
    assert alice.get_by_role("table").get_by_role("row").count() == 2  # header + version 1
    overview(alice, course_url, held=1, phase="Getting started")
    assert_guidance(alice, {})
    stage = alice.locator(".course-stage")  # the contract makes the course active
    expect(stage).to_contain_text("Individual IPT")
    expect(stage.locator(".badge")).to_have_text("Getting started")

    # 8. Sessions 2 and 3 finish the initial phase.
    routine_session(2, phase="initial")
    routine_session(3, phase="initial")
    overview(alice, course_url, held=3, phase="Getting started")
    assert_guidance(alice, {})

    # 9. Session 4, the first of the middle phase: opening review and a communication analysis.
    session_4 = record_session(
        alice,
        course_url,
        4,
        when(4),
        mood=5,
        events="Sam cancelled their evening out; Dana said nothing and felt low for two days.",
        focus="What happened when the evening out was cancelled.",
    )
    expect(alice.get_by_text("Working on it", exact=True).first).to_be_visible()
    expect(alice.get_by_text("the formulation has not been agreed")).to_have_count(0)
    add_technique(
        alice,
        session_4,
        "Communication analysis (Looking closely at a conversation)",
        {
            "The situation": "Sam texted that the evening out was off.",
            "What was said, and how": "Dana replied 'fine' and went quiet.",
            "What the client meant": "I am hurt; I looked forward to it.",
            "What the other person understood": "It does not matter to her.",
            "Feelings": "Hurt, then hopeless.",
            "Other ways it could have been said": "Say it matters, and ask for another night.",
            "What to try next": "Tell Sam what the evening meant.",
        },
    )
    checked(alice, rf"/sessions/{UUID}/$")
    record = alice.get_by_role("region", name="Technique records")
    expect(record).to_contain_text("Tell Sam what the evening meant.")
    sign_session(alice)
    overview(alice, course_url, held=4, phase="Working on it")
    assert_guidance(alice, {measure_due(5): DUE})  # four sessions since the baseline

    # 10. Session 5 (routine) and its PHQ-9 (12): nothing due.
    routine_session(5, phase="middle")
    enter_phq9(alice, course_uuid, 5, "222211110")
    overview(alice, course_url, held=5, phase="Working on it")
    assert_guidance(alice, {})

    # 11. Session 6 with a decision analysis; the PHQ-9 has improved, so no review warning.
    session_6 = record_session(
        alice,
        course_url,
        6,
        when(6),
        mood=6,
        events="A calmer talk with Sam about the weekend.",
        focus="Options for sharing the chores.",
    )
    add_technique(
        alice,
        session_6,
        "Decision analysis (Weighing your options)",
        {
            "The problem": "Who does the weekday chores.",
            "Option 1": "A written rota.",
            "Option 1: for": "Clear for both.",
            "Option 1: against": "Feels formal.",
            "Option 2": "Swap tasks week by week.",
            "Option 2: for": "Flexible around Sam's shifts.",
            "Option 2: against": "Easy to forget.",
            "The choice": "Try a rota for two weeks.",
        },
    )
    expect(alice.get_by_role("region", name="Technique records")).to_contain_text(
        "Try a rota for two weeks."
    )
    sign_session(alice)
    overview(alice, course_url, held=6, phase="Working on it")
    assert_guidance(alice, {})

    # 12. After session 7 the next is N - 4: raising the ending is due, on the caseload too.
    routine_session(7, phase="middle")
    overview(alice, course_url, held=7, phase="Working on it")
    assert_guidance(alice, {RAISE_ENDING: DUE})
    alice.get_by_role("navigation", name="Main").get_by_role("link", name="Caseload").click()
    alice.wait_for_url(re.compile(r"/caseload/$"))
    checked(alice, r"/caseload/$")
    row = alice.get_by_role("row", name=re.compile("Dana"))
    expect(row).to_contain_text("7 of 12")
    expect(row).to_contain_text(RAISE_ENDING)

    # 13. Session 8 (routine): the ending and a depression measure are due.
    routine_session(8, phase="middle")
    overview(alice, course_url, held=8, phase="Working on it")
    assert_guidance(alice, {RAISE_ENDING: DUE, measure_due(9): DUE})

    # 14. Session 9, the last of the middle phase: PHQ-9 (8). The next session is in the
    # termination phase, so the termination record's parts become due, and the ending still is.
    record_session(
        alice,
        course_url,
        9,
        when(9),
        mood=7,
        events="The rota held for a week; one argument, settled the same day.",
        focus="Raising the ending: three sessions left.",
    )
    sign_session(alice)
    enter_phq9(alice, course_uuid, 9, "111111110")
    ending_parts = {GAINS: DUE, WARNING_SIGNS: DUE, RELAPSE_PLAN: DUE, FINAL_MEASURE: DUE}
    overview(alice, course_url, held=9, phase="Working on it")
    assert_guidance(alice, {RAISE_ENDING: DUE, **ending_parts, NEXT_STEP: DUE})

    # Had the ending not been raised by session 10, it would be overdue (the same records,
    # mapped as the page maps them, with one more held session).
    course = Course.objects.get(client=dana)
    state = guidance_lib.course_state(course)
    later = protocol.SessionRecord(10, today, protocol.Attendance.ATTENDED, opening_review=True)
    missed = protocol.evaluate(replace(state, sessions=(*state.sessions, later)), today=today)
    assert (ENDING_MISSED, protocol.Severity.OVERDUE) in {
        (i.reason, i.severity) for i in missed.due
    }

    # Alice raises the ending at session 9, in time: that item goes.
    open_termination(alice, course_url)
    checked(alice, r"/termination/$")
    expect(alice.get_by_role("heading", name="Change over the course")).to_have_count(1)
    alice.get_by_label("Ending first raised at session").fill("9")
    save_termination(alice)
    assert_guidance(alice, {**ending_parts, NEXT_STEP: DUE})

    # 15. Sessions 10 and 11 (termination phase); gains, signs and the relapse plan recorded.
    routine_session(10, phase="termination")
    routine_session(11, phase="termination")
    overview(alice, course_url, held=11, phase="Finishing well")
    assert_guidance(alice, {**ending_parts, NEXT_STEP: DUE})
    open_termination(alice, course_url)
    expect(alice.get_by_label("Ending first raised at session")).to_have_value("9")
    alice.get_by_label("Gains, credited to the client").fill(
        "Dana asked Sam for what she needs, and they agreed a rota. Her PHQ-9 fell from 18 to 8."
    )
    alice.get_by_label("Early signs to watch for").fill(
        "Staying in bed at weekends; saying 'fine' when it is not."
    )
    alice.get_by_label("What to do if they appear").fill(
        "Talk to Sam that week; use the communication steps; book a GP appointment."
    )
    alice.get_by_label("Whom to contact").fill("Sam; Priya; the practice on 01234 567890.")
    save_termination(alice)
    assert_guidance(alice, {FINAL_MEASURE: DUE, NEXT_STEP: DUE})

    # 16. Session 12 with the final PHQ-9 (4). The next step is now overdue until decided.
    record_session(
        alice,
        course_url,
        12,
        when(12),
        mood=8,
        events="A good week; planned a weekend away with Sam.",
        focus="Reviewing the course and saying goodbye.",
    )
    sign_session(alice)
    enter_phq9(alice, course_uuid, 12, "111100000")
    overview(alice, course_url, held=12, phase="Finishing well")
    assert_guidance(alice, {NEXT_STEP: OVERDUE})

    # 17. Maintenance decided and the conclusion written.
    open_termination(alice, course_url)
    alice.get_by_label("Next step", exact=True).select_option(label="Maintenance sessions")
    alice.get_by_label("Reason for the next step").fill("Two earlier episodes; monthly for now.")
    alice.get_by_label("Conclusion summary").fill("Completed 12 sessions; depression in remission.")
    screenshots(alice, "termination")
    save_termination(alice)
    assert_guidance(alice, {})

    # 18. The course is concluded from its ending page: nothing due, no "termination
    # incomplete" flag, and no "Next session: 13".
    alice.get_by_role("link", name="Conclude the course").click()
    alice.wait_for_url(re.compile(r"/termination/#conclude$"))
    conclude = alice.get_by_role("region", name="Conclude the course")
    conclude.get_by_label("Reason", exact=True).fill("Course completed as planned.")
    conclude.get_by_role("button", name="Conclude the course").click()
    alice.wait_for_url(re.compile(rf"/courses/{UUID}/$"))
    expect(
        alice.get_by_role("heading", level=2, name=re.compile("^Course concluded"))
    ).to_be_visible()
    expect(alice.get_by_text("Next session:", exact=False)).to_have_count(0)
    assert_guidance(alice, {})
    expect(alice.get_by_text("termination items missing")).to_have_count(0)
    screenshots(alice, "overview")
    alice.get_by_role("navigation", name="Main").get_by_role("link", name="Caseload").click()
    alice.wait_for_url(re.compile(r"/caseload/$"))
    expect(alice.get_by_text("No open courses match.")).to_be_visible()  # no longer open

    # Every session is signed; the records read back as entered.
    course.refresh_from_db()
    assert course.status == Course.Status.CONCLUDED
    assert list(course.sessions.values_list("number", flat=True)) == list(range(1, 13))
    assert all(s.is_signed for s in course.sessions.all())
    assert course.sessions.get(number=4).techniques_used == ["communication_analysis"]
    assert course.sessions.get(number=6).techniques_used == ["decision_analysis"]
    assert course.termination.raised_at_session == 9
    assert course.termination.next_step == "maintenance"
    alice.goto(session_1)
    expect(alice.get_by_text("Signed", exact=True)).to_be_visible()
