from __future__ import annotations

import pytest
from django.db import connection

from openipt.audit import triggers


@pytest.fixture
def no_triggers(db):
    """Lift the append-only triggers for one test (the test's transaction restores them)."""
    triggers.drop(connection)
    yield
    triggers.install(connection)


@pytest.fixture
def adam_client(client, personas):
    """A Django test client signed in as Adam, the practice administrator."""
    client.force_login(personas.adam)
    return client
