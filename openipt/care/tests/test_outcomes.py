"""The practice outcome dashboard against a hand-computed fixture (outcome_fixture.py)."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse

from openipt.audit.models import AuditEvent
from openipt.care import outcomes
from openipt.care.outcomes import OutcomeFilters, Rate
from openipt.care.tests.outcome_fixture import PERIOD, membership, seed

pytestmark = pytest.mark.django_db


def board_for(user, **filters):
    member = membership(user)
    f = OutcomeFilters(date_from=PERIOD[0], date_to=PERIOD[1], **filters)
    return outcomes.practice_outcomes(member, f, clinicians=outcomes.outcome_clinicians(member))


def figures(rates):
    return {name: (r.count, r.base, r.percent, r.suppressed) for name, r in rates.rates()}


@pytest.fixture
def seeded(personas):
    return seed(personas)


def test_supervisor_rates_match_the_hand_computed_fixture(personas, seeded):
    board = board_for(personas.bob)
    combined, phq9, gad7 = board.measures
    assert combined.key == outcomes.COMBINED
    assert combined.paired == 7
    assert figures(combined) == {
        "Reliable improvement": (5, 7, 71, False),
        "Reliable recovery": (2, 6, 33, False),
        "Recovery": (2, 6, 33, False),
        "Reliable deterioration": (1, 7, 14, False),
        "Response": (3, 5, 60, False),
        "Remission": (1, 5, 20, False),
    }
    assert (phq9.key, phq9.paired) == ("PHQ-9", 6)
    assert figures(phq9)["Reliable improvement"] == (4, 6, 67, False)
    assert figures(phq9)["Recovery"] == (2, 5, 40, False)
    assert figures(phq9)["Reliable recovery"] == (2, 5, 40, False)
    assert figures(phq9)["Reliable deterioration"] == (1, 6, 17, False)
    assert (gad7.key, gad7.paired) == ("GAD-7", 6)
    assert figures(gad7)["Reliable improvement"] == (3, 6, 50, False)
    assert figures(gad7)["Recovery"] == (2, 5, 40, False)
    assert "Response" not in figures(gad7)  # GAD-7 has no response rule


def test_recovered_on_phq9_but_still_a_case_on_gad7_is_not_recovered_combined():
    from openipt.measures.scoring import change

    phq9 = change.summarise(change.RULES["PHQ-9"], [15, 7])
    gad7 = change.summarise(change.RULES["GAD-7"], [12, 10])
    assert phq9.recovered is True
    judgement = outcomes.judge_course({"PHQ-9": phq9, "GAD-7": gad7})
    assert judgement is not None
    assert judgement.recovered is False
    assert judgement.improved is True
    alone = outcomes.judge_course({"PHQ-9": phq9})
    assert alone is not None
    assert alone.recovered is True


def test_counts_sessions_waiting_and_requests(personas, seeded):
    total = board_for(personas.bob).total
    assert (total.started.value, total.concluded.value, total.ended_early.value) == (8, 7, 1)
    assert (total.attended.value, total.no_shows.value) == (15, 1)
    # Requests 7, 14, 21, 10 and 5 days before the first session: the median is 10 days.
    assert (total.waiting.median_days, total.waiting.base) == (10.0, 5)
    assert board_for(personas.bob).requests.value == 5


def test_administrator_sees_the_whole_practice(personas, seeded):
    board = board_for(personas.adam)
    combined = board.measures[0]
    assert combined.paired == 8
    assert figures(combined)["Reliable recovery"] == (3, 7, 43, False)
    assert {row.label for row in board.groups} == {"Alice Clinician", "Eve Clinician"}


def test_supervisor_sees_only_supervisees(personas, seeded):
    board = board_for(personas.bob)
    assert [row.label for row in board.groups] == ["Alice Clinician"]
    assert [name for _pk, name in outcomes.outcome_clinicians(membership(personas.bob))] == [
        "Alice Clinician"
    ]


def test_cells_under_five_courses_are_suppressed_unless_asked(personas, seeded):
    by_format = {row.key: row for row in board_for(personas.bob, group_by="format").groups}
    brief = by_format["ipt_b"].outcome
    assert brief.reliable_improvement == Rate(1, 2, suppressed=True)
    assert brief.reliable_improvement.percent is None
    assert by_format["ipt_b"].started.suppressed
    individual = by_format["ipt"].outcome
    assert individual.reliable_improvement == Rate(4, 5, suppressed=False)
    shown = {r.key: r for r in board_for(personas.bob, group_by="format", show_small=True).groups}
    assert shown["ipt_b"].outcome.reliable_improvement.percent == 50


def test_filters_narrow_the_courses(personas, seeded):
    board = board_for(personas.adam, format="ipt_b", show_small=True)
    assert board.measures[0].paired == 2
    eve = membership(seeded.eve).pk
    only_eve = board_for(personas.adam, clinician_id=eve, show_small=True)
    assert only_eve.measures[0].paired == 1
    assert board_for(personas.adam, area="grief").measures == ()
    assert board_for(personas.adam, area=outcomes.NO_FOCUS).measures[0].paired == 8


def test_others_cannot_see_the_dashboard(personas):
    with pytest.raises(PermissionError):
        board_for(personas.alice)


# --- The page ---------------------------------------------------------------------------


def url(**params):
    query = {"date_from": PERIOD[0].isoformat(), "date_to": PERIOD[1].isoformat()} | params
    return reverse("outcomes:dashboard") + "?" + "&".join(f"{k}={v}" for k, v in query.items())


def test_page_shows_rates_with_their_counts_and_suppression(client, personas, seeded):
    client.force_login(personas.bob)
    response = client.get(url(by="format"))
    text = response.content.decode()
    assert response.status_code == 200
    assert "71%" in text
    assert "5 of 7" in text
    assert "Fewer than 5 courses" in text  # the brief IPT row
    assert "<svg" in text
    assert "<table" in text
    assert "Client1" not in text
    assert "Fixture" not in text


def test_csv_export_is_audited_and_names_nobody(client, personas, seeded):
    client.force_login(personas.bob)
    before = AuditEvent.objects.filter(action=AuditEvent.Action.EXPORT).count()
    response = client.get(url(format="csv", by="format"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    body = response.content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(body)))
    assert rows[0] == ["section", "group", "measure", "figure", "count", "base", "percent"]
    ri = [r for r in rows if r[0] == "outcomes" and r[3] == "Reliable improvement"]
    assert ri[0][4:] == ["5", "7", "71"]
    assert ["by format", "Brief IPT", "", "courses started", "<5", "", ""] in rows
    assert "Fixture" not in body
    assert "Client1" not in body
    events = AuditEvent.objects.filter(action=AuditEvent.Action.EXPORT, object_type="care.outcomes")
    assert events.count() == before + 1
    assert "by=format" in events.latest("id").detail


def test_bad_dates_are_explained_next_to_the_field(client, personas):
    client.force_login(personas.adam)
    response = client.get(url(date_from="2026-06-30", date_to="2026-01-01"))
    assert response.status_code == 400
    assert "The end date is before the start date." in response.content.decode()


def test_default_period_is_the_last_twelve_months(client, personas):
    client.force_login(personas.adam)
    response = client.get(reverse("outcomes:dashboard"))
    assert response.status_code == 200
    filters = response.context["board"].filters
    assert (filters.date_to - filters.date_from).days in (364, 365)  # a leap day between


def test_a_published_copy_of_the_phq9_counts_as_the_phq9(personas, seeded):
    """A licensed translation imported as "the same instrument as the PHQ-9" (same_as) gives
    the same rates as the built-in: its scores are the PHQ-9's here too."""
    import uuid

    from django.utils import timezone

    from openipt.measures.models import Administration, Instrument

    before = figures(board_for(personas.bob).measures[1])
    copy = Instrument.objects.get(code="PHQ-9", practice__isnull=True)
    copy.pk = None
    copy._state.adding = True
    copy.uuid = uuid.uuid4()
    copy.code, copy.same_as, copy.practice = "PHQ-9-es", "PHQ-9", personas.practice
    copy.source, copy.licence_confirmed_at = Instrument.Source.IMPORTED, timezone.now()
    copy.licence_confirmed_by = personas.adam
    copy.save()
    moved = Administration.objects.filter(instrument__code="PHQ-9").update(instrument=copy)
    assert moved
    after = board_for(personas.bob).measures[1]
    assert after.key == "PHQ-9"
    assert figures(after) == before
