"""django-oauth-toolkit's validator with OpenIPT's rules (``OAUTH2_VALIDATOR_CLASS``).

On top of DOT's checks: only enabled apps of a practice take part; only SMART scopes are
accepted; the client chosen at approval travels from the authorisation code to every token
it leads to (and to the token response as ``patient``, the client's UUID); issuing and
revoking tokens are audited.
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.db import transaction
from oauth2_provider.models import AccessToken, Application, RefreshToken
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauthlib.common import Request
from oauthlib.oauth2.rfc6749 import errors

from openipt.api import smart
from openipt.api.models import ApprovalContext, SmartApp, TokenContext
from openipt.clients.models import Client


def _checksum(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _enabled(application: Application | None) -> bool:
    return (
        application is not None
        and SmartApp.objects.filter(application=application, disabled_at__isnull=True).exists()
    )


class SmartValidator(OAuth2Validator):  # type: ignore[misc]  # DOT ships no type hints
    """The validator behind ``/oauth/`` and ``smart.authenticate``."""

    def _load_application(self, client_id: str, request: Request) -> Application | None:
        application = super()._load_application(client_id, request)
        if not _enabled(application):
            request.client = None
            return None
        return application

    def validate_scopes(
        self, client_id: str, scopes: list[str], client: Any, request: Request, *a: Any, **k: Any
    ) -> bool:
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
