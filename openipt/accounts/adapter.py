from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from openipt.accounts.models import Membership
from openipt.audit.services import client_address
from openipt.core import outbox


class AccountAdapter(DefaultAccountAdapter):
    """Nobody signs themselves up: staff and clients join by invitation only."""

    def is_open_for_signup(self, request: HttpRequest) -> bool:
        return False

    def get_client_ip(self, request: HttpRequest) -> str:
        """The address allauth's rate limits (ACCOUNT_RATE_LIMITS) count: the same one the
        audit log records, so behind a trusted proxy each client has its own limit and a
        forged ``X-Forwarded-For`` changes nothing (openipt/core/net.py)."""
        address = client_address(request)
        if not address:
            raise PermissionDenied("Unable to determine client IP address")
        return address

    def send_mail(self, template_prefix: str, email: str, context: dict[str, Any]) -> None:
        """Sign-in emails (password reset) go through the outbox like every other email,
        so a mail server that is down never fails the page (docs/adr/0005)."""
        message = self.render_mail(template_prefix, email, context)
        membership = Membership.objects.filter(user__email__iexact=email).first()
        outbox.queue_email(
            kind=template_prefix.rpartition("/")[2][:40],
            subject=str(message.subject),
            body=str(message.body),
            recipients=list(message.to),
            practice_id=membership.practice_id if membership is not None else None,
        )
