"""The demo's clients, one scenario each: every phase and format of IPT with the records a
clinician would have made by today. Everything here is invented; any likeness to a real
person is accidental. Days count from the day the demo is loaded (negative: in the past).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from openipt.accounts.models import User
from openipt.clients.models import Client
from openipt.engagement import accounts as portal_accounts
from openipt.engagement import consultation
from openipt.measures import services as measures
from openipt.measures.models import RiskAlert
from openipt.scheduling.models import Appointment
from openipt.treatment import services as treatment
from openipt.treatment.models import (
    Area,
    BetweenSessionTask,
    Course,
    Formulation,
    InventoryPerson,
    ProblemArea,
    Session,
    Technique,
    TerminationRecord,
    TimelineEvent,
)
from openipt.workspace.management.demo.kit import ClientSpec, Clinic, Held

T = Technique.Kind
Circle = InventoryPerson.Circle


@dataclass(frozen=True)
class Scenario:
    spec: ClientSpec
    story: str  # one line for the command's summary
    build: Callable[[Clinic, Client, str], None]
    portal: bool = False  # the client whose portal sign-in is printed


def _people(
    clinic: Clinic, course: Course, people: list[tuple[str, str, int, str]]
) -> dict[str, InventoryPerson]:
    made = {}
    for name, relationship, circle, support in people:
        made[name] = treatment.inventory_person_create(
            actor=clinic.clinician,
            course=course,
            data=treatment.PersonData(
                name=name,
                relationship=relationship,
                circle=circle,
                contact_frequency="weekly",
                support=support,
                knows_about_difficulties=InventoryPerson.Knows.PARTLY,
            ),
        )
    return made


def _timeline(
    clinic: Clinic, course: Course, events: list[tuple[int, str, str, int, bool]]
) -> None:
    for days, kind, text, mood, onset in events:
        treatment.timeline_event_create(
            actor=clinic.clinician,
            course=course,
            data=treatment.TimelineEventData(
                date=clinic.day(days), kind=kind, description=text, mood=mood,
                marks_symptom_onset=onset,
            ),
        )  # fmt: skip


def _area(clinic: Clinic, course: Course, area: str, **data: object) -> ProblemArea:
    return treatment.problem_area_create(
        actor=clinic.clinician,
        course=course,
        area=area,
        data=treatment.ProblemAreaData(**data),  # type: ignore[arg-type]
    )


def _formulation(clinic: Clinic, course: Course, text: str, shared: int) -> Formulation:
    return treatment.formulation_save(
        actor=clinic.clinician,
        course=course,
        version=0,
        data=treatment.FormulationData(
            text=text,
            shared_on=clinic.day(shared),
            client_agreement=Formulation.Agreement.AGREED,
        ),
    )


def _contract(
    clinic: Clinic,
    course: Course,
    day: int,
    areas: tuple[str, ...],
    goals: str,
    sessions: int,
    frequency: str = "weekly",
) -> None:
    treatment.contract_record(
        actor=clinic.clinician,
        course=course,
        data=treatment.ContractData(
            planned_sessions=sessions,
            frequency=frequency,
            agreed_on=clinic.day(day),
            focus_areas=areas,
            goals_summary=goals,
            arrangements="Weekly at the same time; 24 hours' notice to move a session.",
        ),
    )


def _goal(
    clinic: Clinic,
    course: Course,
    text: str,
    area: ProblemArea | None,
    ratings: list[tuple[int, int]],
) -> None:
    goal = treatment.goal_create(
        actor=clinic.clinician, course=course, data=treatment.GoalData(text=text, problem_area=area)
    )
    for day, rating in ratings:
        treatment.goal_rate(
            actor=clinic.clinician, goal=goal, rating=rating, rated_on=clinic.day(day)
        )


def _done(clinic: Clinic, course: Course, *codes: str) -> None:
    for code in codes:
        treatment.phase_task_set(
            actor=clinic.clinician,
            course=course,
            data=treatment.TaskMarkData(task_code=code, status="done"),
        )


def _safety_plan(clinic: Clinic, client: Client) -> None:
    measures.safety_plan_save(
        actor=clinic.clinician,
        client=client,
        data=measures.SafetyPlanData(
            warning_signs="Not sleeping; staying in bed past midday; cancelling plans.",
            coping_strategies="A walk round the park; the breathing exercise; a shower.",
            distractions="Music in the kitchen; the café on the corner.",
            people_to_ask="A sister or a close friend (numbers in the phone).",
            professionals="The practice on weekdays; the out-of-hours line at night.",
            safer_environment="Medicines kept by someone else for now.",
        ),
    )


# --- Assessment in progress -------------------------------------------------------------


def assessment(clinic: Clinic, client: Client, password: str) -> None:
    course = clinic.course(
        client, start=-8, format="ipt", presenting_concerns=("depression", "life_transition"),
        medication_status=Course.Medication.CONSIDERING,
    )  # fmt: skip
    clinic.hold(course, Held(
        1, -7, mood=4, phq9=16,
        events="Moved to the city for a new job in the spring; knows almost nobody here yet.",
        link="Low since the move; worst on weekends, when there is nobody to see.",
        focus="Symptom review, what depression is and how IPT works.",
        note="First assessment session. Low mood for four months, sleep broken, appetite down.",
    ), dt.time(14, 0))  # fmt: skip
    _people(clinic, course, [
        ("Noor", "Old friend (back home)", Circle.INNER, "Long phone calls, fewer since the move"),
        ("Jess", "New colleague", Circle.OUTER, "Friendly at work; never met outside"),
    ])  # fmt: skip
    _timeline(clinic, course, [
        (-200, TimelineEvent.Kind.TRANSITION, "Took the job and moved city", 6, False),
        (-120, TimelineEvent.Kind.OTHER, "Stopped playing in the Sunday team", 3, True),
    ])  # fmt: skip
    _area(clinic, course, Area.ROLE_TRANSITION, evidence="The move and the new job came "
          "together; mood fell within weeks.", details={"old_role": "Settled, with friends "
          "near", "new_role": "New in a city and a job"})  # fmt: skip
    clinic.book(client, clinic.at(0, dt.time(14, 0)), course=course)
    clinic.book(client, clinic.at(7, dt.time(14, 0)), course=course)


# --- Mid-course role dispute, PHQ-9 falling week by week; the portal client --------------

DISPUTE_SESSIONS = [
    Held(
        1,
        -42,
        mood=3,
        phq9=19,
        events="Row with Sam about weekends; slept on the sofa.",
        link="Mood lowest after the rows.",
        focus="Assessment; depression as an illness.",
        note="Low mood for six months since Sam's shift pattern changed.",
    ),
    Held(
        2,
        -35,
        mood=3,
        phq9=17,
        events="Two quiet evenings, one argument about money.",
        link="Calmer evenings, slightly better mood.",
        focus="Interpersonal inventory.",
        note="Inventory: Sam, Ruth (mother), Priya (friend), Tom (colleague).",
    ),
    Held(
        3,
        -28,
        mood=4,
        phq9=16,
        events="Told Priya about the difficulties for the first time.",
        link="Relief after talking to Priya.",
        focus="Formulation and contract agreed.",
        note="Shared the formulation; Blake agreed. Contract: 12 weekly sessions.",
    ),
    Held(
        4,
        -21,
        mood=5,
        phq9=14,
        events="Sam and Blake planned one weekend day together.",
        link="Good day together; mood up.",
        focus="What each expects of weekends.",
        work="Expectations: Blake wants shared time; Sam wants rest after nights.",
        techniques=(
            (
                T.CLARIFICATION,
                {
                    "clarified": "Both want time together, on different days",
                    "response": "Surprised; hopeful",
                },
            ),
        ),
        task="Notice one moment each day when Sam and you got on well.",
    ),
    Held(
        5,
        -14,
        mood=6,
        phq9=12,
        events="Argument on Thursday ended sooner than usual.",
        link="Less stuck after the argument.",
        focus="Communication analysis of Thursday.",
        work="Renegotiation: options for the weekend rota.",
        reviewed="Noticed three good moments; wrote them down.",
        techniques=(
            (
                T.COMMUNICATION_ANALYSIS,
                {
                    "situation": "Thursday evening, after Sam's shift",
                    "said": "'You never make time for me'",
                    "meant": "I miss you",
                    "alternatives": "'I miss you; can we plan Sunday?'",
                },
            ),
        ),
        task="Ask Sam for a calm ten minutes to plan the next weekend.",
    ),
    Held(
        6,
        -7,
        mood=7,
        phq9=10,
        events="The planning talk went well; a weekend away is booked.",
        link="Mood better all week.",
        focus="Role play: raising money worries.",
        work="Renegotiation going well; next: money.",
        reviewed="Had the planning talk.",
        techniques=(
            (
                T.ROLE_PLAY,
                {
                    "scenario": "Raising the credit card bill",
                    "roles": "Blake as self; clinician as Sam",
                    "observations": "Clear and calm on the second try",
                },
            ),
        ),
        task="Raise the credit card bill with Sam, using what we practised.",
    ),
]


def role_dispute(clinic: Clinic, client: Client, password: str) -> None:
    course = clinic.course(
        client, start=-43, format="ipt", presenting_concerns=("depression",),
        medication_status=Course.Medication.NONE,
    )  # fmt: skip
    sessions = [clinic.hold(course, plan, dt.time(10, 0)) for plan in DISPUTE_SESSIONS[:3]]
    people = _people(clinic, course, [
        ("Sam", "Partner", Circle.INNER, "Close, but rows since the night shifts began"),
        ("Ruth", "Mother", Circle.MIDDLE, "Phones on Sundays; worries"),
        ("Priya", "Friend", Circle.INNER, "Knows now; good listener"),
        ("Tom", "Colleague", Circle.OUTER, "Lunch most days"),
    ])  # fmt: skip
    _timeline(clinic, course, [
        (-900, TimelineEvent.Kind.TRANSITION, "Moved in with Sam", 8, False),
        (-200, TimelineEvent.Kind.DISPUTE, "Sam started night shifts; weekends apart", 4, True),
        (-90, TimelineEvent.Kind.DISPUTE, "Row at Sam's birthday meal", 2, False),
    ])  # fmt: skip
    area = _area(clinic, course, Area.ROLE_DISPUTE, is_primary=True,
                 evidence="The low mood follows the rows with Sam about time together.",
                 other_person=people["Sam"], dispute_stage=ProblemArea.DisputeStage.RENEGOTIATION,
                 details={"client_expectations": "Weekends together", "other_expectations":
                          "Rest after night shifts", "options": "A shared rota"})  # fmt: skip
    _formulation(
        clinic,
        course,
        "Blake's depression began when Sam's night shifts left them "
        "little time together; the rows that followed keep the low mood going. We "
        "will work on what each of them expects and how to ask for it.",
        shared=-28,
    )
    _contract(clinic, course, -28, (Area.ROLE_DISPUTE,), "Fewer rows; a plan for weekends", 12)
    _done(clinic, course, "init.diagnosis_psychoed", "init.medication_considered")
    for plan in DISPUTE_SESSIONS[3:]:
        sessions.append(clinic.hold(course, plan, dt.time(10, 0)))
    _goal(
        clinic,
        course,
        "Talk about weekends without it turning into a row",
        area,
        [(-28, 2), (-14, 4), (-7, 6)],
    )
    _goal(clinic, course, "See Priya once a fortnight", None, [(-28, 3), (-7, 5)])
    clinic.book_weekly(course, 0, dt.time(10, 0), 6)  # sessions 7 to 12, today onwards
    portal = clinic.portal_account(client, password)
    _portal_life_of_blake(clinic, client, course, portal, sessions)


def _portal_life_of_blake(
    clinic: Clinic, client: Client, course: Course, portal: User, sessions: list[Session]
) -> None:
    portal_accounts.portal_sharing_set(actor=clinic.clinician, client=client, share_progress=True)
    tasks = list(
        BetweenSessionTask.objects.filter(course=course).order_by("set_in_session__number")
    )
    clinic.task_report(
        tasks[-2],
        portal,
        BetweenSessionTask.Status.DONE,
        "We did it on Saturday morning. It helped to have a time agreed.",
    )
    clinic.task_report(
        tasks[-1],
        portal,
        BetweenSessionTask.Status.DONE,
        "Sam was calmer than I expected. We made a plan to pay it off.",
    )
    clinic.conversation(client, portal, [
        (-150, "Thanks for today, Blake. As agreed, the planning talk is the thing to try this "
               "week. See you next Tuesday."),
        (100, "The planning talk went better than I thought. Sam suggested the weekend away!"),
        (-98, "That is good to hear. Bring it along next time and we can look at what helped."),
        (3, "Could we start ten minutes later next week? Sam's shift ends at 9:45."),
    ])  # fmt: skip
    for day, mood, who, text in (
        (-6, 5, "Sam", "Quiet dinner; we talked about the weekend away."),
        (-4, 6, "Priya", "Coffee after work. Told her about the role play."),
        (-2, 7, "Sam", "Raised the credit card bill. No row."),
        (-1, 6, "Mum", "Long call. She noticed I sound brighter."),
    ):
        clinic.diary(client, portal, day, mood, who, text)
    clinic.client_completes(course, "WHO-5", 14, by=portal, day=-1)
    clinic.assign(course, "GAD-7", due=0)
    goal = course.goals.order_by("created_at").first()
    if goal is not None:
        treatment.goal_rate(actor=portal, goal=goal, rating=6, rated_on=clinic.day(-2))
    _safety_plan(clinic, client)


# --- Grief, with an open PHQ-9 item 9 alert ---------------------------------------------


def grief(clinic: Clinic, client: Client, password: str) -> None:
    course = clinic.course(
        client, start=-28, format="ipt", presenting_concerns=("depression", "grief"),
        medication_status=Course.Medication.TAKING, prescriber="Her GP (fictional)",
    )  # fmt: skip
    plans = [
        Held(1, -27, mood=2, phq9=20, events="Third month since her mother died; stopped "
             "going to choir.", link="Worse around the weekly call time.",
             focus="Assessment; the loss and what followed.",
             note="Grief with depression; says she feels she should be 'over it'."),
        Held(2, -20, mood=3, events="Visited the grave with her sister.", link="Sad but closer.",
             focus="Inventory and the story of the illness and death.",
             note="Safety plan written together (passive thoughts some nights, no plan)."),
        Held(3, -13, mood=3, events="Found old photos; cried for the first time.",
             link="Lighter the next day.", focus="Formulation and contract.",
             techniques=((T.AFFECT, {"affect": "Guilt about the last visit",
                          "context": "The photos"}),),
             task="Look through one album with your sister."),
        Held(4, -6, mood=4, phq9=18, events="Went back to choir rehearsal for half an hour.",
             link="Good to be with people who knew her mother.",
             focus="Mourning: the relationship, good and hard.",
             reviewed="Not done yet: not ready.", work="Reconstructing the relationship.",
             task="Write down three memories of your mother, good or hard."),
    ]  # fmt: skip
    for plan in plans[:2]:
        clinic.hold(course, plan, dt.time(15, 0))
    _safety_plan(clinic, client)
    _people(clinic, course, [
        ("Rosa", "Mother (died in the spring)", Circle.INNER, "Called every Sunday"),
        ("Inés", "Sister", Circle.INNER, "Shares the grief; lives nearby"),
        ("Marco", "Husband", Circle.INNER, "Supportive, finds it hard to talk about"),
        ("Choir", "Choir friends", Circle.MIDDLE, "Stopped going after the funeral"),
    ])  # fmt: skip
    _timeline(clinic, course, [
        (-150, TimelineEvent.Kind.OTHER, "Mother's illness diagnosed", 4, False),
        (-110, TimelineEvent.Kind.DEATH, "Mother died in hospital", 1, True),
        (-100, TimelineEvent.Kind.OTHER, "Stopped going to choir", 2, False),
    ])  # fmt: skip
    area = _area(clinic, course, Area.GRIEF, is_primary=True,
                 evidence="Depression began after her mother's death and has not lifted.",
                 mourning_progress=ProblemArea.Mourning.IN_PROGRESS,
                 details={"who_died": "Her mother, Rosa", "date_of_death": "In the spring",
                          "relationship": "Close; daily contact, some old hurts"})  # fmt: skip
    _formulation(
        clinic,
        course,
        "Carmen's depression came with the loss of her mother, whom "
        "she spoke to every day. She has held the grief in; we will look at the "
        "relationship as it really was and help her back to the people around her.",
        shared=-13,
    )
    _contract(clinic, course, -13, (Area.GRIEF,), "Mourn, and return to choir and friends", 12)
    _done(clinic, course, "init.diagnosis_psychoed", "init.medication_considered")
    for plan in plans[2:]:
        clinic.hold(course, plan, dt.time(15, 0))
    _goal(clinic, course, "Go back to choir every week", area, [(-13, 1), (-6, 3)])
    portal = clinic.portal_account(client, password)
    task = BetweenSessionTask.objects.filter(course=course).order_by("created_at").first()
    if task is not None:
        clinic.task_report(
            task,
            portal,
            BetweenSessionTask.Status.NOT_DONE,
            "I wasn't ready this week. Maybe with Inés on Sunday.",
        )
    phq9 = clinic.client_completes(course, "PHQ-9", 19, by=portal, day=-1, self_harm=1)
    RiskAlert.objects.filter(administration=phq9).update(raised_at=phq9.completed_at)
    clinic.conversation(client, portal, [
        (-120, "Thank you for coming in on Tuesday, Carmen. The album can wait until you feel "
               "ready; there is no rush."),
        (20, "I filled in the questionnaire. Some nights are still very hard."),
    ])  # fmt: skip
    for day, mood, who, text in (
        (-3, 3, "Inés", "Looked at two photos together. Cried, then laughed."),
        (-2, 2, "", "Bad night. Could not stop thinking about the hospital."),
    ):
        clinic.diary(client, portal, day, mood, who, text)
    clinic.book(client, clinic.at(1, dt.time(15, 0)), course=course)
    clinic.book(client, clinic.at(8, dt.time(15, 0)), course=course)


# --- Concluded course, then maintenance -------------------------------------------------

CONCLUDED_PHQ9 = {1: 18, 4: 15, 8: 10, 11: 7, 12: 4}


def concluded_then_maintenance(clinic: Clinic, client: Client, password: str) -> None:
    course = clinic.course(
        client, start=-121, format="ipt", presenting_concerns=("depression", "life_transition"),
        medication_status=Course.Medication.DECLINED,
    )  # fmt: skip
    _people(clinic, course, [
        ("Ana", "Partner", Circle.INNER, "Steady support"),
        ("Lee", "Old manager", Circle.OUTER, "Lost touch after the redundancy"),
        ("Football", "Five-a-side team", Circle.MIDDLE, "Went back in session 7"),
    ])  # fmt: skip
    area = _area(clinic, course, Area.ROLE_TRANSITION, is_primary=True,
                 evidence="Low since being made redundant; lost his routine and his team.",
                 details={"old_role": "Warehouse supervisor", "new_role": "Retraining as an "
                          "electrician", "losses": "Routine, colleagues", "gains": "A trade "
                          "he chose"})  # fmt: skip
    _timeline(clinic, course, [
        (-260, TimelineEvent.Kind.OTHER, "Warehouse sold; rumours of job cuts", 5, False),
        (-200, TimelineEvent.Kind.TRANSITION, "Made redundant", 2, True),
        (-150, TimelineEvent.Kind.OTHER, "Stopped going to five-a-side", 2, False),
    ])  # fmt: skip
    for number in range(1, 13):
        day = -121 + 7 * (number - 1) + 1
        mood = min(3 + number // 2, 9)
        clinic.hold(course, Held(
            number, day, mood=mood, phq9=CONCLUDED_PHQ9.get(number),
            events=f"Week {number}: course applications, time with Ana.",
            link="Busier weeks, better mood.", focus="The transition: losses and gains.",
            work="Role transition work." if number > 3 else "",
            note="Session held as planned.",
        ), dt.time(9, 0))  # fmt: skip
        if number == 3:
            _formulation(
                clinic,
                course,
                "Devon's depression began when redundancy took his "
                "work, his routine and his team at once. We will mourn what was "
                "lost and build the new role he is choosing.",
                shared=-107,
            )
            _contract(
                clinic,
                course,
                -107,
                (Area.ROLE_TRANSITION,),
                "Settle into retraining; rebuild a weekly routine with people in it",
                12,
            )
    _goal(
        clinic, course, "A weekly routine with people in it", area, [(-107, 2), (-65, 6), (-44, 8)]
    )
    treatment.inventory_copy_to_end(actor=clinic.clinician, course=course)
    _done(clinic, course, "init.diagnosis_psychoed", "init.medication_considered")
    treatment.termination_save(
        actor=clinic.clinician, course=course, version=0,
        data=treatment.TerminationData(
            raised_at_session=9,
            gains="Back at five-a-side; started the electrician course; PHQ-9 from 18 to 4. "
                  "Devon did the hard parts himself.",
            warning_signs="Staying in bed on weekdays; dropping football; not answering Ana.",
            relapse_plan="Tell Ana; call the practice for a booster; keep the weekly routine.",
            relapse_contacts="The practice; his GP (fictional).",
            next_step=TerminationRecord.NextStep.MAINTENANCE,
            next_step_reason="Two earlier episodes: monthly maintenance for six months.",
            conclusion_summary="Course completed as agreed; depression in remission.",
        ),
    )  # fmt: skip
    course.refresh_from_db()
    treatment.course_conclude(
        actor=clinic.clinician, course=course, version=course.version,
        data=treatment.ConclusionData(
            status=Course.Status.CONCLUDED, ended_on=clinic.day(-43),
            status_reason="All 12 sessions held; moving to maintenance.",
        ),
    )  # fmt: skip
    _maintenance(clinic, course)


def _maintenance(clinic: Clinic, acute: Course) -> None:
    course = treatment.course_start_maintenance(
        actor=clinic.clinician, previous=acute, clinician=clinic.membership,
        data=treatment.MaintenanceData(start_date=clinic.day(-26), planned_sessions=6),
    )  # fmt: skip
    treatment.contract_record(
        actor=clinic.clinician, course=course,
        data=treatment.ContractData(
            planned_sessions=6, frequency="monthly", agreed_on=clinic.day(-25),
            focus_areas=(Area.ROLE_TRANSITION,), goals_summary="Keep the gains; spot early signs",
        ),
    )  # fmt: skip
    clinic.hold(course, Held(1, -25, mood=8, phq9=5, events="First month of the course going well.",
                             link="Steady.", focus="Keeping the routine going.",
                             note="Maintenance session 1."), dt.time(9, 0))  # fmt: skip
    clinic.book(acute.client, clinic.at(3, dt.time(9, 0)), course=course)


# --- Adolescent IPT with a parent session ------------------------------------------------


def adolescent(clinic: Clinic, client: Client, password: str) -> None:
    course = clinic.course(
        client, start=-34, format="ipt_a", presenting_concerns=("depression",),
        participants=("parent",), participant_names="Jordan Demo-Kapok (parent)",
    )  # fmt: skip
    plans = [
        Held(1, -33, mood=3, phq9=17, attendees=("client", "parent"),
             events="Has stopped going to the lunchtime club since changing school.",
             link="Low on school days.", focus="Assessment with Jordan (parent) for part of it.",
             note="Jordan joined for the first half: explained depression and IPT-A."),
        Held(2, -26, mood=4, events="Sat with a classmate in art.", link="A better day.",
             focus="Inventory.", note="Inventory: Jordan, old friends, a new classmate."),
        Held(3, -19, mood=4, events="Argument with Jordan about phone time.",
             link="Low after the argument.", focus="Formulation and contract."),
        Held(4, -12, mood=5, phq9=14, events="Went to the lunchtime club once.",
             link="Felt included.", focus="The new school: what was lost and what is new.",
             work="Role transition: old friends, new school.", task="Go to the club on Thursday."),
        Held(5, -5, mood=5, phq9=13, events="Club on Thursday; talked to two people.",
             link="Nervous but glad.", focus="Skills for joining in.",
             reviewed="Went; stayed the whole hour.", work="Practising how to join a group.",
             techniques=((T.ROLE_PLAY, {"scenario": "Joining a table at lunch",
                          "roles": "Kai as self; clinician as classmates"}),),
             task="Ask one person from the club about the weekend."),
    ]  # fmt: skip
    for plan in plans[:3]:
        clinic.hold(course, plan, dt.time(16, 30))
    _people(clinic, course, [
        ("Jordan", "Parent", Circle.INNER, "Caring; worried; rows about the phone"),
        ("Mia", "Friend from the old school", Circle.MIDDLE, "Messages less often now"),
        ("Sol", "New classmate", Circle.OUTER, "Sits together in art"),
    ])  # fmt: skip
    _timeline(clinic, course, [(-120, TimelineEvent.Kind.TRANSITION, "Moved school", 3, True)])
    _area(
        clinic,
        course,
        Area.ROLE_TRANSITION,
        is_primary=True,
        evidence="Low since moving school; lost old friends, not yet part of the new group.",
        details={"old_role": "Settled with friends", "new_role": "New at school"},
    )
    _formulation(
        clinic,
        course,
        "Kai's low mood began with the move to a new school, away "
        "from old friends. We will work on the change and on joining in.",
        shared=-19,
    )
    _contract(clinic, course, -19, (Area.ROLE_TRANSITION,), "Feel part of the new school", 12)
    _done(clinic, course, "init.diagnosis_psychoed", "init.medication_considered")
    for plan in plans[3:]:
        clinic.hold(course, plan, dt.time(16, 30))
    clinic.book(client, clinic.at(2, dt.time(16, 30)), course=course)


# --- Brief IPT in its ending phase -------------------------------------------------------


def brief_ending(clinic: Clinic, client: Client, password: str) -> None:
    course = clinic.course(
        client,
        start=-51,
        format="ipt_b",
        planned_sessions=8,
        presenting_concerns=("depression", "life_transition"),
    )
    clinic.hold(
        course,
        Held(
            0,
            -50,
            mood=4,
            events="Retired last year; days feel empty.",
            focus="Engagement: what Brief IPT offers.",
            note="Engagement session before the contract.",
        ),
        dt.time(11, 0),
    )
    _area(
        clinic,
        course,
        Area.ROLE_TRANSITION,
        is_primary=True,
        evidence="Low since retiring from teaching.",
        details={"old_role": "Head of a school department", "new_role": "Retired"},
    )
    _people(clinic, course, [
        ("Luis", "Husband", Circle.INNER, "Still working; out most days"),
        ("Pilar", "Former colleague", Circle.MIDDLE, "Lunch now and then"),
        ("Library", "Volunteers at the library", Circle.OUTER, "Met in session 4's week"),
    ])  # fmt: skip
    _timeline(clinic, course, [
        (-400, TimelineEvent.Kind.TRANSITION, "Retired after 30 years of teaching", 5, False),
        (-300, TimelineEvent.Kind.OTHER, "Stopped seeing colleagues; days at home", 3, True),
    ])  # fmt: skip
    _formulation(
        clinic,
        course,
        "Elena's low mood began in the year after she retired, when "
        "the work that shaped her days and her friendships ended. We will mourn what "
        "the old role gave her and build a new week.",
        shared=-43,
    )
    _contract(clinic, course, -43, (Area.ROLE_TRANSITION,), "A week with a shape to it", 8)
    _done(clinic, course, "init.diagnosis_psychoed", "init.medication_considered")
    for number in range(1, 8):
        phq9 = {1: 15, 4: 11, 7: 8}.get(number)
        clinic.hold(course, Held(
            number, -43 + 7 * (number - 1), mood=min(4 + number // 2, 8), phq9=phq9,
            events="Volunteering at the library; lunch with a former colleague."
            if number > 3 else "Mostly at home.",
            link="Better on days with something planned.", focus="Retirement: losses and gains.",
            work="Role transition work." if number > 1 else "",
            note="Ending raised today: two sessions left." if number == 5 else "",
            sign=number < 7,
        ), dt.time(11, 0))  # fmt: skip
    treatment.termination_save(
        actor=clinic.clinician, course=course, version=0,
        data=treatment.TerminationData(
            raised_at_session=5,
            gains="Two mornings a week at the library; back in touch with old colleagues.",
            warning_signs="Days with nothing planned; not getting dressed.",
        ),
    )  # fmt: skip
    clinic.book(client, clinic.at(6, dt.time(11, 0)), course=course)


# --- A new referral: consultation this week, no course yet -------------------------------


def new_referral(clinic: Clinic, client: Client, password: str) -> None:
    clinic.book(
        client,
        clinic.at(0, dt.time(12, 0)),
        kind=Appointment.Kind.CONSULTATION,
        note="First meeting; ground floor room.",
    )


def intake_request(clinic: Clinic) -> None:
    """A request from the public consultation form, waiting in the intake queue."""
    consultation.consultation_request_submit(
        practice=clinic.practice,
        data=consultation.ConsultationData(
            name="Quinn Demo-Quince", email="quinn.demo-quince@example.com",
            preferred_times="Weekday mornings",
            reason="My GP suggested talking therapy after a hard year.",
            consent_to_contact=True,
        ),
    )  # fmt: skip


SCENARIOS = [
    Scenario(
        ClientSpec("DEMO-101", "Avery", "Demo-Alder", dt.date(1994, 4, 12), "they/them"),
        "assessment in progress (IPT)",
        assessment,
    ),
    Scenario(
        ClientSpec("DEMO-102", "Blake", "Demo-Birch", dt.date(1985, 9, 3), "he/him"),
        "mid-course role dispute, weekly PHQ-9 falling (IPT); portal client",
        role_dispute,
        portal=True,
    ),
    Scenario(
        ClientSpec(
            "DEMO-103", "Carmen", "Demo-Cedar", dt.date(1979, 1, 27), "she/her", "Carmi", "Spanish"
        ),
        "grief with an open PHQ-9 item 9 alert (IPT)",
        grief,
    ),
    Scenario(
        ClientSpec("DEMO-104", "Devon", "Demo-Dogwood", dt.date(1982, 6, 18), "he/him"),
        "concluded course with its ending, then maintenance (IPT, IPT-M)",
        concluded_then_maintenance,
    ),
    Scenario(
        ClientSpec("DEMO-105", "Kai", "Demo-Kapok", dt.date(2010, 3, 14), "they/them"),
        "adolescent course with a parent session (IPT-A)",
        adolescent,
    ),
    Scenario(
        ClientSpec(
            "DEMO-106", "Elena", "Demo-Elm", dt.date(1958, 11, 30), "she/her", language="Spanish"
        ),
        "Brief IPT in its ending phase, last note unsigned (IPT-B)",
        brief_ending,
    ),
    Scenario(
        ClientSpec("DEMO-107", "Lucia", "Demo-Larch", dt.date(1991, 7, 9), "she/her", "Lu"),
        "new referral, consultation today",
        new_referral,
    ),
]
