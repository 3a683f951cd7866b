"""No 500 on any input: every form of every page in the permission matrix, sent with
hostile values, is answered with a page or a refusal — never a server error.

For each URL that a persona may open (the matrix says 200), the test opens it as that
persona, reads every ``<form method="post">`` on it, and sends each form once per hostile
payload: out-of-range integers, extreme dates, a NUL byte, a lone surrogate, very long
text, and a deeply nested JSON file in every file field. Hidden fields keep their values
(so the submission reaches the view). The Django test client re-raises a view's exception,
so any 500 fails with its traceback.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import quote, urljoin

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client as HttpClient
from django.urls import reverse

from openipt.testing.personas import Personas
from tests.test_permission_matrix import MATRIX, OK, PERSONAS, _signed_in_as

# Values that have caused 500s before (hostile input over 47 forms), and which fields get
# them: every other field keeps a plausible value, so the form gets as far as saving.
NUMBERS = {"number", "text", "range"}
DATES = {"date", "datetime-local", "text"}
TEXT = {"text", "textarea", "email", "search", "tel", "url", "password"}
PAYLOADS: dict[str, tuple[str | dict[str, str], set[str]]] = {
    "huge integer": ("9" * 40, NUMBERS),
    "negative": ("-99999999999", NUMBERS),
    "year one": ({"date": "0001-01-01", "datetime-local": "0001-01-01T00:00"}, DATES),
    "year 9999": ({"date": "9999-12-31", "datetime-local": "9999-12-31T23:30"}, DATES),
    "NUL byte": ("before\x00after", TEXT),
    "long text": ("x" * 1_000_000, {"textarea"}),
    "long line": ("x" * 100_000, TEXT - {"textarea"}),
}
LONE_SURROGATE = "%ED%A0%80"  # UTF-8 bytes of U+D800, which no valid text contains
NESTED_JSON = b"[" * 100_000 + b"]" * 100_000
SKIP_INPUT_TYPES = {"submit", "button", "reset", "image"}
PLAUSIBLE = {
    "number": "1", "date": "2026-12-03", "time": "10:00", "datetime-local": "2026-12-03T10:00",
    "email": "someone@example.test", "tel": "+44 20 7946 0000", "url": "https://example.test/",
}  # fmt: skip


@dataclass
class Form:
    action: str
    fields: list[tuple[str, str, str]] = field(default_factory=list)  # name, kind, value


class FormReader(HTMLParser):
    """The POST forms of a page: each field's name, kind (input type, select, textarea) and
    a plausible value (its own, a select's first real option, or one that fits its kind)."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []
        self._form: Form | None = None
        self._select: int | None = None
        self._textarea: int | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and a.get("method", "get").lower() == "post":
            self._form = Form(a.get("action", ""))
            self.forms.append(self._form)
            return
        form = self._form
        if form is None:
            return
        if tag == "option" and self._select is not None:
            name, kind, value = form.fields[self._select]
            if not value and a.get("value"):
                form.fields[self._select] = (name, kind, a["value"])
            return
        if not a.get("name") or a.get("name") == "_submission":
            return  # each payload is a new submission: no one-time token
        kind = tag if tag in ("select", "textarea") else a.get("type", "text")
        if kind in SKIP_INPUT_TYPES:
            return
        if kind in ("checkbox", "radio"):
            if any(n == a["name"] for n, _k, _v in form.fields):
                return  # one value per group is enough
            value = a.get("value", "on") or "on"
        else:
            value = a.get("value", "") or PLAUSIBLE.get(kind, "")
        form.fields.append((a["name"], kind, value))
        if kind == "select":
            self._select = len(form.fields) - 1
        if kind == "textarea":
            self._textarea = len(form.fields) - 1

    def handle_data(self, data: str) -> None:
        if self._form is not None and self._textarea is not None:
            name, kind, value = self._form.fields[self._textarea]
            self._form.fields[self._textarea] = (name, kind, value + data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea" and self._form is not None and self._textarea is not None:
            name, kind, value = self._form.fields[self._textarea]
            self._form.fields[self._textarea] = (name, kind, value.strip() or "A few words.")
            self._textarea = None


def post_forms(html: str) -> list[Form]:
    reader = FormReader()
    reader.feed(html)
    return reader.forms


def hostile(form: Form, payload: str | dict[str, str], kinds: set[str]) -> dict[str, Any]:
    """The payload in every field of a fitting kind; every other field plausible."""
    data: dict[str, Any] = {}
    for name, kind, value in form.fields:
        if kind == "file":
            data[name] = SimpleUploadedFile("nested.json", NESTED_JSON, "application/json")
        elif kind in kinds:
            data[name] = payload.get(kind, value) if isinstance(payload, dict) else payload
        else:
            data[name] = value
    return data


def surrogate_body(form: Form) -> str:
    return "&".join(
        f"{quote(name)}={LONE_SURROGATE if kind in TEXT else quote(value)}"
        for name, kind, value in form.fields
        if kind != "file"
    )


def pages(personas: Personas) -> Iterator[tuple[str, str, str]]:
    """(URL name, persona, URL) for every page a persona may open."""
    for name, route in sorted(MATRIX.items()):
        for persona, expected in route.expect.items():
            if expected == OK:
                yield name, persona, reverse(name, kwargs=route.kwargs(personas))
                break  # one persona per page: the forms are the same for everyone


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(MATRIX))
def test_no_form_answers_500_whatever_it_is_sent(name, personas):
    route = MATRIX[name]
    persona = next((p for p, expected in route.expect.items() if expected == OK), None)
    if persona is None:
        pytest.skip("no persona opens this page")
    url = reverse(name, kwargs=route.kwargs(personas))
    user = PERSONAS[persona](personas)
    http: HttpClient = _signed_in_as(user)
    page = http.get(url)
    if "html" not in page.get("Content-Type", ""):
        pytest.skip("not an HTML page")
    forms = [  # signing out (every page's header) is not what is being tested
        form for form in post_forms(page.content.decode())
        if not urljoin(url, form.action or url).startswith("/accounts/")
    ]  # fmt: skip
    if not forms:
        pytest.skip("no form to send")
    answered = []
    for form in forms:
        target = urljoin(url, form.action) if form.action else url
        for label, (payload, kinds) in PAYLOADS.items():
            response = http.post(target, hostile(form, payload, kinds))
            answered.append((label, response.status_code))
            if user is not None:
                http.force_login(user)  # a form may have ended the session (e.g. a time-out)
        response = http.post(
            target, surrogate_body(form), content_type="application/x-www-form-urlencoded"
        )
        answered.append(("lone surrogate", response.status_code))
    server_errors = [(label, status) for label, status in answered if status >= 500]
    assert server_errors == [], f"{name} answered a server error: {server_errors}"


def test_the_form_reader_finds_fields_with_plausible_values():
    html = """<form method="post" action="/x/" enctype="multipart/form-data">
      <input type="hidden" name="csrfmiddlewaretoken" value="t">
      <input type="hidden" name="_submission" value="one-time-token-0123">
      <input name="title" value="a"><input type="number" name="minutes">
      <textarea name="note"> kept </textarea><textarea name="empty"></textarea>
      <select name="kind"><option value="">Choose</option><option value="b">B</option></select>
      <input type="radio" name="mood" value="3"><input type="radio" name="mood" value="4">
      <input type="file" name="upload"><button type="submit">Save</button></form>
      <form method="get"><input name="q"></form>"""
    [form] = post_forms(html)
    assert form.action == "/x/"
    assert form.fields == [
        ("csrfmiddlewaretoken", "hidden", "t"), ("title", "text", "a"),
        ("minutes", "number", "1"), ("note", "textarea", "kept"),
        ("empty", "textarea", "A few words."), ("kind", "select", "b"),
        ("mood", "radio", "3"), ("upload", "file", ""),
    ]  # fmt: skip
    data = hostile(form, "9" * 40, NUMBERS)
    assert (data["title"], data["minutes"]) == ("9" * 40, "9" * 40)
    assert data["note"] == "kept"
    assert isinstance(data["upload"], SimpleUploadedFile)
    assert hostile(form, {"date": "0001-01-01"}, DATES)["title"] == "a"
    assert surrogate_body(form).startswith("csrfmiddlewaretoken=t&title=%ED%A0%80&minutes=1")


def _row_counts() -> dict[str, int]:
    """Rows in every OpenIPT table (the submission tokens and sessions aside)."""
    from django.apps import apps

    return {
        model._meta.label: model._default_manager.count()
        for model in apps.get_models()
        if model.__module__.startswith("openipt.") and model._meta.label != "core.Submission"
    }


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(MATRIX))
def test_every_form_sent_twice_saves_once(name, personas):
    """The same rendered form sent twice (a double click, a browser retry): the second
    answer is the first one's redirect and no table gains a row (openipt/core/submissions.py).
    Plausible values are sent; a form they do not satisfy is refused both times."""
    route = MATRIX[name]
    persona = next((p for p, expected in route.expect.items() if expected == OK), None)
    if persona is None:
        pytest.skip("no persona opens this page")
    url = reverse(name, kwargs=route.kwargs(personas))
    http: HttpClient = _signed_in_as(PERSONAS[persona](personas))
    page = http.get(url)
    if "html" not in page.get("Content-Type", ""):
        pytest.skip("not an HTML page")
    html = page.content.decode()
    tokens = re.findall(r'name="_submission" value="([^"]+)"', html)
    forms = [
        form for form in post_forms(html)
        if not urljoin(url, form.action or url).startswith("/accounts/")
    ]  # fmt: skip
    if not forms:
        pytest.skip("no form to send")
    form = forms[0]
    token = tokens[[f.action for f in post_forms(html)].index(form.action)] if tokens else ""
    data = {**hostile(form, "", set()), "_submission": token}
    target = urljoin(url, form.action) if form.action else url
    first = http.post(target, data)
    if first.status_code not in (301, 302, 303):
        pytest.skip(f"plausible values were refused ({first.status_code})")
    before = _row_counts()
    again = http.post(target, data)
    assert again.status_code == first.status_code
    assert again["Location"] == first["Location"]
    assert _row_counts() == before
