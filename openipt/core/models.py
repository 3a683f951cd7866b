from __future__ import annotations

import uuid

from django.db import models


class BaseModel(models.Model):
    """Every domain model has a public UUID and creation/update times; nothing else here."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class OutboxEmail(BaseModel):
    """An email waiting for the worker (the transactional outbox, docs/adr/0005).

    A service writes the row in the same transaction as the record the email is about, so
    a rolled-back change sends nothing and a committed one is never lost; the request
    never talks to the mail server. ``openipt.core.outbox`` claims, sends, retries with
    backoff and, after ``MAX_ATTEMPTS``, parks the row as undeliverable (``dead_at``) for
    an administrator to see and retry. ``practice_id`` is a plain number because this
    layer sits below the accounts app; bodies carry no clinical detail (each caller's
    rule), only that something waits behind sign-in.
    """

    kind = models.CharField(max_length=40)
    practice_id = models.PositiveBigIntegerField(null=True, blank=True)
    recipients = models.JSONField(default=list)
    subject = models.CharField(max_length=255)
    body = models.TextField()
    due_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    claimed_at = models.DateTimeField(null=True, blank=True)
    claim_token = models.CharField(max_length=32, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    dead_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["due_at"],
                condition=models.Q(sent_at__isnull=True, dead_at__isnull=True),
                name="core_outbox_waiting",
            ),
            models.Index(fields=["practice_id", "dead_at"], name="core_outbox_practice_dead"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} email · {self.created_at:%Y-%m-%d %H:%M}"

    @property
    def state(self) -> str:
        if self.sent_at is not None:
            return "sent"
        if self.dead_at is not None:
            return "undeliverable"
        return "waiting"


class Heartbeat(models.Model):
    """The last time a background process showed it is alive (``/ready/`` reads these).

    ``scheduler``: written by ``manage.py periodic`` on every round. ``worker``: written by
    the ``worker_heartbeat`` task, which the scheduler enqueues every round, so a fresh beat
    means the worker is taking tasks off the queue, not merely running.
    """

    name = models.CharField(max_length=40, unique=True)
    beat_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} alive at {self.beat_at:%Y-%m-%d %H:%M:%S}"


class Submission(models.Model):
    """One POST of a form, remembered by its one-time token (openipt/core/submissions.py).

    The first POST with a token claims the row and runs; a repeat — the browser retrying,
    a double click, a second tab — finds the row and gets the first result (the same
    redirect) instead of running again. ``key`` is a hash of the token; ``user_id`` a plain
    number (this layer is below the accounts app). Rows are forgotten after a day.
    """

    class Status(models.TextChoices):
        RUNNING = "running"
        DONE = "done"

    key = models.CharField(max_length=64, unique=True)
    user_id = models.PositiveBigIntegerField(null=True, blank=True)
    path = models.CharField(max_length=300)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    location = models.CharField(max_length=2000, blank=True)
    # What was sent with the key (a hash of the body), for keys an API client sends: a
    # repeat with another body is a mistake to report, not a replay (``run_once``).
    fingerprint = models.CharField(max_length=64, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    def __str__(self) -> str:
        return f"submission to {self.path} ({self.status})"
