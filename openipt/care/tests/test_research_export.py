"""The de-identified research export (docs/adr/0019-research-export.md): what leaves the
practice, what never does, and the check on small groups."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import uuid
import zipfile
from collections.abc import Iterator
from typing import Any

import pytest
from django.apps import apps
from django.db import models
from django.test import Client as HttpClient
from django.urls import reverse

from openipt.accounts.models import Practice
from openipt.accounts.research_key import practice_research_key
from openipt.audit.models import AuditEvent
from openipt.care import research_export as research
from openipt.clients.models import Client
from openipt.measures import services as measures
from openipt.measures.models import Administration, Instrument
from openipt.testing.management.commands.seed_bench import PRACTICE_NAME
from openipt.testing.personas import Personas, make_client, make_personas, make_staff
from openipt.testing.tests.test_seed_bench import seed
from openipt.treatment import services as treatment
from openipt.treatment.models import Course, ProblemArea, TimelineEvent
from openipt.treatment.tests.factories import make_course, make_person, make_session

pytestmark = pytest.mark.django_db

URL = "research:export"
CANARY = "Canary free text that must never leave"
ALL_NOT_AT_ALL = {str(n): "LA6568-5" for n in range(1, 10)}  # PHQ-9, every item "not at all"


def download(user: Any, **post: str) -> Any:
    http = HttpClient()
    http.force_login(user)
    return http.post(reverse(URL), post)


def unzip(response: Any) -> dict[str, str]:
    body = b"".join(response.streaming_content)
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        return {name: archive.read(name).decode("utf-8") for name in archive.namelist()}


def rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def bench_admin() -> Any:
    practice = Practice.objects.get(name=PRACTICE_NAME)
    return make_staff(practice, "research-admin@bench.test", "Research Admin", admin=True)


# --- nothing identifying leaves -------------------------------------------------------------

# Free text in JSON: every string inside these fields (answers: all but the listed codes).
FREE_JSON = {
    ("treatment", "problemarea", "details"),
    ("treatment", "technique", "details"),
    ("measures", "administration", "answers"),
    ("measures", "administration", "draft_answers"),
}
# Text columns that hold codes the export may carry (or values of no client).
CODE_COLUMNS = {
    ("measures", "administration", "band"),  # a band code of the questionnaire
    ("measures", "administration", "scoring_version"),
    ("accounts", "user", "password"),
}
SEARCHED_APPS = ("clients", "treatment", "measures", "scheduling", "engagement")


def _text_fields(model: type[models.Model]) -> Iterator[models.Field[Any, Any]]:
    for field in model._meta.concrete_fields:
        key = (model._meta.app_label, model._meta.model_name, field.name)
        if key in CODE_COLUMNS or field.choices:
            continue
        if isinstance(field, models.CharField | models.TextField) or key in FREE_JSON:
            yield field


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def identifying_values() -> set[str]:
    """Every name, contact, identifier and free-text value stored for clients and their care,
    the names and emails of staff and practices, and every record's UUID."""
    found: set[str] = set()
    for label in SEARCHED_APPS:
        for model in apps.get_app_config(label).get_models():
            if model is Instrument:
                continue  # questionnaire definitions: codes the export carries on purpose
            for field in _text_fields(model):
                for value in model._default_manager.values_list(field.name, flat=True):
                    found.update(_strings(value))
            uuids = model._default_manager.values_list("uuid", flat=True)
            found.update(str(u) for u in uuids)
    for model in (apps.get_model("accounts", "User"), Practice):
        for field in _text_fields(model):
            found.update(model.objects.values_list(field.name, flat=True))
    listed = {
        option.code
        for instrument in Instrument.objects.all()
        for item in instrument.parsed.items
        for option in item.options
    }
    found -= listed
    # Three letters or more: shorter ones ("Mr", "en") would match any code by chance.
    return {value.strip() for value in found if len(value.strip()) >= 3}


def add_canaries(personas: Personas) -> None:
    """Free text in every kind of place on Dana's course, and in questionnaire answers."""
    course = make_course(
        personas.alice,
        personas.dana,
        concerns_other=CANARY + " (concern)",
        prescriber="Dr Prescriber Canary",
        participant_names="Canary Partner Name",
        presenting_concerns=("depression",),
    )
    make_session(
        personas.alice, course, 1, progress_note=CANARY + " (note)", focus=CANARY + " (focus)"
    )
    make_person(personas.alice, course, "Inventory Canary Person", support=CANARY + " (support)")
    treatment.timeline_event_create(
        actor=personas.alice,
        course=course,
        data=treatment.TimelineEventData(
            date=dt.date(2025, 3, 1), kind="death", description=CANARY + " (timeline)"
        ),
    )
    treatment.problem_area_create(
        actor=personas.alice,
        course=course,
        area="grief",
        data=treatment.ProblemAreaData(is_primary=True, evidence=CANARY + " (evidence)"),
    )
    Client.objects.filter(pk=personas.dana.pk).update(
        email="dana.canary@example.test", phone="07700 900123", address="1 Canary Row"
    )
    given = measures.administration_enter(
        actor=personas.alice,
        course=course,
        instrument=Instrument.objects.get(code="PHQ-9", practice=None),
        answers=ALL_NOT_AT_ALL,
    )
    answers = {**given.answers, "1": CANARY + " (answer)", "free-note": CANARY + " (extra)"}
    Administration.objects.filter(pk=given.pk).update(answers=answers)


def test_the_export_of_a_seeded_practice_holds_no_identifying_value(settings):
    settings.OPENIPT_EXPORT_MIN_K = 1  # every course in full: the strictest search
    seed(clients=12)
    admin = bench_admin()
    personas = make_personas()
    add_canaries(personas)
    files = {
        **unzip(download(admin)),
        **{f"dana/{n}": t for n, t in unzip(download(personas.adam)).items()},
    }
    assert set(files) >= {"courses.csv", "administrations.csv", "data_dictionary.csv"}
    assert rows(files["courses.csv"]), "the seeded practice has courses to export"
    assert rows(files["administrations.csv"])
    values = identifying_values()
    assert CANARY + " (answer)" in values  # the search covers answers, notes and contacts
    assert "dana.canary@example.test" in values
    assert TimelineEvent.objects.exists()
    assert ProblemArea.objects.exists()
    data = {name: text for name, text in files.items() if not name.endswith("dictionary.csv")}
    leaked = sorted(
        (value, name) for value in values for name, text in data.items() if value in text
    )
    assert leaked == []
    # The dictionary is fixed text, never built from the practice's records.
    expected = [["file", "column", "meaning", "values"]] + [
        [name, *entry] for name, entry_list in research.DICTIONARY.items() for entry in entry_list
    ]
    assert list(csv.reader(io.StringIO(files["data_dictionary.csv"]))) == expected


def test_only_listed_answer_codes_leave(personas):
    add_canaries(personas)
    course = Course.objects.get(client=personas.dana)
    key = practice_research_key(personas.practice.pk)
    export = research.research_export(practice_id=personas.practice.pk, key=key, k=1)
    (row,) = export.administrations
    assert json.loads(row.answers) == {str(n): "LA6568-5" for n in range(2, 10)}
    assert (row.instrument, row.total, row.session_number) == ("PHQ-9", 0, None)
    Administration.objects.filter(course=course).update(answers=ALL_NOT_AT_ALL)
    export = research.research_export(practice_id=personas.practice.pk, key=key, k=1)
    assert json.loads(export.administrations[0].answers) == ALL_NOT_AT_ALL


# --- stable pseudonyms, shifted dates -------------------------------------------------------


def test_the_same_client_has_the_same_pseudonym_in_two_exports(settings):
    settings.OPENIPT_EXPORT_MIN_K = 1
    seed(clients=12)
    admin = bench_admin()
    first = rows(unzip(download(admin))["courses.csv"])
    second = rows(unzip(download(admin))["courses.csv"])
    assert first == second
    clients = Client.objects.filter(courses__isnull=False).distinct().count()
    assert len({row["client"] for row in first}) == clients
    assert all(len(row["client"]) == research.PSEUDONYM_LENGTH for row in first)
    # Without the practice's key the pseudonym cannot be made: another key gives another one.
    some = Client.objects.first()
    assert some is not None
    stored = practice_research_key(some.practice_id)
    assert research.pseudonym(stored, some.uuid) != research.pseudonym(b"x" * 32, some.uuid)
    assert str(some.uuid) not in json.dumps(first)


def test_dates_move_by_one_offset_per_client_and_intervals_are_kept(settings):
    settings.OPENIPT_EXPORT_MIN_K = 1
    seed(clients=12)
    practice = Practice.objects.get()
    key = practice_research_key(practice.pk)
    export = research.research_export(practice_id=practice.pk, key=key, k=1)
    by_pseudonym = {research.pseudonym(key, c.uuid): c for c in Client.objects.all()}
    for row in export.courses:
        client = by_pseudonym[row.client]
        shift = research.date_shift(key, client.uuid)
        assert abs(shift.days) <= research.MAX_SHIFT_DAYS
        real = Course.objects.get(
            client=client, start_date=dt.date.fromisoformat(row.start_date) - shift
        )
        if real.ended_on:
            shifted = dt.date.fromisoformat(row.end_date) - dt.date.fromisoformat(row.start_date)
            assert shifted == real.ended_on - real.start_date
        assert row.age_band == research.age_band(client.date_of_birth, real.start_date)
    shifts = {research.date_shift(key, c.uuid).days for c in Client.objects.all()}
    assert len(shifts) > 1  # an offset per client, not one for everybody
    starts = {row.course_id: dt.date.fromisoformat(row.start_date) for row in export.courses}
    for given in export.administrations:
        gap = dt.date.fromisoformat(given.completed_on) - starts[given.course_id]
        assert gap.days == given.days_from_course_start


@pytest.mark.parametrize(
    ("born", "on", "band"),
    [
        (dt.date(1990, 5, 17), dt.date(2025, 5, 16), "30-39"),
        (dt.date(1990, 5, 17), dt.date(2030, 5, 16), "30-39"),
        (dt.date(1990, 5, 17), dt.date(2030, 5, 17), "40-49"),
        (dt.date(2010, 1, 1), dt.date(2025, 1, 1), "10-19"),
        (dt.date(1930, 1, 1), dt.date(2025, 1, 1), "90+"),
    ],
)
def test_age_bands(born, on, band):
    assert research.age_band(born, on) == band


def test_a_key_is_made_once_and_kept_sealed(personas):
    first = practice_research_key(personas.practice.pk)
    assert practice_research_key(personas.practice.pk) == first
    sealed = Practice.objects.get(pk=personas.practice.pk).research_key
    assert sealed.startswith("fernet:")
    assert first.hex() not in sealed
    assert practice_research_key(personas.other_practice.pk) != first


# --- the check on small groups --------------------------------------------------------------

MIDYEAR = dt.date(2025, 7, 2)  # any shift of up to 182 days stays within 2025


def courses_in_one_group(personas: Personas, count: int, fmt: str = "ipt") -> None:
    for n in range(count):
        client = make_client(personas.practice, personas.alice, given=f"Group{n}", family=fmt)
        make_course(personas.alice, client, format=fmt, start_date=MIDYEAR)


def test_a_group_smaller_than_k_refuses_the_export(personas, settings):
    settings.OPENIPT_EXPORT_MIN_K = 5
    courses_in_one_group(personas, 5)
    make_course(personas.alice, personas.dana, format="ipt_b", start_date=MIDYEAR)
    http = HttpClient()
    http.force_login(personas.adam)
    page = http.get(reverse(URL))
    assert page.status_code == 200
    assert "1 combination is shared by fewer than 5 courses" in page.content.decode()
    before = AuditEvent.objects.filter(action=AuditEvent.Action.EXPORT).count()
    refused = http.post(reverse(URL))
    assert refused.status_code == 409
    assert "Nothing was exported" in refused.content.decode()
    # Suppressing one course would still leave a group of one.
    assert http.post(reverse(URL), {"suppress": "1"}).status_code == 409
    assert AuditEvent.objects.filter(action=AuditEvent.Action.EXPORT).count() == before


def test_suppression_hides_the_small_groups_details(personas, settings):
    settings.OPENIPT_EXPORT_MIN_K = 3
    courses_in_one_group(personas, 3)
    courses_in_one_group(personas, 2, fmt="ipt_b")
    make_course(personas.alice, personas.dana, format="ipt_g", start_date=MIDYEAR)
    assert download(personas.adam).status_code == 409
    courses = rows(unzip(download(personas.adam, suppress="1"))["courses.csv"])
    hidden = [row for row in courses if row["format"] == research.SUPPRESSED]
    assert len(hidden) == 3
    assert all(row["age_band"] == row["start_date"] == research.SUPPRESSED for row in hidden)
    assert {row["format"] for row in courses} == {"ipt", research.SUPPRESSED}


def test_k_passes_when_every_group_is_large_enough(personas, settings):
    settings.OPENIPT_EXPORT_MIN_K = 5
    courses_in_one_group(personas, 5)
    check = research.export_check(
        research.course_rows(personas.practice.pk, practice_research_key(personas.practice.pk)),
        5,
    )
    assert check.allowed
    assert check.courses == 5


# --- who may export, and the audit ----------------------------------------------------------


def test_an_administrator_exports_only_their_own_practice(personas, settings):
    settings.OPENIPT_EXPORT_MIN_K = 1
    make_course(personas.alice, personas.dana)
    make_course(personas.charlie, personas.erin)
    hilltop_admin = make_staff(
        personas.other_practice, "admin@hilltop.test", "Hilltop Admin", admin=True
    )
    courses = rows(unzip(download(hilltop_admin))["courses.csv"])
    key = practice_research_key(personas.other_practice.pk)
    assert [row["client"] for row in courses] == [research.pseudonym(key, personas.erin.uuid)]
    riverside = practice_research_key(personas.practice.pk)
    assert research.pseudonym(riverside, personas.dana.uuid) not in json.dumps(courses)


@pytest.mark.parametrize("who", ["alice", "bob", "charlie"])
def test_nobody_but_an_administrator_reaches_the_export(personas, who):
    http = HttpClient()
    http.force_login(getattr(personas, who))
    assert http.get(reverse(URL)).status_code == 404
    assert http.post(reverse(URL)).status_code == 404


def test_a_download_is_one_export_event_that_names_no_client(personas, settings):
    settings.OPENIPT_EXPORT_MIN_K = 1
    make_course(personas.alice, personas.dana)
    response = download(personas.adam)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    (event,) = AuditEvent.objects.filter(action=AuditEvent.Action.EXPORT)
    assert event.object_type == "care.research_export"
    assert event.practice_id == personas.practice.pk
    assert event.client_id is None
    assert "courses=1" in event.detail


def test_the_research_export_is_in_the_administrators_navigation(personas):
    http = HttpClient()
    http.force_login(personas.adam)
    home = http.get(reverse(URL))
    assert reverse(URL) in home.content.decode()
    http.force_login(personas.alice)
    assert reverse(URL) not in http.get("/").content.decode()


def test_uuid_helper_gives_stable_values():
    key = b"k" * 32
    client_uuid = uuid.UUID(int=7)
    assert research.pseudonym(key, client_uuid) == research.pseudonym(key, client_uuid)
    assert research.date_shift(key, client_uuid) == research.date_shift(key, client_uuid)


def test_a_key_sealed_with_another_field_key_is_refused_in_plain_words(personas, settings):
    practice_research_key(personas.practice.pk)
    settings.OPENIPT_FIELD_ENCRYPTION_KEY = "a different installation"
    http = HttpClient()
    http.force_login(personas.adam)
    page = http.get(reverse(URL))
    assert page.status_code == 503
    assert "restore the keys file" in page.content.decode()
