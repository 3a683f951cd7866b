"""SMART authorisation pages and endpoints under ``/oauth/`` (and the SMART configuration
under the FHIR base).

The approval page is django-oauth-toolkit's authorisation view with our rules in front:
signed in, with a second factor used in this sign-in, the app registered by one's own
practice; a client's approval confines the app to their own record, a staff member picks
the one client a patient-level app may work with. Administrators register and disable
their practice's apps and backend services; everyone sees and revokes their own connected
apps.
"""

from __future__ import annotations

from typing import Any, cast
from urllib.parse import urlencode, urlsplit
from uuid import UUID

from allauth.account.authentication import get_authentication_records
from allauth.mfa.models import Authenticator
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from oauth2_provider.views import AuthorizationView, TokenView

from openipt.accounts import policy
from openipt.accounts.http import AuthenticatedHttpRequest, StaffRequest, staff_required
from openipt.accounts.models import Membership, User
from openipt.api import backend, smart
from openipt.api.forms_oauth import AppRegisterForm, BackendRegisterForm, SmartAllowForm
from openipt.api.models import SmartApp, TokenContext
from openipt.clients.models import Client
from openipt.core.http import GET_POST

LAYOUT_STAFF = "api/layout_staff.html"
LAYOUT_CLIENT = "api/layout_client.html"


def _layout(membership: Membership | None) -> str:
    if membership is not None and membership.kind == Membership.Kind.CLIENT:
        return LAYOUT_CLIENT
    return LAYOUT_STAFF


def used_second_factor(request: HttpRequest, user: User) -> bool:
    """Whether this sign-in included an authenticator code (allauth records each step of
    the session's authentication)."""
    return any(r.get("method") == "mfa" for r in get_authentication_records(request, user))


# --- The approval page ------------------------------------------------------------------


class SmartAuthorizationView(AuthorizationView):  # type: ignore[misc]  # DOT: untyped
    """``/oauth/authorize/``: what the app asks for in plain words, Approve or Deny."""

    template_name = "api/authorize.html"
    form_class = SmartAllowForm

    smart_app: SmartApp
    membership: Membership
    own: Client | None = None
    patient: Client | None = None

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        user = request.user
        if not isinstance(user, User):  # DOT sends the anonymous to the sign-in page
            return cast(HttpResponseBase, super().dispatch(request, *args, **kwargs))
        membership = getattr(request, "membership", None)
        client_id = request.POST.get("client_id") or request.GET.get("client_id", "")
        app = smart.app_for_approval(membership, client_id)
        if membership is None or app is None:
            raise Http404
        self.membership, self.smart_app = membership, app
        if membership.kind == Membership.Kind.CLIENT:
            self.own = smart.own_client(membership)
            if self.own is None:
                raise Http404
        if not used_second_factor(request, user):
            return self._second_factor_needed(request, user)
        response = cast(HttpResponseBase, super().dispatch(request, *args, **kwargs))
        # The approval redirects to the app: allow the form to lead there (CSP form-action).
        origins = sorted({_origin(uri) for uri in app.application.redirect_uris.split()})
        response._csp_update = {"form-action": origins}  # type: ignore[attr-defined]
        return response

    def _second_factor_needed(self, request: HttpRequest, user: User) -> HttpResponse:
        enrolled = Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()
        back = request.get_full_path()
        sign_in_again = reverse("account_login") + "?" + urlencode({"next": back})
        context = {
            "layout": _layout(self.membership),
            "app": self.smart_app,
            "enrolled": enrolled,
            "sign_in_again": sign_in_again,
            "activate": reverse("mfa_activate_totp"),
        }
        return render(request, "api/authorize_mfa.html", context, status=403)

    def get_form_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = super().get_form_kwargs()
        if self.membership.kind == Membership.Kind.STAFF:
            kwargs["patients"] = smart.reachable_clients(self.membership)
        return kwargs

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context: dict[str, Any] = super().get_context_data(**kwargs)
        form = context.get("form")
        scopes = kwargs.get("scopes")
        if scopes is None and form is not None:
            scopes = str(form["scope"].value() or "").split()
        scopes = list(scopes or [])
        for_client = self.membership.kind == Membership.Kind.CLIENT
        context.update(
            layout=_layout(self.membership),
            app=self.smart_app,
            for_client=for_client,
            own=self.own,
            plain_scopes=smart.describe_scopes(scopes, for_client=for_client),
            choose_patient=not for_client and _needs_patient(scopes),
        )
        if context["choose_patient"] and form is not None:
            smart.client_list_shown(
                request=self.request,
                actor=cast(User, self.request.user),
                membership=self.membership,
                count=form.fields["patient"].queryset.count(),
                what="SMART approval, clients to choose from",
            )
        return context

    def form_valid(self, form: SmartAllowForm) -> HttpResponse:
        scopes = str(form.cleaned_data.get("scope") or "").split()
        allow = bool(form.cleaned_data.get("allow"))
        if allow:
            if self.own is not None:
                self.patient = self.own
            elif _needs_patient(scopes):
                self.patient = form.cleaned_data.get("patient")
                if self.patient is None:
                    form.add_error("patient", _("Choose the client this app may work with."))
                    return cast(HttpResponse, self.form_invalid(form))
        smart.approval_record(
            actor=cast(User, self.request.user),
            app=self.smart_app,
            approved=allow,
            scopes=scopes,
            patient=self.patient,
            request=self.request,
        )
        return cast(HttpResponse, super().form_valid(form))

    def create_authorization_response(
        self, request: HttpRequest, scopes: str, credentials: dict[str, Any], allow: bool
    ) -> Any:
        if self.patient is not None:
            credentials["smart_patient_id"] = self.patient.pk
        return super().create_authorization_response(request, scopes, credentials, allow)


def _needs_patient(scopes: list[str]) -> bool:
    try:
        return smart.needs_patient(smart.parse_scopes(scopes))
    except smart.ScopeError:
        return False


def _origin(uri: str) -> str:
    parts = urlsplit(uri)
    return f"{parts.scheme}://{parts.netloc}"


# --- The token endpoint ------------------------------------------------------------------


class SmartTokenView(TokenView):  # type: ignore[misc]  # DOT: untyped
    """``/oauth/token/``: django-oauth-toolkit's, told its own absolute address (built as
    the SMART configuration builds it), which a backend service's assertion must name as
    its ``aud``."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        request.META[backend.TOKEN_URL_KEY] = request.build_absolute_uri(reverse("smart:token"))
        return cast(HttpResponse, super().post(request, *args, **kwargs))


# --- The SMART configuration --------------------------------------------------------------


@require_GET
def smart_configuration(request: HttpRequest) -> JsonResponse:
    """``/fhir/.well-known/smart-configuration`` (SMART App Launch 2): where to authorise,
    what is supported. Addresses are absolute, built from the request."""
    url = request.build_absolute_uri
    document = {
        # The same issuer the approval's redirect carries as ``iss`` (RFC 9207).
        "issuer": url("/").rstrip("/"),
        "authorization_endpoint": url(reverse("smart:authorize")),
        "token_endpoint": url(reverse("smart:token")),
        "revocation_endpoint": url(reverse("smart:revoke-token")),
        "management_endpoint": url(reverse("smart:connected")),
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "response_types_supported": ["code"],
        "code_challenge_methods_supported": ["S256"],
        # private_key_jwt: backend services only (client credentials, docs/smart.md).
        "token_endpoint_auth_methods_supported": [
            "client_secret_basic",
            "client_secret_post",
            "private_key_jwt",
        ],
        "token_endpoint_auth_signing_alg_values_supported": list(backend.ALGORITHMS),
        "scopes_supported": [*smart.SUPPORTED_SCOPES, *smart.SYSTEM_SCOPES],
        "capabilities": [
            "launch-standalone",
            "client-public",
            "client-confidential-symmetric",
            "client-confidential-asymmetric",
            "context-standalone-patient",
            "permission-offline",
            "permission-patient",
            "permission-user",
            "permission-v1",
            "permission-v2",
        ],
    }
    return JsonResponse(document)


# --- Registering apps (practice administrators) ----------------------------------------------


def _admin(request: StaffRequest) -> Membership:
    if not policy.can_manage_apps(request.membership):
        raise Http404
    return request.membership


@staff_required
@require_GET
def app_list(request: StaffRequest) -> HttpResponse:
    apps = smart.practice_apps(_admin(request))
    return render(request, "api/apps.html", {"layout": LAYOUT_STAFF, "apps": apps})


@staff_required
@GET_POST
def app_register(request: StaffRequest) -> HttpResponse:
    """Register an app; with ``?kind=backend``, a backend service (its public keys)."""
    _admin(request)
    if request.GET.get("kind") == SmartApp.Kind.BACKEND:
        return _backend_register(request)
    form = AppRegisterForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        registered = smart.app_register(
            actor=request.user,
            name=form.cleaned_data["name"],
            redirect_uris=form.cleaned_data["redirect_uris"],
            confidential=form.cleaned_data["confidential"],
            request=request,
        )
        if registered.secret:  # shown on the next page once, then gone
            request.session[_secret_key(registered.app)] = registered.secret
        return redirect("smart:app-detail", uuid=registered.app.uuid)
    return render(request, "api/app_register.html", {"layout": LAYOUT_STAFF, "form": form})


def _backend_register(request: StaffRequest) -> HttpResponse:
    form = BackendRegisterForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        app = backend.backend_register(
            actor=request.user,
            name=form.cleaned_data["name"],
            jwks=form.cleaned_data["jwks"],
            request=request,
        )
        messages.success(request, _("The backend service is registered."))
        return redirect("smart:app-detail", uuid=app.uuid)
    return render(request, "api/backend_register.html", {"layout": LAYOUT_STAFF, "form": form})


def _secret_key(app: SmartApp) -> str:
    return f"smart_app_secret_{app.uuid}"


def _practice_app(membership: Membership, uuid: UUID) -> SmartApp:
    return get_object_or_404(smart.practice_apps(membership), uuid=uuid)


@staff_required
@require_GET
def app_detail(request: StaffRequest, uuid: UUID) -> HttpResponse:
    app = _practice_app(_admin(request), uuid)
    secret = request.session.pop(_secret_key(app), None)
    context: dict[str, Any] = {"layout": LAYOUT_STAFF, "app": app, "secret": secret}
    if app.is_backend:
        context.update(
            keys=(app.jwks or {}).get("keys", []),
            acting=smart.acts_for(app) is not None,
            live_tokens=backend.live_tokens(app).count(),
            token_url=request.build_absolute_uri(reverse("smart:token")),
            fhir_base=request.build_absolute_uri(reverse("fhir:metadata")).removesuffix("metadata"),
        )
    return render(request, "api/app_detail.html", context)


@staff_required
@require_POST
def app_disable(request: StaffRequest, uuid: UUID) -> HttpResponse:
    app = _practice_app(_admin(request), uuid)
    smart.app_disable(actor=request.user, app=app, request=request)
    if app.is_backend:
        messages.success(request, _("The backend service is revoked; its tokens no longer work."))
    else:
        messages.success(request, _("The app is disabled and its access is revoked."))
    return redirect("smart:apps")


# --- Connected apps (everyone) ------------------------------------------------------------------


@login_required
@require_GET
def connected(request: AuthenticatedHttpRequest) -> HttpResponse:
    for_client = request.membership is not None and request.membership.kind == "client"
    rows = [
        (context, smart.describe_scopes(context.access_token.scope.split(), for_client=for_client))
        for context in smart.connected_tokens(request.user)
    ]
    services = (
        smart.practice_apps(request.membership).filter(
            kind=SmartApp.Kind.BACKEND, registered_by=request.user, disabled_at__isnull=True
        )
        if request.membership is not None
        else SmartApp.objects.none()
    )
    named = {context.patient_id for context, _lines in rows if context.patient_id}
    if named and request.membership is not None:
        smart.client_list_shown(
            request=request,
            actor=request.user,
            membership=request.membership,
            count=len(named),
            what="Connected apps",
        )
    return render(
        request,
        "api/connected.html",
        {
            "layout": _layout(request.membership),
            "rows": rows,
            "for_client": for_client,
            "services": list(services),
        },
    )


@login_required
@require_POST
def connected_revoke(request: AuthenticatedHttpRequest, uuid: UUID) -> HttpResponse:
    context = get_object_or_404(
        TokenContext.objects.select_related("access_token"),
        uuid=uuid,
        access_token__user=request.user,
    )
    smart.token_revoke(actor=request.user, context=context, request=request)
    messages.success(request, _("The app can no longer reach your account."))
    return redirect("smart:connected")
