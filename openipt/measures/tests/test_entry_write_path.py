"""The write path of a questionnaire entered in session (the PHQ-9 quick-entry POST): the
reads and the scoring first, then one write transaction holding the record, its audit
event, any risk alert with its email, and the form's one-time token
(openipt/measures/services.py ``administration_enter``, openipt/core/submissions.py)."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import DEFAULT_DB_ALIAS, connections
from django.test import Client as HttpClient
from django.urls import reverse

from openipt.audit.models import AuditEvent
from openipt.core import submissions
from openipt.core.models import OutboxEmail, Submission
from openipt.measures import services
from openipt.measures.models import Administration, RiskAlert, SafetyPlan
from openipt.measures.tests.conftest import phq9_answers
from openipt.treatment.tests.factories import make_course, make_session

WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")
TOKEN = "entry-token-0123456789abcdef"


def _url(course: Any) -> str:
    return reverse("measures:administration-create", args=[course.uuid]) + "?instrument=PHQ-9"


def _form(course: Any, quick: str = "121101000", **extra: str) -> dict[str, str]:
    """What the bench posts: the quick-entry box and the session (bench/run.py)."""
    return {"quick": quick, "session": str(course.sessions.get(number=1).uuid), **extra}


@dataclass
class Transactions:
    """Every write statement with the number of the transaction it ran in (how many
    commits and rollbacks came before it) and whether it ran inside one at all."""

    writes: list[tuple[int, bool, str]] = field(default_factory=list)
    commits: int = 0
    rollbacks: int = 0

    def tables(self, transaction: int) -> set[str]:
        return {sql.split('"')[1] for n, _inside, sql in self.writes if n == transaction}


@contextmanager
def transactions() -> Iterator[Transactions]:
    connection = connections[DEFAULT_DB_ALIAS]
    seen = Transactions()
    commit, rollback = connection.commit, connection.rollback

    def counted_commit() -> None:
        commit()
        seen.commits += 1

    def counted_rollback() -> None:
        rollback()
        seen.rollbacks += 1

    def watch(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        if sql.lstrip().upper().startswith(WRITES):
            done = seen.commits + seen.rollbacks
            seen.writes.append((done, connection.in_atomic_block, sql))
        return execute(sql, params, many, context)

    connection.commit, connection.rollback = counted_commit, counted_rollback  # type: ignore[method-assign]
    try:
        with connection.execute_wrapper(watch):
            yield seen
    finally:
        del connection.commit, connection.rollback


# --- Round trips -------------------------------------------------------------------------

#: PostgreSQL serialises the audit chain with one more statement, its advisory lock.
_CHAIN_LOCK = int(connections[DEFAULT_DB_ALIAS].vendor == "postgresql")


@pytest.mark.django_db
def test_the_phq9_entry_post_sends_a_fixed_number_of_queries(
    alice_client, course, django_assert_num_queries
):
    """Session, user and membership (3); instrument, course and its sessions (3); the
    policy's second look at write access (1); then the writes: the record (1), its audit
    event after the chain's head (4: in a savepoint of the audit writer's) and the course
    summary's scores (2: one read, one update); PostgreSQL adds the audit chain's lock.
    No query per foreign key, no uniqueness or constraint query, no query for the alert the
    redirect asks about."""
    form = _form(course)
    with django_assert_num_queries(14 + _CHAIN_LOCK):
        response = alice_client.post(_url(course), form)
    assert response.status_code == 302
    assert Administration.objects.get().total == 6


@pytest.mark.django_db
def test_the_one_time_token_costs_one_read_and_one_insert(
    alice_client, course, django_assert_num_queries
):
    form = _form(course, _submission=TOKEN)
    with django_assert_num_queries(16 + _CHAIN_LOCK):
        assert alice_client.post(_url(course), form).status_code == 302
    assert Submission.objects.get().status == Submission.Status.DONE


# --- One write transaction -----------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_entry_and_its_token_are_written_in_one_transaction(alice_client, course):
    form = _form(course, _submission=TOKEN)
    with transactions() as seen:
        response = alice_client.post(_url(course), form)
    assert response.status_code == 302
    assert (seen.commits, seen.rollbacks) == (1, 0)
    assert seen.writes
    assert all(inside and n == 0 for n, inside, _sql in seen.writes)
    assert {"measures_administration", "audit_auditevent", "core_submission"} <= seen.tables(0)
    assert Submission.objects.get().location == response["Location"]


@pytest.mark.django_db(transaction=True)
def test_a_critical_answer_raises_its_alert_in_the_same_transaction(alice_client, course):
    with transactions() as seen:
        response = alice_client.post(_url(course), _form(course, "000000001"))
    alert = RiskAlert.objects.get()
    assert response["Location"] == reverse("measures:alert-detail", args=[alert.uuid])
    entry = {"measures_administration", "measures_riskalert", "audit_auditevent"}
    assert entry | {"core_outboxemail"} <= seen.tables(0)
    assert all(inside for n, inside, _sql in seen.writes if n == 0)
    # After the commit only the email's delivery writes (the worker's part, run at once in
    # the tests): nothing of the entry itself.
    later = set().union(*(seen.tables(n) for n in range(1, seen.commits + 1)))
    assert not later & entry
    assert OutboxEmail.objects.get().sent_at is not None


# --- Exactly once ----------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("quick", ["121101000", "000000001"])  # scores; a risk alert
def test_a_repeated_entry_gets_the_first_redirect_and_writes_nothing(alice_client, course, quick):
    form = _form(course, quick, _submission=TOKEN)
    first = alice_client.post(_url(course), form)
    with transactions() as seen:
        again = alice_client.post(_url(course), form)
    assert again.status_code == first.status_code == 302
    assert again["Location"] == first["Location"]
    assert seen.writes == []
    assert Administration.objects.count() == 1
    assert RiskAlert.objects.count() == (1 if quick.endswith("1") else 0)


@pytest.mark.django_db(transaction=True)
def test_a_repeat_that_raced_past_the_read_rolls_back_whole(alice_client, course, monkeypatch):
    """Two requests with one token that both found it unused: the second meets the first's
    token in its own write transaction, which rolls back entirely; it gets the first
    redirect."""
    form = _form(course, "000000001", _submission=TOKEN)
    first = alice_client.post(_url(course), form)
    events = AuditEvent.objects.count()
    real = submissions.SubmissionMiddleware._repeat
    calls: list[str] = []

    def raced(self: Any, request: Any, claim: Any) -> Any:
        calls.append(claim.state)
        if len(calls) == 1:  # the read before the view: as if the first had not committed
            return None
        return real(self, request, claim)

    monkeypatch.setattr(submissions.SubmissionMiddleware, "_repeat", raced)
    with transactions() as seen:
        again = alice_client.post(_url(course), form)
    assert again.status_code == 302
    assert again["Location"] == first["Location"]
    assert (seen.commits, seen.rollbacks) == (0, 1)
    assert Administration.objects.count() == RiskAlert.objects.count() == 1
    assert AuditEvent.objects.count() == events
    assert OutboxEmail.objects.count() == 1
    assert calls == ["pending", "pending"]  # then the answer to the repeat it turned out to be


@pytest.mark.django_db
def test_a_refused_entry_keeps_no_token_and_may_be_sent_again(alice_client, course):
    refused = alice_client.post(_url(course), _form(course, "12", _submission=TOKEN))
    assert refused.status_code == 200
    assert not Submission.objects.exists()
    saved = alice_client.post(_url(course), _form(course, _submission=TOKEN))
    assert saved.status_code == 302
    assert Administration.objects.count() == 1


@pytest.mark.django_db
def test_an_entry_on_a_course_out_of_reach_is_refused_and_keeps_no_token(client, personas, course):
    client.force_login(personas.charlie)
    assert client.post(_url(course), _form(course, _submission=TOKEN)).status_code == 404
    assert not Submission.objects.exists()
    assert not Administration.objects.exists()


@pytest.mark.django_db
def test_a_token_sent_by_someone_else_is_refused(alice_client, client, personas, course):
    alice_client.post(_url(course), _form(course, _submission=TOKEN))
    client.force_login(personas.bob)
    assert client.post(_url(course), _form(course, _submission=TOKEN)).status_code == 400
    assert Administration.objects.count() == 1


@pytest.mark.django_db
def test_a_form_claimed_before_its_view_runs_again_when_the_first_was_refused(
    alice_client, personas, monkeypatch
):
    """A view that claims its token before it runs (not ``claims_with_change``) finds it
    taken by a first attempt that is then refused: it claims it again and runs."""
    url = reverse("measures:safety-plan", args=[personas.dana.uuid])
    key = hashlib.sha256(f"{url}\n{TOKEN}".encode()).hexdigest()
    Submission.objects.create(key=key, path=url)  # the first attempt, still running

    def first_refused(seconds: float) -> None:
        Submission.objects.filter(key=key).delete()

    monkeypatch.setattr(submissions.time, "sleep", first_refused)
    form = {"warning_signs": "Staying in bed all day", "based_on": "0", "_submission": TOKEN}
    response = alice_client.post(url, form)
    assert response.status_code == 302
    assert Submission.objects.get(key=key).status == Submission.Status.DONE
    assert SafetyPlan.objects.count() == 1


@pytest.mark.django_db
def test_a_session_of_another_course_is_refused_before_anything_is_written(personas, course, phq9):
    other = make_course(personas.alice, personas.dana, planned_sessions=8)
    elsewhere = make_session(personas.alice, other, 1)
    events = AuditEvent.objects.count()
    with pytest.raises(ValidationError) as refused:
        services.administration_enter(
            actor=personas.alice, course=course, instrument=phq9,
            answers=phq9_answers("000000000"), session=elsewhere,
        )  # fmt: skip
    assert "session" in refused.value.message_dict
    assert not Administration.objects.exists()
    assert AuditEvent.objects.count() == events


@pytest.mark.django_db
@pytest.mark.parametrize("marked", [False, True])
def test_a_view_that_fails_leaves_no_token(rf, personas, marked):
    """An exception out of the view (past the handler's own conversion to an error page):
    a token claimed before the view is forgotten; one the view would store with its change
    was never stored."""
    request = rf.post("/somewhere/", {"_submission": TOKEN})
    request.user = personas.alice

    def view(request: Any) -> Any:
        raise AssertionError("unreachable")  # pragma: no cover

    if marked:
        view = submissions.claims_with_change(view)

    def handler(request: Any) -> Any:
        assert middleware.process_view(request, view, (), {}) is None
        raise RuntimeError("the view failed")

    middleware = submissions.SubmissionMiddleware(handler)
    with pytest.raises(RuntimeError):
        middleware(request)
    assert not Submission.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_one_entry_sent_twice_at_the_same_instant_is_saved_once(personas, course):
    if connections[DEFAULT_DB_ALIAS].vendor == "sqlite":
        pytest.skip(
            "the SQLite test database lives in memory with a shared cache, whose table locks "
            "refuse a second writer at once instead of waiting as the file database does; "
            "the PostgreSQL run sends the two requests at the same instant"
        )
    browsers = [HttpClient(), HttpClient()]
    for browser in browsers:
        browser.force_login(personas.alice)
    form = _form(course, _submission=TOKEN)
    start = threading.Barrier(2)
    answers: list[str] = []
    failures: list[BaseException] = []

    def send(browser: HttpClient) -> None:
        start.wait()
        try:
            response = browser.post(_url(course), form)
        except BaseException as error:  # reported below, not lost in the thread
            failures.append(error)
            raise
        finally:
            connections.close_all()  # this thread's own database connection
        answers.append(response.get("Location", str(response.status_code)))

    threads = [threading.Thread(target=send, args=(b,)) for b in browsers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert failures == []
    assert Administration.objects.count() == 1
    assert answers == [reverse("measures:course-measures", args=[course.uuid])] * 2
