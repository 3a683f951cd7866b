"""Exactly once per form submission: a repeated POST returns the first result.

Every POST form carries a one-time token (the ``_submission`` field that the project's
``{% csrf_token %}`` adds, openipt/core/templatetags/submissions.py); an API client may send
the same as an ``Idempotency-Key`` header. ``SubmissionMiddleware``:

1. claims the token by inserting a ``Submission`` row (unique), committed before the view
   runs, so a concurrent request with the same token cannot claim it too;
2. runs the view; if it answered with a redirect (a saved form: the house style is
   post/redirect/get), remembers the redirect; anything else (the form shown again with its
   errors, a refusal, an exception) forgets the token so a corrected form can be sent;
3. a repeat of a remembered token is answered with the same redirect and runs nothing; a
   repeat arriving while the first is still running waits for it (a few seconds) and then
   gets its redirect, or a "still being saved" page if it takes longer.

A view marked ``@claims_with_change`` spends no commit of its own on the token: the
middleware only reads whether it was sent before, and the view's one write transaction
stores the token with the change it makes (``submission_save``, inside that transaction),
already done, with its redirect. A repeat that raced past the read meets the unique token
there: its transaction rolls back whole (``AlreadySubmitted``) and it gets the first
redirect. So the change and "this was sent" commit together or not at all.

Sign-in pages (``/accounts/``) are left alone: allauth's flows rotate the session and
handle repeats themselves. Tokens are bound to the user who sent them; a token sent signed
out by a form that signs the person in (accepting an invitation, choosing a portal password)
is answered with its redirect when the now signed-in browser sends it again.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils import timezone

from openipt.core.models import Submission

FIELD = "_submission"
HEADER = "Idempotency-Key"
TOKEN = re.compile(r"^[A-Za-z0-9_\-]{16,100}$")
# The FHIR API answers its own ``Idempotency-Key`` (``run_once``): its results are created
# resources, not redirects, and its user is the token's, known only inside the view.
EXEMPT_PREFIXES = ("/accounts/", "/static/", "/fhir/")
WAIT_SECONDS = 10.0
POLL_SECONDS = 0.1
REDIRECTS = (301, 302, 303, 307, 308)

Handler = Callable[[HttpRequest], HttpResponse]
View = TypeVar("View", bound=Callable[..., Any])

_CLAIM = "_openipt_submission"  # the request attribute holding its ``_Claim``
_WITH_CHANGE = "submission_claimed_with_change"  # the view attribute ``claims_with_change`` sets


class AlreadySubmitted(Exception):
    """This POST's token was stored by another request first: its change was rolled back."""


@dataclass
class _Claim:
    key: str
    user_id: int | None
    path: str
    # "": nothing stored; "before": stored and committed before the view ran; "pending":
    # the view stores it with its change; "saved": it did.
    state: str = ""


def claims_with_change(view: View) -> View:
    """Mark a view that stores its token with its change (``submission_save``)."""
    setattr(view, _WITH_CHANGE, True)
    return view


def submission_save(request: HttpRequest | None, *, location: str) -> None:
    """Inside the write transaction of the change a ``@claims_with_change`` view makes:
    remember the POST's token as done, with the redirect its repeats get. Nothing for a
    request without a token. ``AlreadySubmitted`` (which rolls the change back) when another
    request with the same token stored it first."""
    claim: _Claim | None = getattr(request, _CLAIM, None)
    if claim is None or claim.state != "pending":
        return
    try:
        Submission.objects.create(
            key=claim.key, user_id=claim.user_id, path=claim.path,
            status=Submission.Status.DONE, location=location[:2000],
        )  # fmt: skip
    except IntegrityError as error:
        raise AlreadySubmitted from error
    claim.state = "saved"


def submission_key(request: HttpRequest) -> str | None:
    """The hashed token of a POST that carries one (None for everything else)."""
    if request.method != "POST" or request.path.startswith(EXEMPT_PREFIXES):
        return None
    token = request.headers.get(HEADER) or request.POST.get(FIELD, "")
    if not TOKEN.match(token):
        return None
    return hashlib.sha256(f"{request.path}\n{token}".encode()).hexdigest()


def _user_id(request: HttpRequest) -> int | None:
    user = getattr(request, "user", None)
    return user.pk if user is not None and user.is_authenticated else None


class SubmissionMiddleware:
    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        key = submission_key(request)
        if key is None:
            return self.get_response(request)
        claim = _Claim(key=key, user_id=_user_id(request), path=request.path[:300])
        setattr(request, _CLAIM, claim)
        try:
            response = self.get_response(request)
        except BaseException:
            if claim.state == "before":
                Submission.objects.filter(key=key).delete()
            raise
        if claim.state != "before":  # nothing stored, or stored with the view's change
            return response
        if response.status_code in REDIRECTS and response.has_header("Location"):
            Submission.objects.filter(key=key).update(
                status=Submission.Status.DONE, location=response["Location"][:2000]
            )
        else:
            Submission.objects.filter(key=key).delete()
        return response

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., Any],
        view_args: object,
        view_kwargs: object,
    ) -> HttpResponse | None:
        claim: _Claim | None = getattr(request, _CLAIM, None)
        if claim is None or claim.state:
            return None
        if getattr(view_func, _WITH_CHANGE, False):
            claim.state = "pending"
            return self._repeat(request, claim)  # None: not sent before, so run the view
        while True:
            try:
                with transaction.atomic():
                    Submission.objects.create(key=claim.key, user_id=claim.user_id, path=claim.path)
            except IntegrityError:
                answer = self._repeat(request, claim)
                if answer is None:  # the first attempt was refused or failed: this one runs
                    continue
                return answer
            claim.state = "before"
            return None

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        claim: _Claim | None = getattr(request, _CLAIM, None)
        if claim is None or not isinstance(exception, AlreadySubmitted):
            return None
        return self._repeat(request, claim)

    def _repeat(self, request: HttpRequest, claim: _Claim) -> HttpResponse | None:
        """The answer to a token sent before, once the first has finished; None when no
        such token is stored (never sent, or its first attempt was refused)."""
        deadline = time.monotonic() + WAIT_SECONDS
        while True:
            first = Submission.objects.filter(key=claim.key).first()
            if first is None:
                return None
            if first.user_id is not None and first.user_id != claim.user_id:
                return HttpResponse(status=400)
            if first.status == Submission.Status.DONE:
                return HttpResponseRedirect(first.location)
            if time.monotonic() >= deadline:
                return render(request, "errors/still_saving.html", status=409)
            time.sleep(POLL_SECONDS)


def forget_old(*, older_than_hours: int = 24) -> int:
    """Remove tokens older than a day (a repeat that late is a new submission)."""
    cutoff = timezone.now() - dt.timedelta(hours=older_than_hours)
    deleted, _ = Submission.objects.filter(created_at__lt=cutoff).delete()
    return deleted


class StillRunning(Exception):
    """The first request with this key has not finished within the wait."""


class KeyReused(Exception):
    """The key was sent before with another body: a client's mistake, never a replay."""


def run_once(
    key: str, *, user_id: int, path: str, run: Callable[[], str], fingerprint: str = ""
) -> tuple[str, bool]:
    """Run ``run`` once per ``key`` for this user: it returns where its result lives, which
    is remembered; a repeat of the key gets that location and runs nothing. Returns the
    location and whether this call ran. A repeat arriving while the first still runs waits
    for it (``StillRunning`` after ``WAIT_SECONDS``); a first call that failed leaves the
    key free for the retry. ``fingerprint`` (a hash of what was sent) must match the first
    call's, else ``KeyReused``: one key, one request."""
    hashed = hashlib.sha256(f"{path}\n{user_id}\n{key}".encode()).hexdigest()
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        try:
            with transaction.atomic():
                Submission.objects.create(
                    key=hashed, user_id=user_id, path=path[:300], fingerprint=fingerprint
                )
        except IntegrityError:
            first = Submission.objects.filter(key=hashed).first()
            if first is not None and first.fingerprint != fingerprint:
                raise KeyReused from None
            if first is not None and first.status == Submission.Status.DONE:
                return first.location, False
            if time.monotonic() >= deadline:
                raise StillRunning from None
            time.sleep(POLL_SECONDS)
            continue
        break
    try:
        location = run()
    except BaseException:
        Submission.objects.filter(key=hashed).delete()
        raise
    Submission.objects.filter(key=hashed).update(
        status=Submission.Status.DONE, location=location[:2000]
    )
    return location, True
