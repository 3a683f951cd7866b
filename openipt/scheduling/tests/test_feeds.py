from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from icalendar import Calendar

from openipt.audit.models import AuditEvent
from openipt.scheduling import services
from openipt.scheduling.models import CalendarFeed
from openipt.scheduling.tests.conftest import LONDON_10, book, utc

LONDON = ZoneInfo("Europe/London")


@pytest.fixture
def dst_series(world, time_machine):
    time_machine.move_to(utc(2027, 10, 1, 8, 0), tick=False)
    return services.series_generate_from_contract(
        actor=world.p.alice, course=world.course, weekday=1, local_time=LONDON_10,
        first_date=dt.date(2027, 10, 11),
    )  # fmt: skip


def _feed_url(world):
    _feed, token = services.calendar_feed_create(actor=world.p.alice, membership=world.alice_m)
    return reverse("scheduling:feed", args=[token])


def _events(body: bytes):
    calendar = Calendar.from_ical(body)
    return calendar, sorted(calendar.walk("VEVENT"), key=lambda e: e.decoded("dtstart"))


def test_feed_validates_and_keeps_10_oclock_across_the_clock_change(world, dst_series, client):
    response = client.get(_feed_url(world))  # no sign-in: the token is the credential

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    calendar, events = _events(response.content)
    starts = [e.decoded("dtstart") for e in events]
    assert [s.astimezone(LONDON).strftime("%Y-%m-%d %H:%M") for s in starts] == [
        "2027-10-12 10:00", "2027-10-19 10:00", "2027-10-26 10:00", "2027-11-02 10:00",
    ]  # fmt: skip
    assert [s.astimezone(dt.UTC).hour for s in starts] == [9, 9, 9, 10]
    assert {e["dtstart"].params["TZID"] for e in events} == {"Europe/London"}
    assert [tz["TZID"] for tz in calendar.walk("VTIMEZONE")] == ["Europe/London"]


def test_feed_events_carry_no_client_names_or_notes(world, dst_series, client):
    book(world, utc(2027, 10, 14, 9, 0), course=None, kind="consultation", note="CANARY-NOTE")

    body = client.get(_feed_url(world)).content.decode()

    _calendar, events = _events(body.encode())
    assert {str(e["summary"]) for e in events} == {"Client appointment"}
    for secret in ("Dana", "Example", "CANARY", "onsultation", "Individual"):
        assert secret not in body


def test_feed_access_is_audited_without_a_client(world, dst_series, client):
    url = _feed_url(world)

    client.get(url)

    event = AuditEvent.objects.filter(object_type="scheduling.calendarfeed", action="read").get()
    assert (event.actor_id, event.client_id) == (world.p.alice.pk, None)
    assert event.detail == "calendar feed: 4 events"


def test_a_new_address_replaces_the_old_one_and_revoking_ends_it(world, client):
    old = _feed_url(world)
    new = _feed_url(world)

    assert client.get(old).status_code == 404
    assert client.get(new).status_code == 200

    services.calendar_feed_revoke(actor=world.p.alice, membership=world.alice_m)
    assert client.get(new).status_code == 404


def test_the_token_is_stored_only_as_a_hash(world):
    url = _feed_url(world)
    token = url.rsplit("/", 1)[1].removesuffix(".ics")

    stored = CalendarFeed.objects.get()
    assert token not in stored.token_hash
    assert stored.token_hash == services.feed_token_hash(token)


def test_feed_of_a_deactivated_clinician_stops_working(world, client):
    url = _feed_url(world)
    world.alice_m.__class__.objects.filter(pk=world.alice_m.pk).update(is_active=False)

    assert client.get(url).status_code == 404


def test_an_unknown_token_gets_404(client, db):
    assert client.get(reverse("scheduling:feed", args=["nope"])).status_code == 404


def test_feed_settings_page_shows_a_new_address_once_and_can_turn_it_off(world, alice_client):
    page = reverse("scheduling:feed-settings")

    created = alice_client.post(page, {"action": "create"})
    assert b"/schedule/feed/" in created.content
    assert b"/schedule/feed/" not in alice_client.get(page).content

    alice_client.post(page, {"action": "revoke"})
    assert not CalendarFeed.objects.filter(revoked_at__isnull=True).exists()


def test_client_ics_download_has_own_appointments_without_clinical_content(
    world, dst_series, alice_client
):
    url = reverse("scheduling:client-ics", args=[world.dana.uuid])

    response = alice_client.get(url)

    assert response["Content-Disposition"].startswith("attachment")
    body = response.content.decode()
    _calendar, events = _events(response.content)
    assert len(events) == 4
    assert {str(e["summary"]) for e in events} == {"Appointment with Riverside Practice"}
    assert "Dana" not in body
    assert "Individual" not in body
    assert AuditEvent.objects.filter(action="export", client_id=world.dana.pk).count() == 1
