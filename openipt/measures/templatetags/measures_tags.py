"""``{% load measures_tags %}{% course_chart course %}``: a course's charts and scores, for
the course overview (and, later, the client page and PDFs). Two queries whatever the size."""

from __future__ import annotations

from typing import Any

from django import template

from openipt.measures.progress import course_progress
from openipt.measures.selectors import course_off_track
from openipt.measures.selectors import offered_in as offered_in_language

register = template.Library()


@register.inclusion_tag("measures/partials/course_chart.html")
def course_chart(course: Any) -> dict[str, Any]:
    return {"progress": course_progress(course), "course": course}


@register.inclusion_tag("measures/partials/termination_summary.html")
def termination_summary(course: Any) -> dict[str, Any]:
    return {"progress": course_progress(course), "course": course}


@register.inclusion_tag("measures/partials/off_track_badge.html")
def off_track_badge(course: Any) -> dict[str, Any]:
    """For caseload rows: no query when the caseload prefetched the administrations."""
    return {"off_track": course_off_track(course)}


@register.filter
def offered_in(instruments: Any, language: str) -> list[Any]:
    """``{% for i in instruments|offered_in:client.language %}``: each measure's version in
    the client's language first, so a list's default is the one the client reads."""
    return offered_in_language(instruments, language)
