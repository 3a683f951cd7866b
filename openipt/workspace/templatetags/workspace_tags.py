"""Tags for the client page.

``{% client_inbox_counts client as counts %}``: the signed-in member's new inbox items for
one client (openipt/engagement/inbox.py), in one query; the page itself has already
recorded its read of the client. ``courses|first_open_course``: the newest course still in
assessment or active, whose "Open course" is then the page's primary action."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import template

from openipt.clients.models import Client
from openipt.engagement import inbox
from openipt.treatment.models import Course

register = template.Library()


@register.simple_tag(takes_context=True)
def client_inbox_counts(context: dict[str, Any], client: Client) -> inbox.InboxCounts:
    request = context.get("request")
    membership = getattr(request, "membership", None) or None
    return inbox.inbox_counts(membership, client=client)


@register.filter
def first_open_course(courses: Iterable[Course]) -> Course | None:
    return next((course for course in courses if course.is_open), None)
