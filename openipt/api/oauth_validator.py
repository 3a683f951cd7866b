"""django-oauth-toolkit's validator with OpenIPT's rules (``OAUTH2_VALIDATOR_CLASS``).

On top of DOT's checks: only enabled apps of a practice take part; only SMART scopes are
accepted; the client chosen at approval travels from the authorisation code to every token
it leads to (and to the token response as ``patient``, the client's UUID); issuing and
revoking tokens are audited.

A backend service (``openipt/api/backend.py``) authenticates with a signed client
assertion instead of a secret, only for the client credentials grant and only for
``system/`` read scopes; its token lasts five minutes and has no refresh token.
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.db import transaction
from oauth2_provider.models import AccessToken, Application, RefreshToken
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauthlib.common import Request
from oauthlib.oauth2.rfc6749 import errors

from openipt.api import backend, smart
from openipt.api.models import ApprovalContext, SmartApp, TokenContext
from openipt.clients.models import Client


def _checksum(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _enabled(application: Application | None) -> bool:
    return (
        application is not None
        and SmartApp.objects.filter(application=application, disabled_at__isnull=True).exists()
    )


def _endpoint_url(request: Request) -> str:
    """The token endpoint's absolute address, as the SMART configuration gives it: what a
    client assertion's ``aud`` must name (``SmartTokenView`` puts it in the request)."""
    return str(request.headers.get(backend.TOKEN_URL_KEY, ""))


class SmartValidator(OAuth2Validator):  # type: ignore[misc]  # DOT ships no type hints
    """The validator behind ``/oauth/`` and ``smart.authenticate``."""

    def _load_application(self, client_id: str, request: Request) -> Application | None:
        application = super()._load_application(client_id, request)
        if not _enabled(application):
            request.client = None
            return None
        return application

    def authenticate_client(self, request: Request, *args: Any, **kwargs: Any) -> bool:
        """A client assertion (``private_key_jwt``) authenticates a backend service; the
        client credentials grant takes nothing else. Any other client as DOT does."""
        assertion = getattr(request, "client_assertion", None)
        assertion_type = getattr(request, "client_assertion_type", None)
        if assertion is None and assertion_type is None:
            if request.grant_type == "client_credentials":
                raise errors.InvalidClientError(
                    description="A backend service authenticates with a client_assertion "
                    "(private_key_jwt), never a secret.",
                    request=request,
                )
            return bool(super().authenticate_client(request, *args, **kwargs))
        if assertion_type != backend.ASSERTION_TYPE or not assertion:
            raise errors.InvalidClientError(
                description=f"Send a client_assertion with client_assertion_type "
                f"{backend.ASSERTION_TYPE}.",
                request=request,
            )
        try:
            app = backend.verify_assertion(str(assertion), token_url=_endpoint_url(request))
        except backend.AssertionRefused as refused:
            raise errors.InvalidClientError(description=str(refused), request=request) from None
        if request.client_id and request.client_id != app.application.client_id:
            raise errors.InvalidClientError(
                description="client_id differs from the assertion's iss.", request=request
            )
        request.client = app.application
        request.client_id = app.application.client_id
        request.smart_backend = app
        return True

    def validate_scopes(
        self, client_id: str, scopes: list[str], client: Any, request: Request, *a: Any, **k: Any
    ) -> bool:
        if getattr(request, "smart_backend", None) is not None:
            try:
                parsed = smart.parse_system_scopes(scopes)
            except smart.ScopeError:
                parsed = frozenset()
            if not parsed:
                raise errors.InvalidScopeError(
                    description="A backend service asks for system/ read scopes only: "
                    "system/*.read, system/*.rs, or system/<Type>.read.",
                    request=request,
                )
            return True
        try:
            parsed = smart.parse_scopes(scopes)
        except smart.ScopeError:
            return False
        return bool(parsed)

    def is_pkce_required(self, client_id: str, request: Request) -> bool:
        # Asked while the authorisation request is checked: refuse "plain" (or no method,
        # which means "plain") there and then, before anyone is asked to approve.
        challenge = getattr(request, "code_challenge", None)
        if challenge is not None and getattr(request, "code_challenge_method", None) != "S256":
            raise errors.UnsupportedCodeChallengeMethodError(
                description='Only the "S256" code_challenge_method is supported.',
                request=request,
            )
        return True

    def validate_bearer_token(self, token: str, scopes: list[str], request: Request) -> bool:
        if not super().validate_bearer_token(token, scopes, request):
            return False
        return _enabled(request.access_token.application)

    def save_authorization_code(
        self, client_id: str, code: dict[str, str], request: Request, *a: Any, **k: Any
    ) -> None:
        with transaction.atomic():
            grant = self._create_authorization_code(request, code)
            patient_id = getattr(request, "smart_patient_id", None)
            if patient_id is not None:
                ApprovalContext.objects.create(grant=grant, patient_id=patient_id)

    def validate_code(
        self, client_id: str, code: str, client: Any, request: Request, *a: Any, **k: Any
    ) -> bool:
        if not super().validate_code(client_id, code, client, request, *a, **k):
            return False
        request.smart_patient_id = (
            ApprovalContext.objects.filter(grant__code=code, grant__application=client)
            .values_list("patient_id", flat=True)
            .first()
        )
        request.smart_renewed = False
        return True

    def validate_refresh_token(
        self, refresh_token: str, client: Any, request: Request, *a: Any, **k: Any
    ) -> bool:
        if not super().validate_refresh_token(refresh_token, client, request, *a, **k):
            return False
        previous: RefreshToken = request.refresh_token_instance
        request.smart_patient_id = (
            TokenContext.objects.filter(access_token_id=previous.access_token_id)
            .values_list("patient_id", flat=True)
            .first()
        )
        request.smart_renewed = True
        return True

    def _save_bearer_token(self, token: dict[str, Any], request: Request, *a: Any, **k: Any) -> Any:
        service = getattr(request, "smart_backend", None)
        if service is not None:
            return self._save_backend_token(service, token, request, *a, **k)
        if "offline_access" not in (request.scopes or []):
            # SMART: a refresh token only for apps allowed to keep access (offline_access).
            token.pop("refresh_token", None)
        result = super()._save_bearer_token(token, request, *a, **k)
        access = AccessToken.objects.filter(token_checksum=_checksum(token["access_token"])).first()
        if access is None:  # pragma: no cover - DOT has just saved it
            return result
        patient_id = getattr(request, "smart_patient_id", None)
        context = TokenContext.objects.create(access_token=access, patient_id=patient_id)
        patient = Client.objects.filter(pk=patient_id).first() if patient_id else None
        if patient is not None:
            token["patient"] = str(patient.uuid)
        access.smart_context = context
        smart.token_issued_record(
            token=access, patient=patient, renewed=getattr(request, "smart_renewed", False)
        )
        return result

    def _save_backend_token(
        self, service: Any, token: dict[str, Any], request: Request, *a: Any, **k: Any
    ) -> Any:
        """Five minutes, no refresh token (the service signs a new assertion instead), and
        no user: the token acts for the service's administrator, looked up at each use."""
        token.pop("refresh_token", None)
        token["expires_in"] = backend.TOKEN_SECONDS
        with transaction.atomic():
            result = super()._save_bearer_token(token, request, *a, **k)
            access = AccessToken.objects.get(token_checksum=_checksum(token["access_token"]))
            issued = backend.token_issued(app=service, token=access)
            access.smart_context = issued.context
        return result

    def revoke_token(
        self, token: str, token_type_hint: str | None, request: Request, *a: Any, **k: Any
    ) -> None:
        with transaction.atomic():
            checksum = _checksum(token)
            access = AccessToken.objects.filter(
                token_checksum=checksum, application=request.client
            ).first()
            if access is None:
                refresh = RefreshToken.objects.filter(
                    token_checksum=checksum, application=request.client, revoked__isnull=True
                ).first()
                access = refresh.access_token if refresh is not None else None
            if access is not None:
                smart.token_revoked_record(token=access, actor=None)
            super().revoke_token(token, token_type_hint, request, *a, **k)
