"""A form sent twice — in sequence or at the same instant — saves once and answers both
times with the first result (openipt/core/submissions.py)."""

from __future__ import annotations

import datetime as dt
import re
import threading

import pytest
from django.db import connection, connections
from django.test import Client as HttpClient
from django.urls import reverse
from django.utils import timezone

from openipt.core import submissions
from openipt.core.models import Submission
from openipt.engagement.models import ConsultationRequest, DiaryEntry, Message
from openipt.portal.tests.test_consultation import valid

TOKEN = re.compile(r'name="_submission" value="([^"]+)"')


def token_from(http: HttpClient, url: str) -> str:
    """The one-time token of the form on ``url``, as a browser would send it back."""
    html = http.get(url).content.decode()
    found = TOKEN.findall(html)
    assert found, f"no submission token on {url}"
    return str(found[-1])


def diary(**overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "entry_date": timezone.localdate().isoformat(), "mood": "4",
        "with_whom": "my sister", "what_happened": "We argued about the flat.",
    }  # fmt: skip
    return data | overrides


@pytest.mark.django_db
def test_every_form_carries_a_fresh_token(dana_client):
    url = reverse("portal:diary-new")
    assert token_from(dana_client, url) != token_from(dana_client, url)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("url_name", "data", "model"),
    [
        ("portal:diary-new", diary(), DiaryEntry),
        ("portal:messages", {"body": "Can we talk about Sunday?"}, Message),
    ],
)
def test_a_portal_form_sent_twice_saves_once(dana_client, url_name, data, model):
    url = reverse(url_name)
    token = token_from(dana_client, url)

    first = dana_client.post(url, {**data, "_submission": token})
    again = dana_client.post(url, {**data, "_submission": token})

    assert first.status_code == again.status_code == 302
    assert again["Location"] == first["Location"]
    assert model.objects.count() == 1


@pytest.mark.django_db
def test_the_public_consultation_form_sent_twice_files_one_request(client, personas):
    url = f"/consultation/?practice={personas.practice.uuid}"
    token = token_from(client, url)
    for _ in range(2):
        response = client.post(url, {**valid(), "_submission": token})
        assert response["Location"] == reverse("portal:consultation-thanks")
    assert ConsultationRequest.objects.count() == 1


@pytest.mark.django_db
def test_a_refused_form_can_be_corrected_and_sent_with_the_same_token(dana_client):
    url = reverse("portal:diary-new")
    token = token_from(dana_client, url)

    refused = dana_client.post(url, {**diary(mood=""), "_submission": token})
    assert refused.status_code == 200
    assert not Submission.objects.exists()  # forgotten: nothing was saved
    saved = dana_client.post(url, {**diary(), "_submission": token})
    assert saved.status_code == 302
    assert DiaryEntry.objects.count() == 1


@pytest.mark.django_db
def test_a_token_belongs_to_the_person_who_sent_it(dana_client, erin_user):
    url = reverse("portal:diary-new")
    token = token_from(dana_client, url)
    dana_client.post(url, {**diary(), "_submission": token})
    # The same token on another form is a new submission (bound to the form's address).
    elsewhere = dana_client.post(reverse("portal:messages"), {"body": "Hi", "_submission": token})
    assert elsewhere.status_code == 302
    assert Message.objects.count() == 1

    erin = HttpClient()
    erin.force_login(erin_user)
    replay = erin.post(url, {**diary(), "_submission": token})

    assert replay.status_code == 400  # neither Dana's redirect nor a second entry
    assert DiaryEntry.objects.count() == 1


@pytest.mark.django_db
def test_an_api_client_may_send_the_token_as_an_idempotency_key(dana_client):
    url = reverse("portal:diary-new")
    headers = {"Idempotency-Key": "retry-safe-0123456789abcdef"}
    for _ in range(2):
        assert dana_client.post(url, diary(), headers=headers).status_code == 302
    assert DiaryEntry.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_same_form_sent_at_the_same_instant_saves_once(dana_user):
    if connection.vendor == "sqlite":
        pytest.skip(
            "the SQLite test database lives in memory with a shared cache, whose table locks "
            "refuse a second writer at once instead of waiting as the file database does; "
            "the PostgreSQL run sends the two requests at the same instant"
        )
    url = reverse("portal:diary-new")
    browsers = [HttpClient(), HttpClient()]
    for browser in browsers:
        browser.force_login(dana_user)
    token = token_from(browsers[0], url)
    start = threading.Barrier(2)
    answers: list[str] = []

    failures: list[BaseException] = []

    def send(browser: HttpClient) -> None:
        start.wait()
        try:
            response = browser.post(url, {**diary(), "_submission": token})
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
    assert DiaryEntry.objects.count() == 1
    assert answers == [reverse("portal:diary"), reverse("portal:diary")]


@pytest.mark.django_db
def test_tokens_are_forgotten_after_a_day():
    Submission.objects.create(key="a" * 64, path="/x/", status="done", location="/y/")
    Submission.objects.update(created_at=timezone.now() - dt.timedelta(hours=25))
    Submission.objects.create(key="b" * 64, path="/x/")
    assert submissions.forget_old() == 1
    assert list(Submission.objects.values_list("key", flat=True)) == ["b" * 64]
