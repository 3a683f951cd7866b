from __future__ import annotations

from allauth.account.adapter import DefaultAccountAdapter
from django.http import HttpRequest


class AccountAdapter(DefaultAccountAdapter):
    """Nobody signs themselves up: staff and clients join by invitation only."""

    def is_open_for_signup(self, request: HttpRequest) -> bool:
        return False
