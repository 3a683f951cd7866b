"""A task for the worker tests: it notes each start and finish in a folder, and while a
``hold`` file exists there it waits, so a test can stop its worker mid-task."""

from __future__ import annotations

import os
import time
from pathlib import Path

from django_tasks import task

HOLD_LIMIT = 120.0  # seconds; a held task never outlives a test that forgot to release it


@task()
def note_run(folder: str) -> str:
    place = Path(folder)
    runs = place / "runs"
    with runs.open("a", encoding="utf-8") as notes:
        notes.write(f"started {os.getpid()}\n")
    deadline = time.monotonic() + HOLD_LIMIT
    while (place / "hold").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    with runs.open("a", encoding="utf-8") as notes:
        notes.write(f"finished {os.getpid()}\n")
    return "done"


def runs(folder: Path) -> list[str]:
    """The notes so far: ``started`` and ``finished``, without the process ids."""
    notes = folder / "runs"
    if not notes.exists():
        return []
    return [line.split()[0] for line in notes.read_text(encoding="utf-8").splitlines()]
