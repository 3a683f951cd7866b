"""Template tags for client pages."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import template

from openipt.accounts.models import User
from openipt.clients.models import Client
from openipt.clients.selectors import emergency_access_until

register = template.Library()


@register.simple_tag(takes_context=True)
def emergency_until(context: dict[str, Any], client: Client) -> dt.datetime | None:
    """When the signed-in user's emergency access to ``client`` ends, if that is how they
    are reading it (the banner of docs/adr/0016-emergency-access.md)."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if not isinstance(user, User):
        return None
    return emergency_access_until(user, client)
