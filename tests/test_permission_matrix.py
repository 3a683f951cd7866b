"""Every URL by every persona: what a plain GET must answer, and that every GET which
shows client data is audited as exactly one read.

The URL list comes from the resolver itself (ours, allauth's, Django's), so a new URL
without an entry in ``MATRIX`` fails ``test_every_url_has_a_matrix_entry``.

To add a URL: add one ``MATRIX`` line. ``signed_in(...)``/``everyone(...)`` give every
persona the same outcome unless overridden by name. ``kwargs=`` takes a function of the
personas returning the URL arguments; an app whose records need building keeps such
fillers in its own ``tests/matrix.py`` (see scheduling). URL arguments are always filled with
records of Alice's practice (Dana's uuid, Alice's membership, ...), so Charlie, from the
other practice, must get 404 for every URL that carries one (checked below).
Outcomes are short labels: "200", "404", "405", "login", "mfa", "reauth", "home", ...
(see ``outcome_of``). To add a persona (e.g. Dana for the portal), add it to ``PERSONAS``
and give it an outcome where ``signed_in``/``everyone`` do not already say the right thing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.http import HttpResponse
from django.test import Client as HttpClient
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from openipt.accounts import services as account_services
from openipt.audit.models import AuditEvent
from openipt.care.tests.letter_fixture import dana_letter, letter_kind, letter_to_write
from openipt.care.tests.portfolio_matrix import concluded_course_of_dana
from openipt.clients.tests.matrix import emergency_access
from openipt.core import outbox
from openipt.measures.tests.matrix import dana_alert
from openipt.portal.tests.matrix import (
    consultation_request,
    dana_administration,
    dana_attachment,
    dana_goal,
    dana_task,
    dana_user,
    own_attachment,
    portal_token,
)
from openipt.scheduling.tests.matrix import bogus_feed_token, dana_appointment, dana_course
from openipt.testing.personas import Personas, make_staff
from openipt.treatment.tests.matrix import alice_supervision_kwargs, note_awaiting_bob
from openipt.treatment.tests.recording_fixtures import (
    dana_recording,
    dana_recording_consent,
    dana_session_recordings,
)
from openipt.treatment.tests.supervision_builders import (
    alice_follow_up,
    draft_meeting,
    signed_meeting,
)
from openipt.workspace.tests.matrix import dana_inbox_message

# Outcome labels.
OK = "200"
NOT_FOUND = "404"
NOT_ALLOWED = "405"
FORBIDDEN = "403"
UNAUTHORISED = "401"  # the FHIR API: bearer tokens only, never the browser session
LOGIN = "login"  # redirect to the sign-in page
MFA = "mfa"  # redirect to authenticator enrolment
REAUTH = "reauth"  # redirect to "confirm it is you" before a sensitive page
HOME = "home"  # redirect to /
SETUP = "setup"  # redirect to first-run setup
PASSWORD_CHANGE = "redirect /accounts/password/change/"

# Who signs in as whom (None: anonymous).
PERSONAS: dict[str, Callable[[Personas], Any]] = {
    "anonymous": lambda p: None,
    "alice": lambda p: p.alice,
    "bob": lambda p: p.bob,
    "charlie": lambda p: p.charlie,
    "adam": lambda p: p.adam,
    "dana": dana_user,  # Alice's client, signed in to the portal
}

# Pages that anonymous people may see (everything else must send them to sign in).
PUBLIC = {
    "portal:consultation",
    "portal:consultation-thanks",
    "portal:welcome",
    "core:health",
    "core:ready",
    "accounts:setup",
    "accounts:invitation-accept",
    "account_login",
    "account_logout",
    "account_reset_password",
    "account_reset_password_done",
    "account_reset_password_from_key",
    "account_reset_password_from_key_done",
    "account_signup",
    "account_inactive",
    "account_email_verification_sent",
    "account_confirm_email",
    "set_language",  # the language switcher of the public pages (docs/translation.md)
    "scheduling:feed",  # calendar apps cannot sign in: the secret token is the credential
    # The FHIR API and SMART's discovery and token endpoints: apps, not people, call them;
    # a token, not the session, is the credential (openipt/api/tests/test_fhir_matrix.py).
    "fhir:metadata",
    "fhir:type",
    "fhir:instance",
    "fhir:history",
    "fhir:everything",
    "fhir:unknown",
    "fhir:export",
    "fhir:export-patients",
    "fhir:export-group",
    "fhir:export-status",
    "fhir:export-file",
    "smart:smart-configuration",
    "smart:token",
    "smart:revoke-token",
}
# Answered to bearer tokens only: every persona's session gets 401, and Charlie's 404 on
# Alice's records is checked with his token in openipt/api/tests/test_fhir_matrix.py.
TOKEN_ONLY = {name for name in PUBLIC if name.startswith("fhir:")}


def no_kwargs(p: Personas) -> dict[str, Any]:
    return {}


@dataclass(frozen=True)
class Route:
    expect: dict[str, str]
    kwargs: Callable[[Personas], dict[str, Any]] = field(default=no_kwargs)


def everyone(outcome: str, *, kwargs: Callable[[Personas], dict[str, Any]] | None = None,
             **overrides: str) -> Route:  # fmt: skip
    expect = dict.fromkeys(PERSONAS, outcome) | overrides
    return Route(expect, kwargs) if kwargs else Route(expect)


def signed_in(outcome: str, *, kwargs: Callable[[Personas], dict[str, Any]] | None = None,
              **overrides: str) -> Route:  # fmt: skip
    return everyone(outcome, kwargs=kwargs, **({"anonymous": LOGIN} | overrides))


# URL argument fillers: always records of Alice's practice.
def dana(p: Personas) -> dict[str, Any]:
    return {"client_uuid": p.dana.uuid}


def alice_membership(p: Personas) -> dict[str, Any]:
    return {"uuid": p.membership(p.alice).uuid}


def fhir_dana(p: Personas) -> dict[str, Any]:
    return {"resource_type": "Patient", "resource_id": str(p.dana.uuid)}


def adam_app(p: Personas) -> dict[str, Any]:
    from openipt.api import smart

    app = smart.app_register(
        actor=p.adam, name="Mood Diary", redirect_uris=["https://app.example.test/cb"],
        confidential=False,
    ).app  # fmt: skip
    return {"uuid": app.uuid}


def alice_token(p: Personas) -> dict[str, Any]:
    from openipt.api.models import TokenContext
    from openipt.api.tests.fhir_kit import bearer

    mine = TokenContext.objects.filter(access_token__user=p.alice)
    if not mine.exists():
        bearer(p.alice, "user/*.read")
    return {"uuid": mine.get().uuid}


def pending_invitation(p: Personas) -> dict[str, Any]:
    invitation, _ = _invite(p)
    return {"uuid": invitation.uuid}


def invitation_token(p: Personas) -> dict[str, Any]:
    _, token = _invite(p)
    return {"token": token}


def _invite(p: Personas) -> tuple[Any, str]:
    return account_services.invitation_create(
        actor=p.adam, practice=p.practice, email="new.clinician@riverside.test",
        full_name="New Clinician", is_admin=False, is_supervisor=False, is_clinician=True,
    )  # fmt: skip


def pending_grant(p: Personas) -> dict[str, Any]:
    """A second administrator asks for Alice's supervisor role: it waits for Adam."""
    zoe = make_staff(p.practice, "zoe@riverside.test", "Zoe Admin", admin=True, clinician=False)
    result = account_services.staff_update(
        actor=zoe, membership=p.membership(p.alice), is_admin=False, is_supervisor=True,
        is_clinician=True, supervisors=[p.membership(p.bob)],
    )  # fmt: skip
    return {"uuid": result.pending[0].uuid}


def course_of_dana(*parts: str) -> Callable[[Personas], dict[str, Any]]:
    """URL arguments inside an IPT course of Dana's (with one of each record in it)."""

    def kwargs(p: Personas) -> dict[str, Any]:
        from openipt.treatment import services as treatment
        from openipt.treatment.tests import factories

        course = factories.make_course(p.alice, p.dana)
        records = {
            "session_uuid": lambda: factories.make_session(p.alice, course, 1).uuid,
            "person_uuid": lambda: factories.make_person(p.alice, course, "Sam").uuid,
            "event_uuid": lambda: treatment.timeline_event_create(
                actor=p.alice, course=course,
                data=treatment.TimelineEventData(
                    date=factories.START, kind="other", description="Moved"
                ),
            ).uuid,
            "area_uuid": lambda: treatment.problem_area_create(
                actor=p.alice, course=course, area="grief", data=treatment.ProblemAreaData()
            ).uuid,
            "goal_uuid": lambda: treatment.goal_create(
                actor=p.alice, course=course, data=treatment.GoalData(text="Call my sister")
            ).uuid,
            "kind": lambda: "role_play",
            # after "session_uuid": a task set in that session
            "task_uuid": lambda: treatment.task_set(
                actor=p.alice, session=course.sessions.get(number=1), text="Walk"
            ).uuid,
        }  # fmt: skip
        return {"course_uuid": course.uuid} | {part: records[part]() for part in parts}

    return kwargs


def queued_email(p: Personas) -> dict[str, Any]:
    """An email of Alice's practice the outbox gave up on."""
    row = outbox.queue_email(
        kind="test", subject="s", body="b", recipients=["x@example.test"],
        practice_id=p.practice.pk,
    )  # fmt: skip
    assert row is not None
    return {"uuid": row.uuid}


def bogus_reset_key(p: Personas) -> dict[str, Any]:
    return {"uidb36": "1z", "key": "not-a-real-key"}


def bogus_email_key(p: Personas) -> dict[str, Any]:
    return {"key": "not-a-real-key"}


CLINICAL = {"alice": OK, "bob": OK, "charlie": NOT_FOUND, "adam": NOT_FOUND, "dana": NOT_FOUND}
CLINICAL_WRITE = {
    "alice": OK, "bob": NOT_FOUND, "charlie": NOT_FOUND, "adam": NOT_FOUND, "dana": NOT_FOUND
}  # fmt: skip
SESSION = "session_uuid"

MATRIX: dict[str, Route] = {
    # core
    "core:home": signed_in(OK, dana="redirect /portal/"),
    "core:health": everyone(OK),
    "core:ready": everyone("503"),  # no scheduler or worker beats in the test database
    # accounts: first-run setup answers 404 once a practice exists
    "accounts:setup": everyone(NOT_FOUND),
    # one's own interface language: staff here, clients in the portal
    "accounts:language": signed_in(OK, dana=NOT_FOUND),
    "set_language": everyone(HOME, dana=NOT_FOUND),  # a GET changes nothing
    "accounts:staff-list": signed_in(NOT_FOUND, adam=OK),
    "accounts:staff-invite": signed_in(NOT_FOUND, adam=OK),
    "accounts:invitation-revoke": signed_in(NOT_ALLOWED, kwargs=pending_invitation, dana=NOT_FOUND),
    "accounts:grant-list": signed_in(NOT_FOUND, adam=OK),
    "accounts:grant-approve": signed_in(NOT_ALLOWED, kwargs=pending_grant, dana=NOT_FOUND),
    "accounts:grant-refuse": signed_in(NOT_ALLOWED, kwargs=pending_grant, dana=NOT_FOUND),
    "accounts:staff-edit": signed_in(NOT_FOUND, adam=OK, kwargs=alice_membership),
    "accounts:staff-deactivate": signed_in(NOT_ALLOWED, kwargs=alice_membership, dana=NOT_FOUND),
    "accounts:invitation-accept": everyone(OK, kwargs=invitation_token, dana=NOT_FOUND),
    # Practice settings (crisis contacts), administrators of the practice only
    "accounts:practice-settings": signed_in(NOT_FOUND, adam=OK),
    # break-glass review (docs/adr/0016-emergency-access.md)
    "accounts:emergency-access": signed_in(NOT_FOUND, adam=OK),
    "accounts:duplicates": signed_in(NOT_FOUND, adam=OK),
    "accounts:outbox": signed_in(NOT_FOUND, adam=OK),
    "accounts:outbox-send-again": signed_in(NOT_ALLOWED, kwargs=queued_email, dana=NOT_FOUND),
    "accounts:emergency-access-review": signed_in(
        NOT_ALLOWED, kwargs=emergency_access, dana=NOT_FOUND
    ),
    # clients
    "clients:list": signed_in(OK, dana=NOT_FOUND),
    "clients:create": signed_in(OK, dana=NOT_FOUND),
    "clients:emergency": signed_in(OK, dana=NOT_FOUND),
    "clients:detail": signed_in(OK, kwargs=dana, **CLINICAL),
    "clients:edit": signed_in(OK, kwargs=dana, **CLINICAL_WRITE),
    "clients:status": signed_in(OK, kwargs=dana, **CLINICAL_WRITE),
    "clients:care-team": signed_in(OK, kwargs=dana, **CLINICAL_WRITE),
    "clients:consent-create": signed_in(OK, kwargs=dana, **CLINICAL_WRITE),
    # treatment: the IPT course (reads: Alice and her supervisor Bob; writes: Alice)
    "treatment:caseload": signed_in(OK, dana=NOT_FOUND),
    "treatment:course-create": signed_in(OK, kwargs=dana, **CLINICAL_WRITE),
    "treatment:course-detail": signed_in(OK, kwargs=course_of_dana(), **CLINICAL),
    "treatment:course-update": signed_in(OK, kwargs=course_of_dana(), **CLINICAL_WRITE),
    "treatment:task-mark": signed_in(NOT_ALLOWED, kwargs=course_of_dana(), dana=NOT_FOUND),
    "treatment:session-create": signed_in(OK, kwargs=course_of_dana(), **CLINICAL_WRITE),
    "treatment:session-detail": signed_in(OK, kwargs=course_of_dana(SESSION), **CLINICAL),
    "treatment:session-update": signed_in(OK, kwargs=course_of_dana(SESSION), **CLINICAL_WRITE),
    "treatment:session-sign": signed_in(
        NOT_ALLOWED, kwargs=course_of_dana(SESSION), dana=NOT_FOUND
    ),
    "treatment:session-amend": signed_in(OK, kwargs=course_of_dana(SESSION), **CLINICAL_WRITE),
    "treatment:process-note": signed_in(OK, kwargs=course_of_dana(SESSION), **CLINICAL_WRITE),
    "treatment:technique-create": signed_in(
        OK, kwargs=course_of_dana(SESSION, "kind"), **CLINICAL_WRITE
    ),
    "treatment:task-create": signed_in(NOT_ALLOWED, kwargs=course_of_dana(SESSION), dana=NOT_FOUND),
    "treatment:task-review": signed_in(
        NOT_ALLOWED, kwargs=course_of_dana(SESSION, "task_uuid"), dana=NOT_FOUND
    ),
    "treatment:inventory": signed_in(OK, kwargs=course_of_dana(), **CLINICAL),
    "treatment:person-create": signed_in(OK, kwargs=course_of_dana(), **CLINICAL_WRITE),
    "treatment:inventory-copy": signed_in(NOT_ALLOWED, kwargs=course_of_dana(), dana=NOT_FOUND),
    "treatment:person-update": signed_in(
        OK, kwargs=course_of_dana("person_uuid"), **CLINICAL_WRITE
    ),
    "treatment:timeline": signed_in(OK, kwargs=course_of_dana(), **CLINICAL),
    "treatment:event-create": signed_in(OK, kwargs=course_of_dana(), **CLINICAL_WRITE),
    "treatment:event-update": signed_in(OK, kwargs=course_of_dana("event_uuid"), **CLINICAL_WRITE),
    "treatment:problem-areas": signed_in(OK, kwargs=course_of_dana(), **CLINICAL),
    "treatment:problem-area": signed_in(OK, kwargs=course_of_dana("area_uuid"), **CLINICAL),
    "treatment:formulation": signed_in(OK, kwargs=course_of_dana(), **CLINICAL),
    "treatment:contract": signed_in(OK, kwargs=course_of_dana(), **CLINICAL),
    "treatment:goals": signed_in(OK, kwargs=course_of_dana(), **CLINICAL),
    "treatment:goal-rate": signed_in(
        NOT_ALLOWED, kwargs=course_of_dana("goal_uuid"), dana=NOT_FOUND
    ),
    "treatment:termination": signed_in(OK, kwargs=course_of_dana(), **CLINICAL),
    # Concluding from the ending page; starting maintenance
    "treatment:course-conclude": signed_in(NOT_ALLOWED, kwargs=course_of_dana(), dana=NOT_FOUND),
    "treatment:course-maintenance": signed_in(OK, kwargs=course_of_dana(), **CLINICAL_WRITE),
    # allauth: sign-in, password reset, sign-up (closed: staff are invited)
    "account_login": everyone(HOME, anonymous=OK),
    "account_logout": everyone(OK, anonymous=HOME),
    "account_inactive": everyone(OK),
    "account_signup": everyone(HOME, anonymous=OK),
    "account_reauthenticate": signed_in(OK),
    "account_email": signed_in(OK),
    "account_email_verification_sent": everyone(OK),
    "account_change_password": signed_in(OK),
    "account_set_password": signed_in(PASSWORD_CHANGE),  # everyone has a password
    "account_reset_password": everyone(OK),
    "account_confirm_login_code": signed_in(HOME),
    "account_confirm_email": everyone(OK, kwargs=bogus_email_key),
    "account_reset_password_from_key_done": everyone(OK),
    "account_reset_password_from_key": everyone(OK, kwargs=bogus_reset_key),
    "account_reset_password_done": everyone(OK),
    # allauth MFA
    "mfa_index": signed_in(OK),
    "mfa_authenticate": signed_in(HOME),  # only mid-sign-in
    "mfa_reauthenticate": signed_in(OK, dana=REAUTH),  # Dana has no authenticator
    "mfa_activate_totp": signed_in(REAUTH),
    "mfa_deactivate_totp": signed_in(REAUTH, dana=NOT_FOUND),
    # The personas enrolled TOTP only, so they have no recovery codes to show yet.
    "mfa_view_recovery_codes": signed_in(NOT_FOUND),
    "mfa_generate_recovery_codes": signed_in(REAUTH),
    "mfa_download_recovery_codes": signed_in(NOT_FOUND),
    # audit
    "audit:report": signed_in(NOT_FOUND, adam=OK),
    "audit:export": signed_in(NOT_FOUND, adam=OK),
    # the client's side: consultation requests (public), intake queue, portal, messages
    # (two practices exist here, so the form needs ?practice=<uuid>; without it: 404)
    "portal:consultation": everyone(NOT_FOUND),
    "portal:consultation-thanks": everyone(OK),
    "portal:welcome": everyone(OK, kwargs=portal_token),
    "intake:list": signed_in(OK, dana=NOT_FOUND),
    "intake:detail": signed_in(OK, kwargs=consultation_request, charlie=NOT_FOUND, dana=NOT_FOUND),
    "clients:portal": signed_in(OK, kwargs=dana, **CLINICAL_WRITE),
    "clients:portal-sharing": signed_in(NOT_ALLOWED, kwargs=dana, dana=NOT_FOUND),
    "clients:messages": signed_in(OK, kwargs=dana, **CLINICAL),
    "clients:attachment": signed_in(OK, kwargs=dana_attachment, **CLINICAL),
    "clients:diary": signed_in(OK, kwargs=dana, **CLINICAL),
    # portal pages: only the client herself (signed in staff get 404)
    "portal:home": signed_in(NOT_FOUND, dana=OK),
    "portal:questionnaires": signed_in(NOT_FOUND, dana=OK),
    "portal:questionnaire": signed_in(NOT_FOUND, kwargs=dana_administration, dana=OK),
    "portal:tasks": signed_in(NOT_FOUND, dana=OK),
    "portal:task": signed_in(NOT_FOUND, kwargs=dana_task, dana=OK),
    "portal:diary": signed_in(NOT_FOUND, dana=OK),
    "portal:diary-new": signed_in(NOT_FOUND, dana=OK),
    "portal:goals": signed_in(NOT_FOUND, dana=OK),
    "portal:goal-rate": signed_in(NOT_FOUND, kwargs=dana_goal, dana=NOT_ALLOWED),
    "portal:progress": signed_in(NOT_FOUND),  # until the clinician shares the chart
    "portal:messages": signed_in(NOT_FOUND, dana=OK),
    "portal:attachment": signed_in(NOT_FOUND, kwargs=own_attachment, dana=OK),
    "portal:safety-plan": signed_in(NOT_FOUND, dana=OK),
    "portal:help": signed_in(NOT_FOUND, dana=OK),
    "portal:language": signed_in(NOT_FOUND, dana=OK),
    "portal:record": signed_in(NOT_FOUND, dana=OK),
    "portal:record-pdf": signed_in(NOT_FOUND, dana=OK),
    "portal:record-fhir": signed_in(NOT_FOUND, dana=OK),
    # FHIR API (tokens only) and SMART authorisation
    "fhir:metadata": everyone(OK),
    "fhir:type": everyone(UNAUTHORISED, kwargs=lambda p: {"resource_type": "Patient"}),
    "fhir:instance": everyone(UNAUTHORISED, kwargs=fhir_dana),
    "fhir:history": everyone(NOT_FOUND, kwargs=lambda p: fhir_dana(p) | {"rest": "1"}),
    "fhir:everything": everyone(UNAUTHORISED, kwargs=lambda p: {"resource_id": p.dana.uuid}),
    "fhir:unknown": everyone(NOT_FOUND, kwargs=lambda p: {"rest": "nothing/here"}),
    "fhir:export": everyone(UNAUTHORISED),
    "fhir:export-patients": everyone(UNAUTHORISED),
    "fhir:export-group": everyone(
        UNAUTHORISED, kwargs=lambda p: {"group_id": p.membership(p.alice).uuid}
    ),
    "fhir:export-status": everyone(UNAUTHORISED, kwargs=lambda p: {"job": p.dana.uuid}),
    "fhir:export-file": everyone(
        UNAUTHORISED, kwargs=lambda p: {"job": p.dana.uuid, "name": "Patient.ndjson"}
    ),
    "smart:smart-configuration": everyone(OK),
    "smart:token": everyone(NOT_ALLOWED),
    "smart:revoke-token": everyone(NOT_ALLOWED),
    "smart:authorize": signed_in(NOT_FOUND),
    "smart:apps": signed_in(NOT_FOUND, adam=OK),
    "smart:app-register": signed_in(NOT_FOUND, adam=OK),
    "smart:app-detail": signed_in(NOT_FOUND, kwargs=adam_app, adam=OK),
    "smart:app-disable": signed_in(NOT_ALLOWED, kwargs=adam_app, dana=NOT_FOUND),
    "smart:connected": signed_in(OK),
    "smart:connected-revoke": signed_in(NOT_ALLOWED, kwargs=alice_token),
    # measures: questionnaires in session, risk alerts, safety plan
    "measures:course-measures": signed_in(OK, kwargs=course_of_dana(), **CLINICAL),
    "measures:administration-create": signed_in(OK, kwargs=course_of_dana(), **CLINICAL_WRITE),
    "measures:administration-assign": signed_in(
        NOT_ALLOWED, kwargs=course_of_dana(), dana=NOT_FOUND
    ),
    "measures:instruments": signed_in(NOT_FOUND, adam=OK),
    "measures:alerts": signed_in(OK, dana=NOT_FOUND),
    "measures:practice-alerts": signed_in(NOT_FOUND, adam=OK),
    # Bob sees an alert of Alice's only once it has escalated to him.
    "measures:alert-detail": signed_in(NOT_FOUND, kwargs=dana_alert, alice=OK),
    "measures:safety-plan": signed_in(OK, kwargs=dana, **CLINICAL),
    "measures:safety-plan-history": signed_in(OK, kwargs=dana, **CLINICAL),
    # scheduling
    "scheduling:week": signed_in(OK, dana=NOT_FOUND),
    "scheduling:client-appointments": signed_in(OK, kwargs=dana, **CLINICAL),
    "scheduling:book": signed_in(OK, kwargs=dana, **CLINICAL_WRITE),
    "scheduling:client-ics": signed_in(OK, kwargs=dana, **CLINICAL),
    "scheduling:appointment": signed_in(OK, kwargs=dana_appointment, **CLINICAL),
    "scheduling:reschedule": signed_in(OK, kwargs=dana_appointment, **CLINICAL_WRITE),
    "scheduling:outcome": signed_in(OK, kwargs=dana_appointment, **CLINICAL_WRITE),
    "scheduling:series": signed_in(OK, kwargs=dana_course, **CLINICAL_WRITE),
    "scheduling:feed-settings": signed_in(OK, dana=NOT_FOUND),
    "scheduling:feed": everyone(NOT_FOUND, kwargs=bogus_feed_token),
    # The inbox (care team only: Bob reads Dana's record but has no inbox for her)
    "inbox:list": signed_in(OK, adam=NOT_FOUND, dana=NOT_FOUND),
    "inbox:mark-all-read": signed_in(NOT_ALLOWED, dana=NOT_FOUND),
    "inbox:open": signed_in(NOT_ALLOWED, kwargs=dana_inbox_message, dana=NOT_FOUND),
    "inbox:mark-read": signed_in(NOT_ALLOWED, kwargs=dana_inbox_message, dana=NOT_FOUND),
    # Free-slot booking, cancelling with a reason, "write the note"
    "scheduling:book-slot": signed_in(OK, adam=NOT_FOUND, dana=NOT_FOUND),
    "scheduling:cancel": signed_in(OK, kwargs=dana_appointment, **CLINICAL_WRITE),
    "scheduling:appointment-note": signed_in(NOT_ALLOWED, kwargs=dana_appointment, dana=NOT_FOUND),
    # Co-signing a trainee's notes: Alice is in training under Bob; only Bob reviews her note
    # (the author, the administrator, another practice and the client get 404; another
    # supervisor too: openipt/treatment/tests/test_cosign.py). Adam marks the training.
    "treatment:session-cosign": signed_in(NOT_FOUND, kwargs=note_awaiting_bob, bob=OK),
    "accounts:supervision-training": signed_in(
        NOT_ALLOWED, kwargs=alice_supervision_kwargs, dana=NOT_FOUND
    ),
    # Outcome dashboard: Adam sees the practice's figures, Bob his supervisees' (only Alice's
    # courses: openipt/care/tests/test_outcomes.py); Alice, Charlie and Dana get 404.
    "outcomes:dashboard": signed_in(NOT_FOUND, adam=OK, bob=OK),
    # Fidelity ratings: the session's therapist (Alice) and her supervisor (Bob) only; the
    # administrator, another practice and the client get 404 (another supervisor too:
    # openipt/workspace/tests/test_fidelity_views.py).
    "treatment:session-fidelity": signed_in(OK, kwargs=course_of_dana(SESSION), **CLINICAL),
    # Research export: administrators only; Charlie (another practice, not an administrator)
    # gets 404, and an administrator elsewhere exports only their own practice
    # (openipt/care/tests/test_research_export.py).
    "research:export": signed_in(NOT_FOUND, adam=OK),
    # Certification portfolio: the course's clinician (Alice) and her supervisor (Bob) only;
    # the administrator, another practice and the client get 404 (another supervisor too:
    # openipt/care/tests/test_portfolio.py). Only Bob signs it off.
    "treatment:course-portfolio": signed_in(OK, kwargs=concluded_course_of_dana, **CLINICAL),
    "treatment:course-portfolio-pdf": signed_in(OK, kwargs=concluded_course_of_dana, **CLINICAL),
    "treatment:course-portfolio-signoff": signed_in(
        NOT_ALLOWED, kwargs=concluded_course_of_dana, dana=NOT_FOUND
    ),
    # Letters: Alice (the course's clinician) writes, downloads and prints them; Bob, her
    # supervisor, reads the list and a kept letter but writes and sends none; Adam edits the
    # practice's wording only; another practice and the client get 404 (sending without
    # consent is refused: openipt/care/tests/test_letters.py).
    "letters:list": signed_in(OK, kwargs=course_of_dana(), **CLINICAL),
    "letters:create": signed_in(OK, kwargs=letter_to_write, **CLINICAL_WRITE),
    "letters:detail": signed_in(OK, kwargs=dana_letter, **CLINICAL),
    "letters:pdf": signed_in(OK, kwargs=dana_letter, **CLINICAL_WRITE),
    "letters:templates": signed_in(NOT_FOUND, adam=OK),
    "letters:template-edit": signed_in(NOT_FOUND, kwargs=letter_kind, adam=OK),
    # Session recordings: the session's therapist (Alice) and her supervisor (Bob) only; the
    # administrator, another practice and the client get 404 (another supervisor too:
    # openipt/workspace/tests/test_recording_views.py). The consent is Alice's to record.
    "treatment:recording-consent": signed_in(OK, kwargs=dana_recording_consent, **CLINICAL_WRITE),
    "treatment:session-recordings": signed_in(OK, kwargs=dana_session_recordings, **CLINICAL),
    "treatment:recording-detail": signed_in(OK, kwargs=dana_recording, **CLINICAL),
    "treatment:recording-audio": signed_in(OK, kwargs=dana_recording, **CLINICAL),
    # Supervision records and workspace: Bob's note of supervising Alice is read by Bob and,
    # once signed, by Alice; another practice, the administrator without a supervisor role
    # and the client get 404 (another supervisor too: openipt/workspace/tests/
    # test_supervision_views.py). Only a supervisor writes notes and has the workspace (of
    # their own supervisees); a clinician sees the notes of their own supervision there.
    "supervision:workspace": signed_in(OK, adam=NOT_FOUND, dana=NOT_FOUND),
    "supervision:meeting-create": signed_in(NOT_FOUND, bob=OK),
    "supervision:meeting-detail": signed_in(NOT_FOUND, kwargs=signed_meeting, alice=OK, bob=OK),
    "supervision:meeting-edit": signed_in(NOT_FOUND, kwargs=draft_meeting, bob=OK),
    "supervision:meeting-sign": signed_in(NOT_ALLOWED, kwargs=draft_meeting, dana=NOT_FOUND),
    "supervision:meeting-amend": signed_in(NOT_ALLOWED, kwargs=signed_meeting, dana=NOT_FOUND),
    "supervision:follow-up-done": signed_in(NOT_ALLOWED, kwargs=alice_follow_up, dana=NOT_FOUND),
}


# ---------------------------------------------------------------------------- mechanism


def _walk(patterns: list[Any], prefix: str = "", namespace: str = "") -> Iterator[tuple[str, str]]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = ":".join(filter(None, [namespace, pattern.namespace or ""]))
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern), inner)
        elif isinstance(pattern, URLPattern):
            route = prefix + str(pattern.pattern)
            if pattern.name is None:
                yield f"<unnamed> {route}", route
            else:
                yield ":".join(filter(None, [namespace, pattern.name])), route


def all_url_names() -> dict[str, str]:
    """Every URL the project serves (name -> route), static files excepted."""
    return {
        name: route
        for name, route in _walk(get_resolver().url_patterns)
        if not route.startswith(("static/", "^static/", "media/"))
    }


def outcome_of(response: HttpResponse) -> str:
    if response.status_code not in {301, 302, 303, 307, 308}:
        return str(response.status_code)
    target = urlsplit(response["Location"]).path
    labels = {
        reverse("account_login"): LOGIN,
        reverse("mfa_activate_totp"): MFA,
        reverse("account_reauthenticate"): REAUTH,
        reverse("mfa_reauthenticate"): REAUTH,
        reverse("core:home"): HOME,
        reverse("accounts:setup"): SETUP,
    }
    return labels.get(target, f"redirect {target}")


def test_every_url_has_a_matrix_entry():
    missing = sorted(set(all_url_names()) - set(MATRIX))
    assert missing == [], "URLs without a permission-matrix entry:\n" + "\n".join(missing)


def test_matrix_has_no_stale_entries():
    stale = sorted(set(MATRIX) - set(all_url_names()))
    assert stale == [], "Matrix entries for URLs that no longer exist:\n" + "\n".join(stale)


def test_every_entry_lists_every_persona():
    incomplete = sorted(name for name, r in MATRIX.items() if set(r.expect) != set(PERSONAS))
    assert incomplete == [], "Entries that do not list every persona:\n" + "\n".join(incomplete)


def test_anonymous_is_sent_to_sign_in_except_on_public_pages():
    exposed = sorted(
        name for name, route in MATRIX.items()
        if name not in PUBLIC and route.expect["anonymous"] != LOGIN
    )  # fmt: skip
    assert exposed == [], "Anonymous must be sent to sign in on:\n" + "\n".join(exposed)


@pytest.mark.parametrize("name", sorted(MATRIX))
def test_get_answers_as_the_matrix_says(name, personas, client, settings):
    route = MATRIX[name]
    kwargs = route.kwargs(personas)
    url = reverse(name, kwargs=kwargs)
    wrong = []
    for persona, expected in route.expect.items():
        actual = outcome_of(_signed_in_as(PERSONAS[persona](personas)).get(url))
        if actual != expected:
            wrong.append(f"{persona}: expected {expected}, got {actual}")
    assert wrong == [], f"GET {url}\n" + "\n".join(wrong)


# Client data a page can show without the client's name on it; each such GET must be audited
# as one read too. A new page that shows Dana's name is caught without an entry here.
SHOWS_CLIENT_DATA_WITHOUT_NAME: set[str] = {"treatment:course-portfolio-pdf"}
# Seeing client data is recorded as a read, or as an export when it leaves as a file.
ACCESS_ACTIONS = (AuditEvent.Action.READ, AuditEvent.Action.EXPORT)


def _names_dana(response: HttpResponse, personas: Personas) -> bool:
    body = b"".join(response) if response.streaming else response.content  # type: ignore[attr-defined]
    text = body.decode("utf-8", errors="replace")
    dana = personas.dana
    return dana.legal_family_name in text and dana.legal_given_name in text


@pytest.mark.parametrize("name", sorted(MATRIX))
def test_every_get_of_client_data_writes_exactly_one_read_event(name, personas):
    """The audited door (docs/quality.md S4): for every persona a page answers, a GET that
    shows client data writes exactly one read (or export) event; no GET writes more. A new
    view that fetches client data for display without auditing it fails here."""
    route = MATRIX[name]
    url = reverse(name, kwargs=route.kwargs(personas))
    wrong = []
    for persona, expected in route.expect.items():
        if expected != OK:
            continue
        http = _signed_in_as(PERSONAS[persona](personas))
        before = AuditEvent.objects.filter(action__in=ACCESS_ACTIONS).count()
        response = http.get(url)
        reads = AuditEvent.objects.filter(action__in=ACCESS_ACTIONS).count() - before
        shows = name in SHOWS_CLIENT_DATA_WITHOUT_NAME or _names_dana(response, personas)
        if (shows and reads != 1) or reads > 1:
            what = "shows client data" if shows else "shows no client data"
            wrong.append(f"{persona}: {what} and wrote {reads} read event(s)")
    assert wrong == [], f"GET {url}\n" + "\n".join(wrong)


def _is_about_a_record(route: str) -> bool:
    """The URL carries a record's uuid (``<uuid:uuid>``, ``<uuid:client_uuid>``, ...)."""
    return re.search(r"<(?:\w+:)?\w*uuid>", route) is not None


@pytest.mark.parametrize(
    "name", sorted(name for name, route in all_url_names().items() if _is_about_a_record(route))
)
def test_charlie_gets_404_on_every_url_of_alices_practice(name, personas):
    """Charlie (other practice) can neither see nor change anything of Alice's practice.

    A 405 says nothing (everyone gets it), but the method the view does serve must be 404.
    """
    if name not in MATRIX:
        pytest.fail(f"{name} has no permission-matrix entry")
    if name in TOKEN_ONLY:
        assert MATRIX[name].expect["charlie"] in {UNAUTHORISED, NOT_FOUND}
        return
    url = reverse(name, kwargs=MATRIX[name].kwargs(personas))
    charlie = _signed_in_as(personas.charlie)
    answers = {"GET": outcome_of(charlie.get(url)), "POST": outcome_of(charlie.post(url))}
    assert MATRIX[name].expect["charlie"] in {NOT_FOUND, NOT_ALLOWED}
    assert set(answers.values()) <= {NOT_FOUND, NOT_ALLOWED}, answers
    assert NOT_FOUND in answers.values(), answers


def _signed_in_as(user: Any) -> HttpClient:
    http = HttpClient()
    if user is not None:
        http.force_login(user)
    return http
