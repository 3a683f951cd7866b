from __future__ import annotations

import threading

import pytest
from django.db import DatabaseError, connection, transaction
from django.test import RequestFactory

from openipt.audit import services
from openipt.audit.models import AuditEvent
from openipt.audit.verify import verify_chain
from openipt.clients.models import Client


def test_events_form_a_chain_from_the_genesis_hash(db):
    first = services.record(actor=None, action="admin", object_type="test")
    second = services.record(actor=None, action="admin", object_type="test")
    assert first.prev_hash == services.GENESIS_HASH
    assert second.prev_hash == first.hash
    assert first.hash == services.event_digest(AuditEvent.objects.get(pk=first.pk))


def test_hash_covers_every_field_and_does_not_let_fields_run_together(personas):
    event = services.record(
        actor=personas.alice, action="read", obj=personas.dana, client=personas.dana
    )
    stored = AuditEvent.objects.get(pk=event.pk)
    for field, value in [
        ("actor_email", "someone@else.test"),
        ("client_uuid", "0"),
        ("action", "update"),
        ("object_id", "x"),
        ("source_address", "10.0.0.1"),
        ("detail", "y"),
        ("practice_id", 999),
    ]:
        original = getattr(stored, field)
        setattr(stored, field, value)
        assert services.event_digest(stored) != event.hash, field
        setattr(stored, field, original)
    # Moving text from one field to its neighbour changes the hash too.
    stored.object_type, stored.object_id = (
        stored.object_type + stored.object_id[0],
        stored.object_id[1:],
    )
    assert services.event_digest(stored) != event.hash


def test_record_read_takes_user_and_address_from_the_request(personas):
    request = RequestFactory().get("/", REMOTE_ADDR="192.0.2.7")
    request.user = personas.alice
    event = services.record_read(request, personas.dana)
    assert event.action == "read"
    assert event.actor_id == personas.alice.pk
    assert event.actor_email == "alice@riverside.test"
    assert event.source_address == "192.0.2.7"
    assert event.client_uuid == str(personas.dana.uuid)
    assert event.practice_id == personas.practice.pk
    assert (event.object_type, event.object_id) == ("clients.client", str(personas.dana.uuid))


def test_forwarded_for_header_is_not_trusted(personas):
    request = RequestFactory().get("/", REMOTE_ADDR="192.0.2.7", HTTP_X_FORWARDED_FOR="1.2.3.4")
    request.user = personas.alice
    assert services.record_read(request, personas.dana).source_address == "192.0.2.7"


def test_unknown_action_is_refused(db):
    with pytest.raises(ValueError, match="Unknown audit action"):
        services.record(actor=None, action="peek", object_type="test")
    assert not AuditEvent.objects.exists()


def test_event_cannot_name_a_client_of_another_practice(personas):
    with pytest.raises(ValueError, match="another practice"):
        services.record(
            actor=personas.alice,
            action="read",
            client=personas.erin,
            practice_id=personas.practice.pk,
        )


def test_a_failing_audit_write_rolls_back_the_change_it_describes(personas, monkeypatch):
    """Fail closed: the caller's transaction fails with the audit insert."""

    def broken_save(self, *args, **kwargs):
        raise DatabaseError("disk full")

    @transaction.atomic
    def change_phone() -> None:
        Client.objects.filter(pk=personas.dana.pk).update(phone="0123 456")
        services.record(
            actor=personas.alice, action="update", obj=personas.dana, client=personas.dana
        )

    monkeypatch.setattr(AuditEvent, "save", broken_save)
    with pytest.raises(DatabaseError):
        change_phone()
    assert Client.objects.get(pk=personas.dana.pk).phone == ""


@pytest.mark.skipif(connection.vendor != "postgresql", reason="several connections at once")
@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_never_fork_the_chain():
    """Writers in several connections queue on the chain head instead of forking it."""

    errors: list[Exception] = []

    def write_some() -> None:
        try:
            for _ in range(10):
                with transaction.atomic():
                    services.record(actor=None, action="admin", object_type="test")
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=write_some) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    result = verify_chain()
    assert result.intact
    assert result.checked == 40


@pytest.mark.django_db
def test_an_append_that_lost_the_race_for_the_head_reads_it_again(monkeypatch):
    """Another writer took the head between this one's read and its insert: the unique
    ``prev_hash`` refuses the fork (an IntegrityError), and the append starts again from a
    fresh read of the head instead of failing the request."""
    from django.db import IntegrityError

    services.record(actor=None, action="create", object_type="t", object_id="first")
    real_save = AuditEvent.save
    refused = []

    def refused_once(self, *args, **kwargs):
        if not refused:
            refused.append(self.object_id)
            raise IntegrityError("UNIQUE constraint failed: audit_auditevent.prev_hash")
        return real_save(self, *args, **kwargs)

    monkeypatch.setattr(AuditEvent, "save", refused_once)
    event = services.record(actor=None, action="create", object_type="t", object_id="second")
    assert refused == ["second"]
    assert AuditEvent.objects.filter(object_id="second").count() == 1
    assert event.prev_hash == AuditEvent.objects.get(object_id="first").hash
    assert verify_chain().intact


@pytest.mark.django_db
def test_an_append_that_keeps_losing_gives_up(monkeypatch):
    from django.db import IntegrityError

    def always(self, *args, **kwargs):
        raise IntegrityError("UNIQUE constraint failed: audit_auditevent.prev_hash")

    monkeypatch.setattr(AuditEvent, "save", always)
    with pytest.raises(IntegrityError):
        services.record(actor=None, action="create", object_type="t", object_id="x")
