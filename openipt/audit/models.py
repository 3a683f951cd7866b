from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditEvent(models.Model):
    """One append-only entry in the hash-chained audit log.

    Rows are written only by ``openipt.audit.services.record`` and are protected against
    UPDATE and DELETE by database triggers (see the migration). ``hash`` covers the row's
    content and ``prev_hash``, so any edit behind the triggers' back breaks the chain.
    """

    class Action(models.TextChoices):
        CREATE = "create", _("Create")
        READ = "read", _("Read")
        UPDATE = "update", _("Update")
        DELETE = "delete", _("Delete")
        PRINT = "print", _("Print")
        EXPORT = "export", _("Export")
        LOGIN = "login", _("Sign in")
        LOGOUT = "logout", _("Sign out")
        LOGIN_FAILED = "login_failed", _("Failed sign-in")
        ADMIN = "admin", _("Practice administration")
        DUPLICATE = "duplicate", _("Possible duplicate flagged")
        EMERGENCY_ACCESS = "emergency_access", _("Emergency access opened")
        EMERGENCY_REVIEW = "emergency_review", _("Emergency access reviewed")

    id = models.BigAutoField(primary_key=True)
    occurred_at = models.DateTimeField(db_index=True)
    practice_id = models.BigIntegerField(null=True, db_index=True)
    actor_id = models.BigIntegerField(null=True, db_index=True)
    actor_email = models.CharField(max_length=254, blank=True)
    client_id = models.BigIntegerField(null=True, db_index=True)
    client_uuid = models.CharField(max_length=36, blank=True)
    action = models.CharField(max_length=20, choices=Action.choices)
    object_type = models.CharField(max_length=60)
    object_id = models.CharField(max_length=64, blank=True)
    source_address = models.CharField(max_length=45, blank=True)
    detail = models.CharField(max_length=500, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        indexes = [
            models.Index(fields=["practice_id", "occurred_at"]),
            models.Index(fields=["client_id", "occurred_at"]),
        ]
        constraints = [
            # Each event has exactly one successor: two writers can never fork the chain.
            models.UniqueConstraint(fields=["prev_hash"], name="audit_auditevent_one_successor"),
        ]

    def __str__(self) -> str:
        return f"{self.occurred_at:%Y-%m-%d %H:%M:%S} {self.action} {self.object_type}"
