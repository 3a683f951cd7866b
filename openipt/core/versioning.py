"""Optimistic locking, one way for every editable record (docs/quality.md R2).

An editable record carries a ``version``. The edit form sends back the version it was
opened at; ``update_versioned`` re-reads the row under a write lock, refuses a stale
version with ``EditConflict`` (shown above the form, the user's typing kept), applies the
changes, bumps the version, validates and saves, all inside the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _


class Versioned(models.Model):
    """An editable record: ``version`` counts its saved edits, from 1."""

    version = models.PositiveIntegerField(_("version"), default=1)

    class Meta:
        abstract = True


V = TypeVar("V", bound=Versioned)

CONFLICT_MESSAGE = _(
    "Someone else saved this record while you were editing it. Your changes have not been "
    "saved; they are still in the form below. Open the record again to see the latest "
    "version, then re-apply your changes."
)


class EditConflict(ValidationError):
    """Someone else saved the record after this edit began."""

    def __init__(self, message: Any = None, code: str = "conflict") -> None:
        super().__init__(message if message is not None else CONFLICT_MESSAGE, code=code)


def lock_version(obj: V, expected: int | None, *, message: Any = None) -> V:
    """The row again, locked for this transaction; ``EditConflict`` if it moved on.

    ``expected=None`` skips the check (a change that cannot conflict, such as a status set
    by the system).
    """
    current = type(obj)._default_manager.select_for_update().get(pk=obj.pk)
    if expected is not None and current.version != expected:
        raise EditConflict(message)
    return current


def update_versioned(
    obj: V,
    *,
    version: int | None,
    changes: Mapping[str, object],
    message: Any = None,
    **also: object,
) -> V:
    """Apply ``changes`` (field name → value) and ``also`` (e.g. ``updated_by=actor``) to
    the locked row if ``version`` is still current, bump the version, validate, save.

    Call it inside ``transaction.atomic``; returns the saved row.
    """
    current = lock_version(obj, version, message=message)
    for name, value in {**changes, **also}.items():
        setattr(current, name, value)
    current.version += 1
    current.full_clean()
    current.save()
    return current
