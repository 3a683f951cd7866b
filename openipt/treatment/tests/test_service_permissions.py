"""The treatment services re-check permission themselves (docs/adr/0013-layers.md): a
command, a task or the API that calls them directly is held to the same rule as a page.

Every write by staff needs write access to the client: Charlie (another practice), Bob
(Alice's supervisor, who reads but never writes) and Adam (the practice's admin, not on the
care team) are refused and nothing is written; Alice succeeds. The writes the portal makes
need the client themself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import pytest
from django.apps import apps
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from openipt.accounts.models import User
from openipt.audit.models import AuditEvent
from openipt.clients import services as client_services
from openipt.clients.models import Client
from openipt.portal.tests.conftest import portal_user_for
from openipt.testing.personas import Personas, make_client, make_staff
from openipt.treatment import protocol, services
from openipt.treatment.models import (
    TECHNIQUE_FIELDS,
    BetweenSessionTask,
    Course,
    Goal,
    InventoryPerson,
    ProblemArea,
    ProcessNote,
    Session,
    TimelineEvent,
)
from openipt.treatment.tests import factories


@dataclass(frozen=True)
class World:
    """One of each record in a course of Dana's, all written by Alice."""

    p: Personas
    course: Course
    session: Session  # 1, open
    signed: Session  # 2, signed
    later: Session  # 3, open: the task set in session 1 is reviewed here
    person: InventoryPerson
    event: TimelineEvent
    area: ProblemArea
    goal: Goal
    task: BetweenSessionTask


@pytest.fixture
def world(personas: Personas) -> World:
    alice = personas.alice
    course = factories.make_course(alice, personas.dana)
    session = factories.make_session(alice, course, 1)
    signed = factories.make_session(alice, course, 2)
    signed = services.session_sign(actor=alice, session=signed, version=signed.version)
    later = factories.make_session(alice, course, 3)
    person = factories.make_person(alice, course, "Sam")
    event = services.timeline_event_create(
        actor=alice,
        course=course,
        data=services.TimelineEventData(date=factories.START, kind="other", description="Moved"),
    )
    area = services.problem_area_create(
        actor=alice, course=course, area="grief", data=services.ProblemAreaData()
    )
    goal = services.goal_create(actor=alice, course=course, data=services.GoalData(text="Call"))
    task = services.task_set(actor=alice, session=session, text="Walk")
    course.refresh_from_db()
    return World(personas, course, session, signed, later, person, event, area, goal, task)


Write = Callable[[World, User], object]

ROLE_PLAY = services.TechniqueData(
    kind="role_play", details={TECHNIQUE_FIELDS["role_play"][0][0]: "Asking for help"}
)

# Each write, as Alice would make it on the fixture's records (so it succeeds for her).
WRITES: dict[str, Write] = {
    "course_create": lambda w, a: services.course_create(
        actor=a, client=w.p.dana, clinician=w.p.membership(w.p.alice),
        data=services.CourseData(format="ipt", start_date=factories.START),
    ),
    "course_update": lambda w, a: services.course_update(
        actor=a, course=w.course, version=w.course.version,
        data=replace(services.CourseUpdateData.of(w.course), prescriber="Dr Lee"),
    ),
    "session_create": lambda w, a: services.session_create(
        actor=a, course=w.course,
        data=services.SessionData(number=4, starts_at=factories.session_at(4)),
    ),
    "session_update": lambda w, a: services.session_update(
        actor=a, session=w.session, version=w.session.version,
        data=replace(services.SessionData.of(w.session), focus="The move"),
    ),
    "session_sign": lambda w, a: services.session_sign(
        actor=a, session=w.session, version=w.session.version
    ),
    "session_amend": lambda w, a: services.session_amend(
        actor=a, session=w.signed, text="The date was wrong."
    ),
    "process_note_save": lambda w, a: services.process_note_save(
        actor=a, session=w.session, version=0, text="My private thoughts"
    ),
    "inventory_person_create": lambda w, a: services.inventory_person_create(
        actor=a, course=w.course, data=services.PersonData(name="Kim")
    ),
    "inventory_person_update": lambda w, a: services.inventory_person_update(
        actor=a, person=w.person, version=w.person.version,
        data=replace(services.PersonData.of(w.person), relationship="brother"),
    ),
    "inventory_copy_to_end": lambda w, a: services.inventory_copy_to_end(actor=a, course=w.course),
    "timeline_event_create": lambda w, a: services.timeline_event_create(
        actor=a, course=w.course,
        data=services.TimelineEventData(date=factories.START, kind="other", description="Job"),
    ),
    "timeline_event_update": lambda w, a: services.timeline_event_update(
        actor=a, event=w.event, version=w.event.version,
        data=replace(services.TimelineEventData.of(w.event), people="Sam"),
    ),
    "problem_area_create": lambda w, a: services.problem_area_create(
        actor=a, course=w.course, area="role_transition", data=services.ProblemAreaData()
    ),
    "problem_area_update": lambda w, a: services.problem_area_update(
        actor=a, problem_area=w.area, version=w.area.version,
        data=replace(services.ProblemAreaData.of(w.area), evidence="Since her mother died"),
    ),
    "formulation_save": lambda w, a: services.formulation_save(
        actor=a, course=w.course, version=0, data=services.FormulationData(text="Grief")
    ),
    "contract_record": lambda w, a: services.contract_record(
        actor=a, course=w.course,
        data=services.ContractData(planned_sessions=12, frequency="weekly",
                                   agreed_on=factories.START),
    ),
    "goal_create": lambda w, a: services.goal_create(
        actor=a, course=w.course, data=services.GoalData(text="Sleep")
    ),
    "goal_rate": lambda w, a: services.goal_rate(
        actor=a, goal=w.goal, rating=4, rated_on=factories.START
    ),
    "technique_create": lambda w, a: services.technique_create(
        actor=a, session=w.session, data=ROLE_PLAY
    ),
    "termination_save": lambda w, a: services.termination_save(
        actor=a, course=w.course, version=0, data=services.TerminationData(gains="Sleeps")
    ),
    "phase_task_set": lambda w, a: services.phase_task_set(
        actor=a, course=w.course,
        data=services.TaskMarkData(task_code=protocol.TASKS[0].code, status="done"),
    ),
    # Concluding a course and the maintenance course after it
    "course_conclude": lambda w, a: services.course_conclude(
        actor=a, course=w.course, version=w.course.version,
        data=services.ConclusionData(status="ended_early", status_reason="Moved away."),
    ),
    "course_start_maintenance": lambda w, a: services.course_start_maintenance(
        actor=a, previous=w.course, clinician=w.p.membership(w.p.alice),
        data=services.MaintenanceData(start_date=timezone.localdate()),
    ),
    "task_set": lambda w, a: services.task_set(actor=a, session=w.session, text="Call Sam"),
    "task_review": lambda w, a: services.task_review(
        actor=a, task=w.task, session=w.later, status="done"
    ),
    # The task written in the session note
    "task_save_for_session": lambda w, a: services.task_save_for_session(
        actor=a, session=w.later, text="Phone Mum"
    ),
}  # fmt: skip


def snapshot() -> dict[str, Any]:
    """Every treatment row, every field, and the audit log's length: equal before and after
    means nothing was written."""
    rows: dict[str, Any] = {
        model._meta.label: list(model._default_manager.order_by("pk").values())
        for model in apps.get_app_config("treatment").get_models()
    }
    rows["audit events"] = AuditEvent.objects.count()
    return rows


def test_every_public_write_is_covered():
    """A new service without a case here would go unchecked."""
    readers = {"next_session_number", "termination_facts", "conclusion_missing"}
    public = {
        name
        for name, value in vars(services).items()
        if callable(value)
        and not name.startswith("_")
        and getattr(value, "__module__", "") == services.__name__
        and not isinstance(value, type)
    }
    # The training supervisor's writes: openipt/treatment/tests/test_cosign.py.
    supervisors = {"session_cosign", "session_return"}
    assert public - readers == set(WRITES) | {"task_update_by_client"} | supervisors


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["charlie", "bob", "adam"])
@pytest.mark.parametrize("write", WRITES.keys())
def test_staff_without_write_access_are_refused_and_nothing_is_written(world, who, write):
    before = snapshot()
    with pytest.raises(PermissionDenied):
        WRITES[write](world, getattr(world.p, who))
    assert snapshot() == before


@pytest.mark.django_db
@pytest.mark.parametrize("write", WRITES.keys())
def test_the_clinician_on_the_care_team_may_write(world, write):
    before = snapshot()
    WRITES[write](world, world.p.alice)
    assert snapshot() != before


@pytest.mark.django_db
@pytest.mark.parametrize("write", [w for w in WRITES if w != "goal_rate"])  # hers: below
def test_a_client_in_the_portal_cannot_make_the_clinicians_writes(world, write):
    dana = portal_user_for(world.p.alice, world.p.dana, "dana@example.test")
    before = snapshot()
    with pytest.raises(PermissionDenied):
        WRITES[write](world, dana)
    assert snapshot() == before


@pytest.mark.django_db
def test_write_access_follows_the_care_team(world):
    """Adam is refused until he is put on Dana's care team, then he may write."""
    p = world.p
    with pytest.raises(PermissionDenied):
        WRITES["goal_create"](world, p.adam)
    client_services.care_team_add(actor=p.alice, client=p.dana, member=p.membership(p.adam))
    p.adam.refresh_from_db()  # drop the membership cached on the user
    WRITES["goal_create"](world, p.adam)
    assert world.course.goals.count() == 2


@pytest.mark.django_db
def test_a_process_note_is_only_ever_its_authors(world):
    """A colleague on the care team writes her own note; Alice's is never touched."""
    p = world.p
    cara = make_staff(p.practice, "cara@riverside.test", "Cara Clinician")
    client_services.care_team_add(actor=p.alice, client=p.dana, member=p.membership(cara))
    mine = services.process_note_save(actor=p.alice, session=world.session, version=0, text="A")

    theirs = services.process_note_save(actor=cara, session=world.session, version=0, text="C")

    mine.refresh_from_db()
    assert (mine.author, mine.text, mine.version) == (p.alice, "A", 1)
    assert theirs.author == cara
    assert ProcessNote.objects.count() == 2


# The portal's writes ----------------------------------------------------------------------


@dataclass(frozen=True)
class Portal:
    """Dana's course (Alice's practice), Fay's (also Alice's practice) and Erin's (Charlie's
    practice), each with a goal and a task, and each client's portal account."""

    goals: dict[str, Goal]
    tasks: dict[str, BetweenSessionTask]
    clients: dict[str, Client]
    users: dict[str, User]


@pytest.fixture
def portal(personas: Personas) -> Portal:
    p = personas
    fay = make_client(p.practice, p.alice, given="Fay", family="Other")
    owners = {"dana": (p.alice, p.dana), "fay": (p.alice, fay), "erin": (p.charlie, p.erin)}
    goals, tasks, users = {}, {}, {}
    for name, (clinician, client) in owners.items():
        course = factories.make_course(clinician, client)
        session = factories.make_session(clinician, course, 1)
        goals[name] = services.goal_create(
            actor=clinician, course=course, data=services.GoalData(text=f"{name}'s goal")
        )
        tasks[name] = services.task_set(actor=clinician, session=session, text="Walk")
        users[name] = portal_user_for(clinician, client, f"{name}@example.test")
    return Portal(goals, tasks, {n: c for n, (_s, c) in owners.items()}, users)


def rate(portal: Portal, actor: User, whose: str) -> object:
    goal = portal.goals[whose]
    return services.goal_rate(actor=actor, goal=goal, rating=6, rated_on=timezone.localdate())


def tell(portal: Portal, actor: User, whose: str) -> object:
    task = portal.tasks[whose]
    return services.task_update_by_client(
        actor=actor, client=portal.clients[whose], task=task, status="done", version=task.version
    )


PORTAL_WRITES = {"goal_rate": rate, "task_update_by_client": tell}


@pytest.mark.django_db
@pytest.mark.parametrize("write", PORTAL_WRITES.keys())
def test_a_client_makes_the_portal_writes_on_her_own_record(portal, write):
    before = snapshot()
    PORTAL_WRITES[write](portal, portal.users["dana"], "dana")
    assert snapshot() != before


@pytest.mark.django_db
@pytest.mark.parametrize("write", PORTAL_WRITES.keys())
@pytest.mark.parametrize(
    ("who", "whose"),
    [
        ("dana", "fay"),  # Alice's client, for another client of the same practice
        ("dana", "erin"),  # Alice's client, for a client of another practice
        ("fay", "dana"),  # a different client user of the same practice
        ("erin", "dana"),  # a different client user of another practice
    ],
)
def test_a_client_cannot_make_the_portal_writes_for_another_client(portal, write, who, whose):
    before = snapshot()
    with pytest.raises(PermissionDenied):
        PORTAL_WRITES[write](portal, portal.users[who], whose)
    assert snapshot() == before


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["alice", "bob", "charlie", "adam"])
def test_staff_cannot_answer_a_task_for_the_client(portal, personas, who):
    before = snapshot()
    with pytest.raises(PermissionDenied):
        tell(portal, getattr(personas, who), "dana")
    assert snapshot() == before


@pytest.mark.django_db
@pytest.mark.parametrize("write", PORTAL_WRITES.keys())
def test_a_record_entered_in_error_takes_no_portal_writes(portal, personas, write):
    client_services.client_set_status(
        actor=personas.alice, client=personas.dana, status=Client.Status.ENTERED_IN_ERROR,
        reason="Duplicate record",
    )  # fmt: skip
    portal.clients["dana"].refresh_from_db()
    portal.goals["dana"].course.client.refresh_from_db()
    before = snapshot()
    with pytest.raises(PermissionDenied):
        PORTAL_WRITES[write](portal, portal.users["dana"], "dana")
    assert snapshot() == before
