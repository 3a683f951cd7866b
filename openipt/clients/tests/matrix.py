"""URL argument fillers for the permission matrix (tests/test_permission_matrix.py)."""

from __future__ import annotations

from typing import Any

from openipt.clients import services
from openipt.testing.personas import Personas


def emergency_access(p: Personas) -> dict[str, Any]:
    """Adam (admin, not on Dana's care team) has opened Dana's record in an emergency."""
    access = services.emergency_access_open(
        actor=p.adam, client=p.dana, reason="Dana called the front desk in crisis"
    )
    return {"uuid": access.uuid}
