"""Each signed-in person sees OpenIPT in their own language (docs/translation.md).

Django's ``LocaleMiddleware`` has already chosen from the language cookie (the switcher on
the public pages) or the browser. A staff member's own choice (``User.language``) wins over
both; a client's portal follows the language on their client record, the one their
invitations, reminders and letters use, so the portal and the mail always agree.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils import translation

from openipt.clients.models import Client
from openipt.core import languages

Handler = Callable[[HttpRequest], HttpResponse]


def language_of(request: HttpRequest) -> str | None:
    """The signed-in person's own language, or None to keep what the browser asked for."""
    user = request.user
    if not user.is_authenticated:
        return None
    membership = getattr(request, "membership", None)
    if membership is not None and membership.kind == "client":
        code = Client.objects.filter(portal__user=user).values_list("language", flat=True).first()
    else:
        code = getattr(user, "language", "")
    return languages.supported(code) if code else None


class LanguageMiddleware:
    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        code = language_of(request)
        if code is not None and code != translation.get_language():
            translation.activate(code)
            request.LANGUAGE_CODE = code
        return self.get_response(request)
