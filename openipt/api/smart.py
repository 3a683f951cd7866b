"""SMART App Launch authorisation: what a token may do, and the one door the FHIR views use.

An app registered by a practice asks for SMART scopes (v1 ``patient/*.read``, v2
``user/QuestionnaireResponse.cu``, and ``openid``, ``fhirUser``, ``launch/patient``,
``offline_access``); the person approving it sees them in plain words, and the token
django-oauth-toolkit issues carries them. A FHIR view calls ``authenticate(request)`` for
the token's ``Grant`` and ``require(grant, resource_type, interaction)`` before it reads or
writes. A client's token is always confined to that client (``Grant.patient_id``); a staff
token is confined to the client chosen at launch when it holds patient scopes.

A backend service (SMART Backend Services, ``openipt/api/backend.py``) holds ``system/``
scopes, read-only: its token has no user of its own and acts with the authority of the
administrator who registered it (``Grant.backend``), checked again at every request.

Changes (registering and disabling apps, revoking tokens, recording approvals) are here
too, each with its audit event in the same transaction (docs/smart.md, ADR 23).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from oauth2_provider.generators import generate_client_secret
from oauth2_provider.models import (
    AccessToken,
    Application,
    RefreshToken,
    revoke_access_token,
)
from oauth2_provider.oauth2_backends import get_oauthlib_core

from openipt.accounts import policy
from openipt.accounts.models import Membership, User
from openipt.api.models import SmartApp, TokenContext
from openipt.audit import services as audit
from openipt.audit.models import AuditEvent
from openipt.clients.models import Client
from openipt.engagement.models import PortalAccess
from openipt.fhir.search import KINDS

Context = Literal["patient", "user", "system"]

#: SMART v2 letters, in the order the specification requires them.
V2_LETTERS = {"c": "create", "r": "read", "u": "update", "d": "delete", "s": "search"}
V1_ACTIONS: dict[str, frozenset[str]] = {
    "read": frozenset({"read", "search"}),
    "write": frozenset({"create", "update", "delete"}),
    "*": frozenset(V2_LETTERS.values()),
}
#: Scopes that are not about a kind of record.
SPECIAL_SCOPES = ("openid", "fhirUser", "launch/patient", "offline_access")

_RESOURCE_SCOPE = re.compile(
    r"^(?P<context>patient|user)/(?P<type>\*|[A-Z][A-Za-z]{1,63})\.(?P<action>[a-z*]+)$"
)
_V2_ORDER = re.compile(r"^c?r?u?d?s?$")
#: A backend service reads only: ``system/*.read``, ``system/*.rs`` or one type's.
_SYSTEM_SCOPE = re.compile(r"^system/(?P<type>\*|[A-Z][A-Za-z]{1,63})\.(?P<action>read|rs)$")


@dataclass(frozen=True)
class Scope:
    """One SMART scope as the token holds it. ``context`` and ``resource_type`` are None
    for the scopes that are not about records (``openid``, ``launch/patient``, ...)."""

    text: str
    context: Context | None = None
    resource_type: str | None = None  # a FHIR resource type, or "*" for every type
    interactions: frozenset[str] = frozenset()
    version: int | None = None  # 1 or 2 for resource scopes

    @property
    def is_resource(self) -> bool:
        return self.context is not None

    def covers(self, resource_type: str, interaction: str) -> bool:
        return self.resource_type in ("*", resource_type) and interaction in self.interactions


class ScopeError(ValueError):
    """A scope that is not one OpenIPT grants."""


def parse_scope(text: str) -> Scope:
    """One scope, v1 (``.read``, ``.write``, ``.*``) or v2 (letters ``c r u d s`` in that
    order); raises ``ScopeError`` for anything else (including v2 query restrictions, which
    are not supported, and ``system/`` scopes, which need a backend service)."""
    if text in SPECIAL_SCOPES:
        return Scope(text=text)
    match = _RESOURCE_SCOPE.match(text)
    if match is None:
        raise ScopeError(text)
    action = match["action"]
    context: Context = "patient" if match["context"] == "patient" else "user"
    if action in V1_ACTIONS:
        return Scope(text, context, match["type"], V1_ACTIONS[action], 1)
    if not _V2_ORDER.match(action):
        raise ScopeError(text)
    interactions = frozenset(V2_LETTERS[letter] for letter in action)
    return Scope(text, context, match["type"], interactions, 2)


def parse_scopes(texts: Iterable[str]) -> frozenset[Scope]:
    """Every scope of a token or request; raises ``ScopeError`` at the first unknown one."""
    return frozenset(parse_scope(text) for text in texts if text)


def parse_system_scope(text: str) -> Scope:
    """A backend service's scope: ``system/*.read``, ``system/*.rs``, or the same for one
    resource type served here (``system/Observation.read``). Nothing else: no writes, no
    ``patient/`` or ``user/`` scopes, no query restrictions (``ScopeError``)."""
    match = _SYSTEM_SCOPE.match(text)
    if match is None:
        raise ScopeError(text)
    resource_type = match["type"]
    if resource_type != "*" and resource_type not in KINDS:
        raise ScopeError(text)
    version = 1 if match["action"] == "read" else 2
    return Scope(text, "system", resource_type, V1_ACTIONS["read"], version)


def parse_system_scopes(texts: Iterable[str]) -> frozenset[Scope]:
    """Every scope of a backend service's token or request (``ScopeError`` at the first
    that is not a ``system/`` read scope)."""
    return frozenset(parse_system_scope(text) for text in texts if text)


def needs_patient(scopes: Iterable[Scope]) -> bool:
    """Whether approving these scopes means choosing one client (``launch/patient`` or any
    ``patient/`` scope)."""
    return any(s.text == "launch/patient" or s.context == "patient" for s in scopes)


# --- Plain words ------------------------------------------------------------------------


def _records(resource_type: str) -> str:
    words = {
        "Patient": _("details (name, date of birth, contact)"),
        "QuestionnaireResponse": _("questionnaires and answers"),
        "Observation": _("scores"),
        "Questionnaire": _("questionnaire forms"),
        "Appointment": _("appointments"),
        "Condition": _("problem areas"),
        "Goal": _("goals"),
        "CarePlan": _("treatment plans"),
        "EpisodeOfCare": _("courses of treatment"),
        "Encounter": _("sessions"),
        "Practitioner": _("clinicians' names"),
        "*": _("whole record"),
    }
    return words.get(resource_type, resource_type)


def _verbs(interactions: frozenset[str]) -> str:
    verbs = []
    if interactions & {"read", "search"}:
        verbs.append(_("read"))
    if "create" in interactions:
        verbs.append(_("add to"))
    if "update" in interactions:
        verbs.append(_("change"))
    if "delete" in interactions:
        verbs.append(_("remove"))
    text = _(", ").join(verbs[:-1]) + (_(" and ") if len(verbs) > 1 else "") + verbs[-1]
    return text[:1].upper() + text[1:]


def describe_scope(scope: Scope, *, for_client: bool) -> str:
    """What a scope allows, in the words the person approving it reads: "Read your
    questionnaires and answers"; "Read the chosen client's scores"."""
    if scope.text in ("openid", "fhirUser"):
        return _("Know who you are (your name and account)")
    if scope.text == "launch/patient":
        return (
            _("Work with your own record")
            if for_client
            else _("Work with one client you choose now")
        )
    if scope.text == "offline_access":
        return _("Keep its access after you sign out, until you revoke it")
    if for_client:
        whose = _("your")
    elif scope.context == "patient":
        whose = _("the chosen client's")
    else:
        whose = _("your clients'")
    return _("%(verbs)s %(whose)s %(records)s") % {
        "verbs": _verbs(scope.interactions),
        "whose": whose,
        "records": _records(scope.resource_type or "*"),
    }


def describe_scopes(texts: Iterable[str], *, for_client: bool) -> list[str]:
    """The plain-words lines for a token's or request's scopes, each once, unknown ones
    left out (they are refused before anything is shown)."""
    lines: list[str] = []
    for text in sorted(texts):
        try:
            line = describe_scope(parse_scope(text), for_client=for_client)
        except ScopeError:
            continue
        if line not in lines:
            lines.append(line)
    return lines


class ScopeDescriptions(dict[str, str]):
    """A description for any scope asked for, as django-oauth-toolkit looks them up."""

    def __missing__(self, key: str) -> str:
        lines = describe_scopes([key], for_client=False)
        return lines[0] if lines else key


class SmartScopes:
    """django-oauth-toolkit's scopes backend (``SCOPES_BACKEND_CLASS``). Whether a scope is
    allowed is decided by ``parse_scope`` in the validator (openipt/api/oauth_validator.py);
    this only names the scopes for DOT's own pages and the SMART configuration."""

    def get_all_scopes(self) -> dict[str, str]:
        return ScopeDescriptions()

    def get_available_scopes(
        self, application: Any = None, request: Any = None, *args: Any, **kwargs: Any
    ) -> list[str]:
        return list(SUPPORTED_SCOPES)

    def get_default_scopes(
        self, application: Any = None, request: Any = None, *args: Any, **kwargs: Any
    ) -> list[str]:
        return []


#: Advertised in the SMART configuration (any resource type may replace ``*``).
# ``openid`` and ``fhirUser`` are accepted (many apps ask for them by default) but not
# advertised: no id_token is issued yet (docs/smart.md).
SUPPORTED_SCOPES = (
    "launch/patient", "offline_access",
    "patient/*.read", "patient/*.rs", "patient/*.cruds",
    "user/*.read", "user/*.rs", "user/*.cruds",
    "patient/*.write", "user/*.write",
)  # fmt: skip
#: A backend service's scopes, advertised beside them (any resource type may replace ``*``).
SYSTEM_SCOPES = ("system/*.read", "system/*.rs")


# --- The token as the FHIR views see it -------------------------------------------------


@dataclass(frozen=True)
class Grant:
    """What one bearer token allows: its user, its scopes and the client it is confined to
    (``patient_id``, a ``Client.pk``: always for a client's token; for a staff token when
    one was chosen at launch). A backend service's token names the service (``backend``)
    and acts for the administrator responsible for it (``user``)."""

    user: User
    scopes: frozenset[Scope]
    patient_id: int | None
    token_id: int
    backend: SmartApp | None = None

    @property
    def reads_only(self) -> bool:
        """A backend service never writes, whatever it holds."""
        return self.backend is not None

    def via(self) -> str:
        """What an audit event adds to name the backend service it was read by ("" for
        any other token)."""
        if self.backend is None:
            return ""
        name = str(self.backend.application.name)[:80]
        return f"; backend service {self.backend.uuid} ({name})"

    def can(self, resource_type: str, interaction: str) -> bool:
        """Whether a scope covers this. ``patient/`` scopes count only with a client in
        context; ``user/`` scopes count as far as the user's own access reaches (the views
        still ask the policy for each record)."""
        for scope in self.scopes:
            if not scope.covers(resource_type, interaction):
                continue
            if scope.context in ("user", "system") or self.patient_id is not None:
                return True
        return False


class AuthError(Exception):
    """Why a FHIR request is refused: 401 for a missing, invalid, expired or revoked token
    (``www_authenticate`` is the header to send), 403 when the scopes do not cover it."""

    def __init__(
        self, status: int, code: str, message: str, www_authenticate: str | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.www_authenticate = www_authenticate


REALM = "OpenIPT FHIR"


def _unauthorised(code: str, message: str) -> AuthError:
    header = f'Bearer realm="{REALM}"'
    if code != "missing_token":
        header += f', error="invalid_token", error_description="{message}"'
    return AuthError(401, code, message, header)


def authenticate(request: HttpRequest) -> Grant:
    """The ``Grant`` of the request's ``Authorization: Bearer`` token, checked by
    django-oauth-toolkit (exists, unexpired, not revoked, its app enabled) and then by us
    (the account and its membership still active, a client still reachable)."""
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer ") or not header[7:].strip():
        raise _unauthorised("missing_token", "A bearer token is required.")
    valid, oauth_request = get_oauthlib_core().verify_request(request, scopes=[])
    token = getattr(oauth_request, "access_token", None)
    if not valid or not isinstance(token, AccessToken):
        raise _unauthorised("invalid_token", "The token is invalid, expired or revoked.")
    if token.user is None:  # client credentials: a backend service's token
        return _backend_grant(token)
    try:
        scopes = parse_scopes(token.scope.split())
    except ScopeError as unknown:
        raise _unauthorised("invalid_token", "The token holds an unknown scope.") from unknown
    patient_id = _confinement(token)
    return Grant(user=token.user, scopes=scopes, patient_id=patient_id, token_id=token.pk)


def acts_for(app: SmartApp) -> Membership | None:
    """The membership a backend service acts with: its responsible administrator's, while
    that person is active, still an administrator, and in the service's practice."""
    membership = policy.active_membership(app.registered_by)
    if (
        membership is None
        or not policy.can_manage_apps(membership)
        or membership.practice_id != app.practice_id
    ):
        return None
    return membership


def _backend_grant(token: AccessToken) -> Grant:
    """A backend service's grant, its authority checked again: the service enabled, its
    administrator still one, its scopes ``system/`` reads."""
    app = (
        SmartApp.objects.select_related("application", "registered_by")
        .filter(application_id=token.application_id, kind=SmartApp.Kind.BACKEND)
        .first()
    )
    if app is None or not app.is_enabled:
        raise _unauthorised("invalid_token", "The token is invalid, expired or revoked.")
    if acts_for(app) is None:
        raise _unauthorised(
            "invalid_token",
            "The backend service's responsible administrator no longer administers its practice.",
        )
    try:
        scopes = parse_system_scopes(token.scope.split())
    except ScopeError as unknown:
        raise _unauthorised("invalid_token", "The token holds an unknown scope.") from unknown
    return Grant(
        user=app.registered_by, scopes=scopes, patient_id=None, token_id=token.pk, backend=app
    )


def _confinement(token: AccessToken) -> int | None:
    """The client the token is confined to, re-checked against today's access."""
    user: User = token.user
    membership = policy.active_membership(user)
    if membership is None:
        raise _unauthorised("invalid_token", "The account is no longer active.")
    app = SmartApp.objects.filter(application_id=token.application_id).first()
    if app is None or app.is_backend or app.practice_id != membership.practice_id:
        # A token works only in the practice whose app it was issued to.
        raise _unauthorised("invalid_token", "The token belongs to another practice's app.")
    context = TokenContext.objects.filter(access_token=token).first()
    chosen = context.patient_id if context is not None else None
    if membership.kind == Membership.Kind.CLIENT:
        own = own_client(membership)
        if own is None or (chosen is not None and chosen != own.pk):
            raise _unauthorised("invalid_token", "The token's record is not reachable.")
        return own.pk
    if chosen is not None and not reachable_clients(membership).filter(pk=chosen).exists():
        raise _unauthorised("invalid_token", "The token's client is no longer in your care.")
    return chosen


def require(grant: Grant, resource_type: str, interaction: str) -> None:
    """Refuse (403) unless one of the grant's scopes covers this interaction."""
    if grant.can(resource_type, interaction):
        return
    letter = {v: k for k, v in V2_LETTERS.items()}.get(interaction, "r")
    context = "system" if grant.backend else "patient" if grant.patient_id else "user"
    wanted = f"{context}/{resource_type}.{letter}"
    raise AuthError(
        403,
        "insufficient_scope",
        f"The token does not allow {interaction} on {resource_type}.",
        f'Bearer realm="{REALM}", error="insufficient_scope", scope="{wanted}"',
    )


# --- Who may be chosen, and which apps ----------------------------------------------------


def own_client(membership: Membership) -> Client | None:
    """A client account's own record (None for staff, or for a record entered in error)."""
    if membership.kind != Membership.Kind.CLIENT:
        return None
    access = (
        PortalAccess.objects.select_related("client")
        .filter(user_id=membership.user_id, client__practice_id=membership.practice_id)
        .exclude(client__status=Client.Status.ENTERED_IN_ERROR)
        .first()
    )
    return access.client if access is not None else None


def reachable_clients(membership: Membership) -> QuerySet[Client]:
    """The clients a staff member may choose at launch: those the policy lets them see."""
    return (
        Client.objects.filter(policy.client_access_q(membership))
        .exclude(status=Client.Status.ENTERED_IN_ERROR)
        .order_by("legal_family_name", "legal_given_name", "pk")
    )


def app_for_approval(membership: Membership | None, client_id: str) -> SmartApp | None:
    """The enabled app with this client id, if it is one of the member's practice's apps
    (anyone else's app is as good as unknown)."""
    if not client_id:
        return None
    return (
        SmartApp.objects.select_related("application")
        .filter(policy.approvable_apps_q(membership), application__client_id=client_id)
        .exclude(kind=SmartApp.Kind.BACKEND)  # approved by nobody: it signs its own way in
        .first()
    )


def practice_apps(membership: Membership) -> QuerySet[SmartApp]:
    """The practice's apps, newest first, for its administrators."""
    if not policy.can_manage_apps(membership):
        return SmartApp.objects.none()
    return (
        SmartApp.objects.select_related("application", "registered_by")
        .filter(practice_id=membership.practice_id)
        .order_by("-created_at")
    )


def connected_tokens(user: User) -> list[TokenContext]:
    """The user's tokens that still work: unexpired, or renewable by a live refresh
    token."""
    now = timezone.now()
    live_refresh = RefreshToken.objects.filter(revoked__isnull=True).values("access_token_id")
    return list(
        TokenContext.objects.select_related("access_token__application", "patient")
        .filter(access_token__user=user)
        .filter(Q(access_token__expires__gt=now) | Q(access_token_id__in=live_refresh))
        .order_by("-access_token__created")
    )


# --- Changes ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Registered:
    app: SmartApp
    secret: str | None  # shown once, for a confidential app; only its hash is kept


def new_application(
    *,
    actor: User,
    name: str,
    redirect_uris: Sequence[str],
    confidential: bool,
    grant_type: str,
    secret: str,
) -> Application:
    """The toolkit's application row behind a SMART app or backend service: the secret
    hashed at rest, consent always asked, no OpenID signing."""
    application = Application(
        name=name,
        user=actor,
        redirect_uris=" ".join(redirect_uris),
        client_type=(
            Application.CLIENT_CONFIDENTIAL if confidential else Application.CLIENT_PUBLIC
        ),
        authorization_grant_type=grant_type,
        client_secret=secret,
        hash_client_secret=True,
        skip_authorization=False,
        algorithm=Application.NO_ALGORITHM,
    )
    application.full_clean()
    application.save()
    return application


@transaction.atomic
def app_register(
    *,
    actor: User,
    name: str,
    redirect_uris: Sequence[str],
    confidential: bool,
    request: HttpRequest | None = None,
) -> Registered:
    """Register a SMART app for the actor's practice (administrators only)."""
    membership = policy.active_membership(actor)
    if membership is None or not policy.can_manage_apps(membership):
        raise PermissionError("Only a practice administrator registers apps")
    secret = generate_client_secret() if confidential else ""
    application = new_application(
        actor=actor,
        name=name,
        redirect_uris=redirect_uris,
        confidential=confidential,
        grant_type=Application.GRANT_AUTHORIZATION_CODE,
        secret=secret,
    )
    app = SmartApp.objects.create(
        application=application, practice=membership.practice, registered_by=actor
    )
    audit.record(
        actor=actor,
        action=AuditEvent.Action.ADMIN,
        obj=app,
        practice_id=membership.practice_id,
        request=request,
        detail=f"SMART app registered ({'confidential' if confidential else 'public'})",
    )
    return Registered(app=app, secret=secret or None)


@transaction.atomic
def app_disable(*, actor: User, app: SmartApp, request: HttpRequest | None = None) -> None:
    """Disable a practice's app: no new approvals, and every token it holds is revoked."""
    membership = policy.active_membership(actor)
    if (
        membership is None
        or not policy.can_manage_apps(membership)
        or membership.practice_id != app.practice_id
    ):
        raise PermissionError("Only the practice's administrators disable its apps")
    if not app.is_enabled:
        return
    app.disabled_at = timezone.now()
    app.disabled_by = actor
    app.save(update_fields=["disabled_at", "disabled_by", "updated_at"])
    revoked = 0
    for token in AccessToken.objects.filter(application_id=app.application_id):
        revoke_access_token(token)
        revoked += 1
    RefreshToken.objects.filter(application_id=app.application_id, revoked__isnull=True).update(
        revoked=timezone.now()
    )
    audit.record(
        actor=actor,
        action=AuditEvent.Action.ADMIN,
        obj=app,
        practice_id=app.practice_id,
        request=request,
        detail=f"SMART app disabled; {revoked} token(s) revoked",
    )


def approval_record(
    *,
    actor: User,
    app: SmartApp,
    approved: bool,
    scopes: Sequence[str],
    patient: Client | None,
    request: HttpRequest | None = None,
) -> None:
    """The audit event of an approval or a refusal (scope names only, never data)."""
    verdict = "approved" if approved else "refused"
    audit.record(
        actor=actor,
        action=AuditEvent.Action.CREATE if approved else AuditEvent.Action.UPDATE,
        obj=app,
        client=patient,
        practice_id=app.practice_id,
        request=request,
        detail=f"SMART app access {verdict}: {' '.join(sorted(scopes))}",
    )


def client_list_shown(
    *, request: HttpRequest, actor: User, membership: Membership, count: int, what: str
) -> None:
    """The one read event of a page naming several clients (the approval page's choice of
    client, the Connected apps page), as every list of clients is recorded (S4)."""
    audit.record_list_read(
        request,
        actor=actor,
        practice_id=membership.practice_id,
        object_type="clients.client",
        detail=f"{what}: {count} client(s)",
    )


def token_issued_record(*, token: AccessToken, patient: Client | None, renewed: bool) -> None:
    """The audit event of a token handed to an app (at the exchange, or on a refresh)."""
    app = SmartApp.objects.filter(application_id=token.application_id).first()
    audit.record(
        actor=token.user,
        action=AuditEvent.Action.CREATE,
        object_type="api.accesstoken",
        object_id=str(token.smart_context.uuid),
        client=patient,
        practice_id=app.practice_id if app is not None else None,
        detail=f"SMART token {'renewed' if renewed else 'issued'}: {token.scope}",
    )


@transaction.atomic
def token_revoke(*, actor: User, context: TokenContext, request: HttpRequest | None = None) -> None:
    """Revoke one of the actor's own tokens and its refresh token (Connected apps page)."""
    token = context.access_token
    if token.user_id != actor.pk:
        raise PermissionError("Only the token's own user revokes it here")
    token_revoked_record(token=token, actor=actor, request=request)
    revoke_access_token(token)


def token_revoked_record(
    *, token: AccessToken, actor: User | None, request: HttpRequest | None = None
) -> None:
    """The audit event of a revoked token (by its user, or by the app itself)."""
    context = TokenContext.objects.filter(access_token=token).select_related("patient").first()
    app = SmartApp.objects.filter(application_id=token.application_id).first()
    audit.record(
        actor=actor or token.user,
        action=AuditEvent.Action.DELETE,
        object_type="api.accesstoken",
        object_id=str(context.uuid) if context is not None else "",
        client=context.patient if context is not None else None,
        practice_id=app.practice_id if app is not None else None,
        request=request,
        detail="SMART token revoked",
    )
