"""What the course pages share: the page frame (course header with the phase or the ending,
section tabs, whether the user may change the course) and the link back to the client."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse

from openipt.access.treatment import courses_for
from openipt.accounts.http import AuthenticatedHttpRequest
from openipt.care.selectors import course_phase_label
from openipt.treatment.models import Course, PhaseTaskStatus

MARK_STATUSES = PhaseTaskStatus.Status.choices


def client_url(course: Course) -> str:
    try:
        return reverse("clients:detail", args=[course.client.uuid])
    except NoReverseMatch:
        return ""


def page(
    request: AuthenticatedHttpRequest,
    template: str,
    course: Course,
    section: str,
    *,
    can_write: bool | None = None,
    **extra: Any,
) -> HttpResponse:
    """A course page; ``can_write`` is worked out unless the caller already knows it."""
    if can_write is None:
        can_write = courses_for(request.user, write=True).filter(pk=course.pk).exists()
    if "phase_label" not in extra and course.is_open:
        extra["phase_label"] = course_phase_label(course)
    context = {
        "course": course,
        "section": section,
        "can_write": can_write,
        "client_url": client_url(course),
        **extra,
    }
    return render(request, template, context)
