from __future__ import annotations

from allauth.account.adapter import DefaultAccountAdapter
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from openipt.audit.services import client_address


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
