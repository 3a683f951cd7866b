"""Permission matrix for every treatment URL: Alice (care team) reads and writes; Bob
(supervises Alice) reads only; Charlie (other practice) and Adam (admin, no clinical role)
get 404 for everything; anonymous users are sent to sign in."""

from __future__ import annotations

import pytest
from django.http import Http404
from django.urls import reverse

from openipt.access import treatment as gates
from openipt.treatment import services
from openipt.treatment.tests.factories import START, make_course, make_person, make_session
from openipt.workspace.urls import treatment as urls

READ = {
    "course-detail",
    "session-detail",
    "inventory",
    "timeline",
    "problem-areas",
    "problem-area",
    "formulation",
    "contract",
    "goals",
    "termination",
}
WRITE_ONLY = {
    "course-create",
    "course-update",
    "task-mark",
    "session-create",
    "session-update",
    "session-sign",
    "session-amend",
    "process-note",
    "technique-create",
    "person-create",
    "inventory-copy",
    "person-update",
    "event-create",
    "event-update",
    "goal-rate",
    "task-create",
    "task-review",
    "course-conclude",  # the ending closes the loop
    "course-maintenance",
}
OTHER = {"caseload"}
# The training supervisor's review of a trainee's note: openipt/treatment/tests/test_cosign.py
# and openipt/workspace/tests/test_cosign_views.py.
COSIGN = {"session-cosign"}
# The therapist's and their supervisor's fidelity ratings: openipt/treatment/tests/test_fidelity.py
# and openipt/workspace/tests/test_fidelity_views.py.
FIDELITY = {"session-fidelity"}
# Session recordings, for the therapist and their supervisor only:
# openipt/treatment/tests/test_recordings.py and openipt/workspace/tests/test_recording_views.py.
RECORDINGS = {"recording-consent", "session-recordings", "recording-detail", "recording-audio"}
# The certification portfolio of a concluded course, for the clinician and their supervisor
# (Bob signs off): openipt/care/tests/test_portfolio.py and the permission matrix.
PORTFOLIO = {"course-portfolio", "course-portfolio-pdf", "course-portfolio-signoff"}
POST_ONLY = {
    "task-mark", "session-sign", "inventory-copy", "goal-rate", "task-create", "task-review",
    "course-conclude",
}  # fmt: skip
GET_ONLY = {"course-detail", "session-detail", "inventory", "timeline", "caseload"}


@pytest.fixture
def world(personas):
    alice = personas.alice
    course = make_course(alice, personas.dana)
    session = make_session(alice, course, 1)
    person = make_person(alice, course, "Sam")
    event = services.timeline_event_create(
        actor=alice,
        course=course,
        data=services.TimelineEventData(date=START, kind="other", description="Move"),
    )
    area = services.problem_area_create(
        actor=alice, course=course, area="grief", data=services.ProblemAreaData()
    )
    goal = services.goal_create(
        actor=alice, course=course, data=services.GoalData(text="Call my sister")
    )
    task = services.task_set(actor=alice, session=session, text="Walk")
    c, s = course.uuid, session.uuid
    args = {
        "course-create": [personas.dana.uuid],
        "session-detail": [c, s],
        "session-update": [c, s],
        "session-sign": [c, s],
        "session-amend": [c, s],
        "process-note": [c, s],
        "technique-create": [c, s, "role_play"],
        "person-update": [c, person.uuid],
        "event-update": [c, event.uuid],
        "problem-area": [c, area.uuid],
        "goal-rate": [c, goal.uuid],
        "task-create": [c, s],
        "task-review": [c, s, task.uuid],
        "caseload": [],
    }
    return {
        name: reverse(f"treatment:{name}", args=args.get(name, [c]))
        for name in READ | WRITE_ONLY | OTHER
    }


def test_every_url_is_in_the_matrix():
    names = {p.name for p in urls.urlpatterns}
    assert names == READ | WRITE_ONLY | OTHER | COSIGN | FIDELITY | RECORDINGS | PORTFOLIO


@pytest.mark.parametrize("who", ["charlie", "adam"])
def test_outsiders_get_404_everywhere(client, personas, world, who):
    client.force_login(getattr(personas, who))
    for name, url in world.items():
        if name == "caseload":
            continue
        # 405 (wrong method) is decided before any lookup, so it reveals nothing either.
        assert client.get(url).status_code == (405 if name in POST_ONLY else 404), name
        assert client.post(url, {}).status_code == (405 if name in GET_ONLY else 404), name


def test_supervisor_reads_but_never_writes(client, personas, world):
    client.force_login(personas.bob)
    for name in READ:
        assert client.get(world[name]).status_code == 200, name
        assert client.post(world[name], {}).status_code in (404, 405), name
    for name in WRITE_ONLY:
        assert client.get(world[name]).status_code in (404, 405), name
        assert client.post(world[name], {}).status_code == 404, name


def test_supervisor_page_hides_write_links(client, personas, world):
    client.force_login(personas.bob)
    page = client.get(world["course-detail"]).content.decode()
    assert "Record a session" not in page
    assert "private process note" not in page.lower()


def test_alice_reaches_everything(alice_client, world):
    for name, url in world.items():
        if name in POST_ONLY:
            continue
        assert alice_client.get(url).status_code == 200, name


def test_anonymous_is_sent_to_sign_in(client, world):
    for url in world.values():
        response = client.get(url)
        assert response.status_code == 302
        assert "/accounts/login/" in response["Location"]


@pytest.mark.parametrize("who", ["bob", "charlie", "adam"])
def test_caseload_shows_only_own_courses(client, personas, world, who):
    client.force_login(getattr(personas, who))
    response = client.get(world["caseload"])
    assert response.status_code == 200
    assert "Dana Example" not in response.content.decode()


def test_child_gates_refuse_records_of_another_course(personas):
    alice = personas.alice
    mine, other = make_course(alice, personas.dana), make_course(alice, personas.dana)
    session = make_session(alice, other, 1)
    person = make_person(alice, other, "Sam")
    event = services.timeline_event_create(
        actor=alice,
        course=other,
        data=services.TimelineEventData(date=START, kind="other", description="Move"),
    )
    area = services.problem_area_create(
        actor=alice, course=other, area="grief", data=services.ProblemAreaData()
    )
    goal = services.goal_create(actor=alice, course=other, data=services.GoalData(text="Walk"))
    for gate, record in (
        (gates.access_session, session),
        (gates.access_person, person),
        (gates.access_event, event),
        (gates.access_problem_area, area),
        (gates.access_goal, goal),
    ):
        assert gate(other, record.uuid).pk == record.pk
        with pytest.raises(Http404):
            gate(mine, record.uuid)
        with pytest.raises(Http404):
            gate(other, "not-a-uuid")
    assert gates.access_formulation(mine) is None
    assert gates.access_termination(mine) is None
    with pytest.raises(Http404):
        gates.access_course(personas.bob, mine.uuid, write=True)
    assert gates.access_course(personas.bob, mine.uuid) == mine
