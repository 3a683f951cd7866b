"""S6: the administrator's audit report and CSV export."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
import time_machine
from django.test import RequestFactory
from django.urls import reverse

from openipt.audit import services
from openipt.audit.models import AuditEvent
from openipt.testing.personas import count_queries, make_client, make_staff

REPORT = reverse("audit:report")
EXPORT = reverse("audit:export")


def _read(user, client, *, at: dt.datetime | None = None, address: str = "192.0.2.10"):
    request = RequestFactory().get("/", REMOTE_ADDR=address)
    request.user = user
    if at is None:
        return services.record_read(request, client)
    with time_machine.travel(at, tick=False):
        return services.record_read(request, client)


def _rows(response) -> list[dict[str, str]]:
    body = b"".join(response.streaming_content).decode("utf-8").lstrip("\ufeff")
    return list(csv.DictReader(io.StringIO(body)))


@pytest.fixture
def olive(personas):
    """The other practice's administrator."""
    return make_staff(personas.other_practice, "olive@hilltop.test", "Olive Admin", admin=True)


@pytest.mark.parametrize("persona", ["alice", "bob", "charlie"])
@pytest.mark.parametrize("url", [REPORT, EXPORT])
def test_only_practice_admins_reach_the_audit_log(client, personas, persona, url):
    client.force_login(getattr(personas, persona))
    assert client.get(url).status_code == 404


def test_anonymous_is_sent_to_sign_in(client, db):
    assert client.get(REPORT).url.startswith(reverse("account_login"))


def test_admin_sees_who_read_which_client(adam_client, personas):
    _read(personas.alice, personas.dana, at=dt.datetime(2026, 7, 1, 12, 5, tzinfo=dt.UTC))
    page = adam_client.get(REPORT).content.decode()
    assert "Dana Example" in page
    assert "Alice Clinician" in page
    assert "2026-07-01 12:05:00 UTC" in page
    assert "2026-07-01 13:05 local" in page  # London summer time
    assert "192.0.2.10" in page


def test_practices_see_only_their_own_events(client, personas, olive):
    _read(personas.alice, personas.dana)
    _read(personas.charlie, personas.erin)
    client.force_login(olive)
    page = client.get(REPORT).content.decode()
    assert "Erin Sample" in page
    assert "Dana Example" not in page
    assert "Alice Clinician" not in page
    by_uuid = client.get(REPORT, {"client": str(personas.dana.uuid)}).content.decode()
    assert "Dana Example" not in by_uuid
    assert "No events match" in by_uuid
    exported = _rows(client.get(EXPORT))
    assert {row["client_name"] for row in exported} == {"Erin Sample", ""}


def test_filter_by_user(adam_client, personas):
    _read(personas.alice, personas.dana)
    _read(personas.bob, personas.dana)
    page = adam_client.get(REPORT, {"user": str(personas.bob.uuid)}).content.decode()
    assert "bob@riverside.test" in page
    assert "alice@riverside.test" not in page.split("<table")[1]


def test_user_choices_are_the_practice_staff_only(adam_client, personas):
    page = adam_client.get(REPORT).content.decode()
    assert "Bob Supervisor" in page
    assert "charlie@hilltop.test" not in page
    response = adam_client.get(REPORT, {"user": str(personas.charlie.uuid)})
    assert "field--error" in response.content.decode()
    assert "<table" not in response.content.decode()


def test_filter_by_client_uuid_and_by_name(adam_client, personas):
    other = make_client(personas.practice, personas.alice, given="Frank", family="Other")
    _read(personas.alice, personas.dana)
    _read(personas.alice, other)
    by_uuid = adam_client.get(REPORT, {"client": str(other.uuid)}).content.decode()
    assert "Frank Other" in by_uuid
    assert "Dana Example" not in by_uuid
    by_name = adam_client.get(REPORT, {"client": "  dana ex "}).content.decode()
    assert "Dana Example" in by_name
    assert "Frank Other" not in by_name


def test_name_search_stays_inside_the_practice(client, personas, olive):
    _read(personas.alice, personas.dana)
    client.force_login(olive)
    page = client.get(REPORT, {"client": "dana"}).content.decode()
    assert "Dana Example" not in page


def test_dates_are_days_in_the_practice_time_zone(adam_client, personas):
    # 23:30 UTC on 1 July is already 2 July in London.
    _read(personas.alice, personas.dana, at=dt.datetime(2026, 7, 1, 23, 30, tzinfo=dt.UTC))
    july_1 = adam_client.get(REPORT, {"date_from": "2026-07-01", "date_to": "2026-07-01"})
    july_2 = adam_client.get(REPORT, {"date_from": "2026-07-02", "date_to": "2026-07-02"})
    assert "Dana Example" not in july_1.content.decode()
    assert "Dana Example" in july_2.content.decode()


def test_end_date_before_start_date_is_explained_next_to_the_field(adam_client, personas):
    _read(personas.alice, personas.dana)
    response = adam_client.get(REPORT, {"date_from": "2026-07-05", "date_to": "2026-07-01"})
    page = response.content.decode()
    assert 'id="id_date_to_error"' in page
    assert "The end date is before the start date." in page
    assert 'value="2026-07-05"' in page  # what was typed is kept
    assert "Dana Example" not in page


def test_malformed_date_is_explained_and_nothing_is_exported(adam_client, personas):
    response = adam_client.get(EXPORT, {"date_from": "31/02/2026"})
    assert response.status_code == 400
    assert 'id="id_date_from_error"' in response.content.decode()
    assert not AuditEvent.objects.filter(action="export").exists()


def test_report_is_paginated_newest_first_with_constant_queries(adam_client, personas, monkeypatch):
    monkeypatch.setattr("openipt.workspace.views.audit.PER_PAGE", 10)
    _read(personas.alice, personas.dana)
    with count_queries() as one:
        adam_client.get(REPORT)
    for _ in range(12):
        _read(personas.alice, personas.dana)
        _read(personas.bob, personas.dana)
    _read(personas.charlie, personas.erin)
    with count_queries() as many:
        response = adam_client.get(REPORT)
    assert len(many) == len(one)
    page = response.content.decode()
    assert "Page 1 of 3" in page
    assert page.index("Bob Supervisor<br>") < page.index("Alice Clinician<br>")  # newest first
    last = adam_client.get(REPORT, {"page": 3}).content.decode()
    assert "Page 3 of 3" in last
    assert "Erin Sample" not in page + last


def test_viewing_the_report_is_itself_audited(adam_client, personas):
    adam_client.get(REPORT, {"client": str(personas.dana.uuid)})
    event = AuditEvent.objects.get(actor_id=personas.adam.pk, object_type="audit.report")
    assert event.action == "read"
    assert event.client_id == personas.dana.pk
    assert event.detail == f"filters: client {personas.dana.uuid}"


def test_csv_export_streams_the_filtered_events_as_an_attachment(adam_client, personas):
    _read(personas.alice, personas.dana, at=dt.datetime(2026, 7, 1, 12, 0, tzinfo=dt.UTC))
    _read(personas.bob, personas.dana, at=dt.datetime(2026, 7, 3, 12, 0, tzinfo=dt.UTC))
    response = adam_client.get(EXPORT, {"date_to": "2026-07-02"})
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="openipt-audit-')
    rows = _rows(response)
    assert [(r["user_email"], r["client_name"], r["action"]) for r in rows] == [
        ("alice@riverside.test", "Dana Example", "read")
    ]
    assert rows[0]["time_utc"] == "2026-07-01T12:00:00+00:00"
    assert rows[0]["time_local"] == "2026-07-01T13:00:00+01:00"
    assert rows[0]["client_id"] == str(personas.dana.uuid)
    assert rows[0]["source_address"] == "192.0.2.10"


def test_csv_cells_cannot_run_as_spreadsheet_formulas(adam_client, personas):
    sneaky = make_client(
        personas.practice, personas.alice, given='=HYPERLINK("http://x")', family="@SUM(A1)"
    )
    _read(personas.alice, sneaky)
    services.record(actor=personas.alice, action="update", client=sneaky, detail="+1-2", obj=sneaky)
    rows = _rows(adam_client.get(EXPORT, {"client": str(sneaky.uuid)}))
    assert rows[0]["action"] == "export"  # the export itself comes first
    assert rows[1]["detail"] == "'+1-2"
    assert rows[2]["client_name"] == '\'=HYPERLINK("http://x") @SUM(A1)'
    assert all(not v.startswith(("=", "+", "-", "@")) for row in rows for v in row.values())


def test_export_is_audited_with_its_filters(adam_client, personas):
    adam_client.get(EXPORT, {"user": str(personas.alice.uuid), "date_from": "2026-01-01"})
    event = AuditEvent.objects.get(action="export")
    assert event.actor_id == personas.adam.pk
    assert event.practice_id == personas.practice.pk
    assert event.detail == f"filters: from 2026-01-01, user {personas.alice.uuid}"


def test_export_event_never_contains_a_typed_name(adam_client, personas):
    adam_client.get(EXPORT, {"client": "Dana"})
    assert AuditEvent.objects.get(action="export").detail == "filters: client name search"
