"""Pages anyone may open: the consultation request and the portal welcome (invitation)."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from openipt.core import languages
from openipt.core.http import GET_POST, attempt, form_errors_from, posted
from openipt.engagement import accounts, consultation
from openipt.portal.forms import ConsultationForm, PortalPasswordForm


@GET_POST
def consultation_request(request: HttpRequest) -> HttpResponse:
    practice = consultation.consultation_practice(request.GET.get("practice"))
    form = ConsultationForm(posted(request))
    status = 200
    if request.method == "POST":
        if not consultation.consultation_throttle(request):
            form.add_error(
                None,
                _(
                    "We have received several requests from your connection in the last "
                    "hour. Please wait an hour and try again, or telephone the practice."
                ),
            )
            status = 429
        elif form.is_bot:
            return redirect("portal:consultation-thanks")
        elif form.is_valid():
            submitted = attempt(
                form,
                lambda: consultation.consultation_request_submit(
                    practice=practice, data=form.to_data(), request=request
                ),
            )
            if submitted.ok:
                return redirect("portal:consultation-thanks")
    context = {"form": form, "practice": practice}
    return render(request, "portal/consultation.html", context, status=status)


@require_GET
def consultation_thanks(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/consultation_thanks.html")


@GET_POST
def welcome(request: HttpRequest, token: str) -> HttpResponse:
    """A client accepts their invitation by choosing a password; then they are signed in."""
    invitation = accounts.portal_invitation_by_token(token)
    if invitation is not None and settings.LANGUAGE_COOKIE_NAME not in request.COOKIES:
        # The invitation came in the language on the client's record; its page follows,
        # until the person picks another with the switch at the foot of the page.
        request.LANGUAGE_CODE = languages.supported(invitation.client.language)
        translation.activate(request.LANGUAGE_CODE)
    if invitation is None or not invitation.is_usable:
        status = 404 if invitation is None else 410
        return render(request, "portal/welcome_invalid.html", status=status)
    form = PortalPasswordForm(posted(request), email=invitation.email)
    if request.method == "POST" and form.is_valid():
        try:
            user = accounts.portal_invitation_accept(
                token=token, password=form.cleaned_data["password1"], request=request
            )
        except ValidationError as exc:
            if exc.code == "unusable":
                return render(request, "portal/welcome_invalid.html", status=410)
            form_errors_from(form, exc)
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, _("Welcome. Your account is ready."))
            return redirect("portal:home")
    return render(request, "portal/welcome.html", {"form": form, "invitation": invitation})
