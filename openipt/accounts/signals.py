"""Cross-cutting hook: sign-in, sign-out and failed sign-in go to the audit log.

Django's auth signals are the one place all three pass through (password login, the MFA
stage, sign-out and session expiry), so the handlers only hand over to the service.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver
from django.http import HttpRequest

from openipt.accounts.models import User
from openipt.accounts.services import auth_event_record
from openipt.audit.models import AuditEvent


@receiver(user_logged_in, dispatch_uid="openipt_audit_login")
def _logged_in(sender: Any, request: HttpRequest | None, user: User, **kwargs: Any) -> None:
    auth_event_record(user=user, action=AuditEvent.Action.LOGIN, request=request)


@receiver(user_logged_out, dispatch_uid="openipt_audit_logout")
def _logged_out(sender: Any, request: HttpRequest | None, user: User | None, **kwargs: Any) -> None:
    if user is not None and user.is_authenticated:
        auth_event_record(user=user, action=AuditEvent.Action.LOGOUT, request=request)


@receiver(user_login_failed, dispatch_uid="openipt_audit_login_failed")
def _login_failed(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    # Only the identifier is kept; Django has already masked the password, and we drop it.
    attempted = str(credentials.get("email") or credentials.get("username") or "")[:200]
    user = User.objects.filter(email__iexact=attempted).first() if attempted else None
    # What was typed is kept only when it names an account: people sometimes type their
    # password into the email field, and the audit log can never be changed afterwards.
    detail = f"attempted: {user.email}" if user is not None else "attempted: unknown account"
    auth_event_record(
        user=user, action=AuditEvent.Action.LOGIN_FAILED, request=request, detail=detail
    )
