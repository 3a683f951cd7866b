"""Plausible dates and bounded text on every form (openipt/core/validators.py,
docs/quality.md R8).

For every page of the permission matrix that a persona may open, each POST form is sent
with otherwise plausible values and, one field at a time, a date field set to year 1 or
year 9999 and a text field set to a megabyte. No OpenIPT table may then hold such a date
or such a text, and no answer is a server error. Unit tests pin the ranges; view tests
show the refusal next to the field with the typing kept.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urljoin

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Cast, Length
from django.test import Client as HttpClient
from django.urls import reverse
from django.utils import timezone

from openipt.clients import validators as client_validators
from openipt.clients.models import Client, ConsentRecord
from openipt.core import validators as v
from openipt.treatment.models import Session
from tests.test_fuzz_forms import Form, hostile, post_forms
from tests.test_permission_matrix import MATRIX, OK, PERSONAS, _signed_in_as

MEGABYTE = "x" * 1_000_000
HOSTILE_DATES = {
    "year one": {"date": "0001-01-01", "datetime-local": "0001-01-01T00:00"},
    "year 9999": {"date": "9999-12-31", "datetime-local": "9999-12-31T23:30"},
}
TEXT_KINDS = {"text", "textarea", "search"}
# Text inputs that take a date: the client record's forms use plain boxes with a hint.
DATE_NAME = re.compile(r"date|_on$|birth|^dob$|^until$|^day$")
BIRTH_NAME = re.compile(r"birth|^dob$")
# Fields that must stay empty for the form to be accepted: the consultation form's honeypot,
# the questionnaires' quick-entry digits, a series' dates to skip, a repeat's count (no
# repeat is the first choice) and a problem area's second focus (the first is checked).
# Text boxes named like a phone number take one; password boxes a pass phrase.
LEAVE_EMPTY = re.compile(r"^website$|quick$|skip_dates$|^count$|^is_secondary$")
PHONE_NAME = re.compile(r"number$|phone")
PASS_PHRASE = "a long pass phrase, 4 the test"
STORED_TEXT_LIMIT = 500_000  # longer than any limit: only a hostile megabyte gets here
EARLIEST_STORED, LATEST_STORED = dt.date(1800, 1, 1), dt.date(3000, 1, 1)


def _is_date(name: str, kind: str) -> bool:
    return kind in ("date", "datetime-local") or (kind == "text" and bool(DATE_NAME.search(name)))


def plausible(form: Form) -> dict[str, Any]:
    """Every field with a value a careful person might type: dates are today (a date of
    birth in 1990), empty text boxes get a few words, files are left out."""
    data = hostile(form, "", set())
    today = timezone.localdate().isoformat()
    for name, kind, value in form.fields:
        if kind == "file":
            del data[name]
        elif LEAVE_EMPTY.search(name):
            data[name] = ""
        elif _is_date(name, kind):
            day = "1990-05-17" if BIRTH_NAME.search(name) else today
            data[name] = f"{day}T10:00" if kind == "datetime-local" else day
        elif kind == "password":
            data[name] = PASS_PHRASE
        elif kind in ("text", "tel") and PHONE_NAME.search(name):
            data[name] = value or "+44 20 7946 0000"
        elif kind == "text" and not value:
            data[name] = "A few words"
    return data


def variants(form: Form) -> Iterator[tuple[str, dict[str, Any]]]:
    """The plausible values with one field made implausible, for each field in turn."""
    base = plausible(form)
    for name, kind, _value in form.fields:
        if _is_date(name, kind):
            for label, payload in HOSTILE_DATES.items():
                typed = payload["datetime-local" if kind == "datetime-local" else "date"]
                yield f"{name}: {label}", {**base, name: typed}
        elif kind in TEXT_KINDS and not LEAVE_EMPTY.search(name):
            yield f"{name}: a megabyte", {**base, name: MEGABYTE}


def _bounds(field: models.Field[Any, Any]) -> tuple[Any, Any]:
    if isinstance(field, models.DateTimeField):
        zone = dt.UTC
        return (
            dt.datetime.combine(EARLIEST_STORED, dt.time(), zone),
            dt.datetime.combine(LATEST_STORED, dt.time(), zone),
        )
    return EARLIEST_STORED, LATEST_STORED


def implausible_rows() -> list[str]:
    """Rows of any OpenIPT table holding a date before 1800 or after 3000, or a text (or
    JSON) of half a megabyte or more: "app.Model.field" for each."""
    found = []
    for model in apps.get_models():
        if not model.__module__.startswith("openipt."):
            continue
        for field in model._meta.concrete_fields:
            rows = model._base_manager.all()
            if isinstance(field, models.DateField):  # DateTimeField included
                early, late = _bounds(field)
                rows = rows.filter(
                    models.Q(**{f"{field.name}__lt": early})
                    | models.Q(**{f"{field.name}__gt": late})
                )
            elif isinstance(field, models.CharField | models.TextField | models.JSONField):
                text = Cast(field.name, models.TextField())
                rows = rows.annotate(_length=Length(text)).filter(_length__gte=STORED_TEXT_LIMIT)
            else:
                continue
            if rows.exists():
                found.append(f"{model._meta.label}.{field.name}")
    return found


def _forms_of(name: str, personas: Any) -> tuple[HttpClient, Any, str, list[Form]]:
    route = MATRIX[name]
    persona = next((p for p, expected in route.expect.items() if expected == OK), None)
    if persona is None:
        pytest.skip("no persona opens this page")
    url = reverse(name, kwargs=route.kwargs(personas))
    user = PERSONAS[persona](personas)
    http = _signed_in_as(user)
    page = http.get(url)
    if "html" not in page.get("Content-Type", ""):
        pytest.skip("not an HTML page")
    forms = [  # signing in and out is allauth's, not a record
        form for form in post_forms(page.content.decode())
        if not urljoin(url, form.action or url).startswith("/accounts/")
    ]  # fmt: skip
    if not forms:
        pytest.skip("no form to send")
    return http, user, url, forms


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(MATRIX))
def test_no_form_stores_an_implausible_date_or_a_megabyte_of_text(name, personas):
    http, user, url, forms = _forms_of(name, personas)
    assert implausible_rows() == [], "the fixtures themselves hold implausible values"
    stored, server_errors = [], []
    for form in forms:
        target = urljoin(url, form.action) if form.action else url
        for label, data in variants(form):
            response = http.post(target, data)
            if response.status_code >= 500:
                server_errors.append((label, response.status_code))
            found = implausible_rows()
            if found:  # one finding is enough: later posts would all see the same row
                stored.append(f"{label} -> {', '.join(found)}")
                break
            if user is not None:
                http.force_login(user)  # a form may have ended the session
        if stored:
            break
    assert server_errors == [], f"{name} answered a server error: {server_errors}"
    assert stored == [], f"{name} stored an implausible value: {stored}"


# --- The sweep's own helpers -----------------------------------------------------------


def test_plausible_values_fill_dates_and_empty_text_and_variants_cover_every_field():
    form = Form(
        "/x/",
        [
            ("csrfmiddlewaretoken", "hidden", "t"),
            ("date_of_birth", "text", ""),
            ("consented_on", "text", "2026-01-01"),
            ("starts_at", "datetime-local", ""),
            ("name", "text", ""),
            ("website", "text", ""),
            ("notes", "textarea", "kept"),
            ("kind", "select", "b"),
        ],
    )
    data = plausible(form)
    today = timezone.localdate().isoformat()
    assert data["date_of_birth"] == "1990-05-17"
    assert data["consented_on"] == today
    assert data["starts_at"] == f"{today}T10:00"
    assert (data["name"], data["website"], data["notes"]) == ("A few words", "", "kept")
    labels = [label for label, _data in variants(form)]
    assert labels == [
        "date_of_birth: year one", "date_of_birth: year 9999",
        "consented_on: year one", "consented_on: year 9999",
        "starts_at: year one", "starts_at: year 9999",
        "name: a megabyte", "notes: a megabyte",
    ]  # fmt: skip
    by_label = dict(variants(form))
    assert by_label["starts_at: year 9999"]["starts_at"] == "9999-12-31T23:30"
    assert by_label["notes: a megabyte"]["notes"] == MEGABYTE
    assert by_label["notes: a megabyte"]["name"] == "A few words"


@pytest.mark.django_db
def test_the_scan_finds_a_stored_implausible_date_and_a_megabyte(personas):
    """The sweep would notice: rows written past the forms are found."""
    consent = ConsentRecord.objects.create(
        client=personas.dana,
        consented_on=dt.date(1, 1, 1),
        text_version="1",
        recorded_by=personas.alice,
    )
    assert "clients.ConsentRecord.consented_on" in implausible_rows()
    ConsentRecord.objects.filter(pk=consent.pk).update(consented_on=timezone.localdate())
    # A text column of any length on every database (a CharField is capped by PostgreSQL).
    Client.objects.filter(pk=personas.dana.pk).update(address=MEGABYTE)
    assert implausible_rows() == ["clients.Client.address"]


@pytest.mark.django_db
def test_plausible_values_are_stored_so_the_sweep_tests_real_saves(personas):
    """The consent form, filled the sweep's way, saves; the same with year 1 does not."""
    http = _signed_in_as(personas.alice)
    url = reverse("clients:consent-create", kwargs={"client_uuid": personas.dana.uuid})
    [form] = [
        f
        for f in post_forms(http.get(url).content.decode())
        if not f.action.startswith("/accounts/")
    ]
    before = ConsentRecord.objects.count()
    assert http.post(url, plausible(form)).status_code == 302
    assert ConsentRecord.objects.count() == before + 1
    variant = dict(variants(form))["consented_on: year one"]
    assert http.post(url, variant).status_code == 200
    assert ConsentRecord.objects.count() == before + 1


# --- The ranges ------------------------------------------------------------------------


def _refused(check: Any, value: Any) -> str:
    with pytest.raises(ValidationError) as caught:
        check(value)
    return str(caught.value.messages[0])


def test_clinical_dates_run_from_2000_to_about_two_years_ahead():
    today = timezone.localdate()
    v.validate_clinical_date(dt.date(2000, 1, 1))
    v.validate_clinical_date(today)
    v.validate_clinical_date(today + dt.timedelta(days=730))
    assert "Please check the year" in _refused(v.validate_clinical_date, dt.date(1999, 12, 31))
    assert "before 2000" in _refused(v.validate_clinical_date, dt.date(1, 1, 1))
    late = _refused(v.validate_clinical_date, today + dt.timedelta(days=800))
    assert "more than two years ahead" in late
    assert (today + v.FUTURE_HORIZON).isoformat() in late
    assert "two years" in _refused(v.validate_clinical_date, dt.date(9999, 12, 31))


def test_datetimes_are_judged_by_their_day_on_the_practice_clock():
    v.validate_clinical_date(timezone.now())
    v.validate_past_clinical_date(timezone.now())
    early = dt.datetime(1999, 12, 31, 23, 0, tzinfo=dt.UTC)
    with pytest.raises(ValidationError):
        v.validate_clinical_date(early)
    with pytest.raises(ValidationError):
        v.validate_clinical_date(dt.datetime(9999, 12, 31, 23, 30, tzinfo=dt.UTC))
    with timezone.override("Europe/Berlin"), pytest.raises(ValidationError):
        # The practice's clock would carry this past the year 9999: judged by its own day.
        v.validate_clinical_date(dt.datetime(9999, 12, 31, 23, 30, tzinfo=dt.UTC))


def test_past_facts_are_not_in_the_future_nor_before_2000():
    today = timezone.localdate()
    v.validate_past_clinical_date(today)
    v.validate_past_clinical_date(dt.date(2000, 1, 1))
    future = _refused(v.validate_past_clinical_date, today + dt.timedelta(days=1))
    assert future == "This date cannot be in the future."
    assert "before 2000" in _refused(v.validate_past_clinical_date, dt.date(1999, 1, 1))


def test_birth_and_life_event_dates_run_from_1900():
    today = timezone.localdate()
    v.validate_birth_date(dt.date(1900, 1, 1))
    assert "before 1900" in _refused(v.validate_birth_date, dt.date(1899, 12, 31))
    assert "future" in _refused(v.validate_birth_date, today + dt.timedelta(days=1))
    v.validate_life_event_date(dt.date(1950, 6, 1))
    v.validate_life_event_date(today + dt.timedelta(days=365))
    assert "before 1900" in _refused(v.validate_life_event_date, dt.date(1, 1, 1))
    assert "two years" in _refused(v.validate_life_event_date, dt.date(9999, 12, 31))


def test_the_client_validators_keep_their_names_and_use_the_shared_ranges():
    today = timezone.localdate()
    client_validators.validate_birth_date(dt.date(1950, 1, 1))
    assert "1900" in _refused(client_validators.validate_birth_date, dt.date(1, 1, 1))
    client_validators.validate_not_future(today)
    assert "future" in _refused(client_validators.validate_not_future, today + dt.timedelta(1))
    assert "2000" in _refused(client_validators.validate_not_future, dt.date(1, 1, 1))


def test_text_limits_are_named_and_refuse_in_plain_words():
    assert (v.SHORT_LINE, v.PARAGRAPH, v.LONG_NOTE) == (200, 5_000, 20_000)
    [limit] = v.text_limit(v.PARAGRAPH)
    limit("x" * v.PARAGRAPH)
    message = _refused(limit, "x" * (v.PARAGRAPH + 1))
    assert message == "Please shorten this to at most 5000 characters (it has 5001)."
    assert limit == v.TextLimit(v.PARAGRAPH)  # deconstructible: migrations compare them


@pytest.mark.django_db
def test_the_models_refuse_too(personas):
    """``full_clean`` refuses what a form would, for services that build records."""
    consent = ConsentRecord(
        client=personas.dana,
        consented_on=dt.date(1, 1, 1),
        text_version="1",
        recorded_by=personas.alice,
    )
    with pytest.raises(ValidationError) as caught:
        consent.full_clean()
    assert "consented_on" in caught.value.message_dict
    session = Session(progress_note="x" * (v.LONG_NOTE + 1))
    with pytest.raises(ValidationError) as caught:
        session.full_clean()
    assert "progress_note" in caught.value.message_dict
    assert Session._meta.get_field("progress_note").formfield().max_length == v.LONG_NOTE


# --- Next to the field, with the typing kept -----------------------------------------


def _error_next_to(html: str, field: str) -> str:
    """The error text rendered with ``field`` (the form kit's ``id_<field>_error``)."""
    match = re.search(rf'id="id_{field}_error"[^>]*>(.*?)</', html, re.S)
    assert match, f"no error shown next to {field}"
    return match.group(1)


@pytest.mark.django_db
def test_a_year_one_consent_date_is_refused_next_to_the_field_and_kept(personas):
    http = _signed_in_as(personas.alice)
    url = reverse("clients:consent-create", kwargs={"client_uuid": personas.dana.uuid})
    response = http.post(
        url, {"kind": "treatment", "consented_on": "0001-01-01", "text_version": "2026-1"}
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "Please check the year" in _error_next_to(html, "consented_on")
    assert 'value="0001-01-01"' in html
    assert 'value="2026-1"' in html


@pytest.mark.django_db
def test_an_overlong_note_is_refused_next_to_the_field_and_kept(personas):
    http = _signed_in_as(personas.alice)
    url = reverse("clients:consent-create", kwargs={"client_uuid": personas.dana.uuid})
    long_note = "a" * 501
    today = timezone.localdate().isoformat()
    response = http.post(
        url,
        {"kind": "treatment", "consented_on": today, "text_version": "2026-1", "notes": long_note},
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "at most 500 characters" in _error_next_to(html, "notes")
    assert f">{long_note}</textarea>" in html or f">\n{long_note}</textarea>" in html
    assert 'maxlength="500"' in html


@pytest.mark.django_db
def test_a_course_record_takes_its_limit_from_the_model_and_keeps_the_typing(personas):
    """A model-bound form (the contract): the model's limit sizes the box, and text over it
    is refused next to the field without losing what was typed."""
    http = _signed_in_as(personas.alice)
    url = reverse("treatment:contract", kwargs=MATRIX["treatment:contract"].kwargs(personas))
    page = http.get(url).content.decode()
    assert re.search(r'<textarea name="goals_summary"[^>]*maxlength="5000"', page)
    [form] = [f for f in post_forms(page) if f.action in ("", url)]
    typed = "Feel closer to my sister. " * 200  # 5,200 characters
    response = http.post(url, {**plausible(form), "goals_summary": typed})
    assert response.status_code == 200
    html = response.content.decode()
    assert "at most 5000 characters" in _error_next_to(html, "goals_summary")
    assert typed.strip() in html
    year_one = http.post(url, {**plausible(form), "agreed_on": "0001-01-01"}).content.decode()
    assert "Please check the year" in _error_next_to(year_one, "agreed_on")
    assert 'value="0001-01-01"' in year_one
