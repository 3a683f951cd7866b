"""What the portal reads, always for the signed-in client's own record.

Every function takes the client that ``openipt.access.engagement.access_own_client``
returned; nothing here accepts a client from the URL or the form. A record UUID in the URL is
looked up *within* that client, so another client's UUID answers 404. Process notes are never
read here.
"""

from __future__ import annotations

import uuid as uuid_lib
from typing import TYPE_CHECKING

from django.db.models import Prefetch
from django.http import Http404
from django.utils import timezone

from openipt.core.http import parse_uuid
from openipt.measures.models import Administration
from openipt.scheduling.models import Appointment
from openipt.treatment.models import (
    BetweenSessionTask,
    Course,
    Goal,
    Session,
    SessionAmendment,
    final_sessions_q,
)

if TYPE_CHECKING:
    from openipt.clients.models import Client

OPEN_ADMINISTRATION = (Administration.Status.ASSIGNED, Administration.Status.DUE)
VISIBLE_COURSES = (Course.Status.ASSESSMENT, Course.Status.ACTIVE, Course.Status.CONCLUDED)


def upcoming_appointments(client: Client, *, limit: int = 5) -> list[Appointment]:
    return list(
        Appointment.objects.filter(
            client=client, status=Appointment.Status.BOOKED, ends_at__gte=timezone.now()
        )
        .select_related("clinician__user")
        .order_by("starts_at")[:limit]
    )


def questionnaires_due(client: Client) -> list[Administration]:
    return list(
        Administration.objects.filter(
            client=client,
            mode=Administration.Mode.CLIENT_COMPLETED,
            status__in=OPEN_ADMINISTRATION,
        )
        .select_related("instrument")
        .order_by("due_on", "created_at")
    )


def own_administration(client: Client, administration_uuid: str | uuid_lib.UUID) -> Administration:
    found = (
        Administration.objects.filter(
            client=client,
            uuid=parse_uuid(administration_uuid),
            mode=Administration.Mode.CLIENT_COMPLETED,
        )
        .select_related("instrument")
        .first()
    )
    if found is None:
        raise Http404
    return found


def current_course(client: Client) -> Course | None:
    return (
        Course.objects.filter(client=client, status__in=VISIBLE_COURSES)
        .order_by("-start_date", "-created_at")
        .first()
    )


def own_goals(client: Client) -> list[Goal]:
    course = current_course(client)
    if course is None:
        return []
    return list(Goal.objects.filter(course=course).prefetch_related("ratings"))


def own_goal(client: Client, goal_uuid: str | uuid_lib.UUID) -> Goal:
    goal = (
        Goal.objects.filter(
            uuid=parse_uuid(goal_uuid), course__client=client, course__status__in=VISIBLE_COURSES
        )
        .select_related("course")
        .first()
    )
    if goal is None:
        raise Http404
    return goal


def tasks_from_sessions(client: Client, *, limit: int = 5) -> list[Session]:
    """Sessions from before between-session tasks were recorded one by one, whose free-text
    "Something to try this week" is still shown (read only), newest first."""
    return list(
        Session.objects.filter(course__client=client, course__status__in=VISIBLE_COURSES)
        .exclude(tasks_set="")
        .filter(tasks_given__isnull=True)
        .only("uuid", "number", "starts_at", "tasks_set", "course_id")
        .order_by("-starts_at")[:limit]
    )


def own_tasks(client: Client, *, limit: int = 30) -> list[BetweenSessionTask]:
    """The client's between-session tasks, newest session first."""
    return list(
        BetweenSessionTask.objects.filter(course__client=client, course__status__in=VISIBLE_COURSES)
        .select_related("set_in_session")
        .order_by("-set_in_session__starts_at", "created_at")[:limit]
    )


def own_task(client: Client, task_uuid: str | uuid_lib.UUID) -> BetweenSessionTask:
    task = (
        BetweenSessionTask.objects.filter(
            uuid=parse_uuid(task_uuid), course__client=client, course__status__in=VISIBLE_COURSES
        )
        .select_related("set_in_session")
        .first()
    )
    if task is None:
        raise Http404
    return task


def shared_session_notes(client: Client, *, limit: int = 200) -> list[Session]:
    """The client's session notes that are final: signed, and co-signed where the clinician
    is in training (docs/adr/0018-trainee-co-signature.md); a note still waiting for its
    co-signature is not shown. Oldest first, with their amendments; the private process
    note is a different record and is never read here."""
    amendments = Prefetch("amendments", queryset=SessionAmendment.objects.order_by("created_at"))
    return list(
        Session.objects.filter(course__client=client, course__status__in=VISIBLE_COURSES)
        .filter(final_sessions_q())
        .only("uuid", "number", "starts_at", "focus", "progress_note", "course_id")
        .prefetch_related(amendments)
        .order_by("starts_at", "pk")[:limit]
    )
