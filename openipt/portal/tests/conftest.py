from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core.cache import cache
from django.test import Client as HttpClient

from openipt.accounts.models import User
from openipt.engagement import accounts
from openipt.testing.personas import PASSWORD, Personas, give_crisis_contacts


def portal_user_for(actor: User, client, email: str) -> User:
    """A client's portal account, made through the real invitation flow (the practice is
    given crisis contacts first, as inviting requires)."""
    give_crisis_contacts(client.practice)
    _invitation, token = accounts.portal_invite(actor=actor, client=client, email=email)
    return accounts.portal_invitation_accept(token=token, password=PASSWORD)


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    """The consultation form's rate limit counts in the cache."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def dana_user(personas: Personas) -> User:
    return portal_user_for(personas.alice, personas.dana, "dana@example.test")


@pytest.fixture
def erin_user(personas: Personas) -> User:
    return portal_user_for(personas.charlie, personas.erin, "erin@example.test")


@pytest.fixture
def anon() -> HttpClient:
    """A second browser, separate from ``client``/``alice_client``."""
    return HttpClient()


@pytest.fixture
def dana_client(dana_user: User) -> HttpClient:
    """A test browser signed in as Dana, Alice's client (separate from ``alice_client``)."""
    http = HttpClient()
    http.force_login(dana_user)
    return http
