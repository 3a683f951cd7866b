"""The built-in Spanish versions of the PHQ-9, PHQ-2, GAD-7, GAD-2 and WHO-5: each its own
instrument, scored by the English file's rules (recognition), counted as the same measure,
marked with its language wherever it is shown, and offered to a client who reads Spanish."""

from __future__ import annotations

import json
import random
from decimal import Decimal

import pytest
from django.test import Client as HttpClient
from django.urls import reverse
from django.utils import timezone

from openipt.audit.models import AuditEvent
from openipt.clients.models import Client
from openipt.measures import charts, selectors, services
from openipt.measures.loader import INSTRUMENTS_DIR
from openipt.measures.models import Administration, Instrument
from openipt.measures.progress import course_progress
from openipt.measures.scoring import parse_questionnaire, parse_questionnaire_json, score
from openipt.measures.scoring.parser import (
    SCORING_URL,
    builtin_by_url,
    builtin_definitions,
    recognised_builtin,
)
from openipt.measures.tests.helpers import SPANISH, builtin, builtin_resource
from openipt.portal.tests.conftest import portal_user_for
from openipt.treatment.tests.factories import make_session

PAIRS = sorted(SPANISH.items())


def _text(name: str) -> str:
    return (INSTRUMENTS_DIR / f"{name}.json").read_text(encoding="utf-8")


def _spanish(code: str):
    outcome = parse_questionnaire_json(_text(SPANISH[code][0]))
    assert outcome.errors == ()
    assert outcome.definition is not None
    return outcome.definition


def reads_spanish(client: Client) -> Client:
    Client.objects.filter(pk=client.pk).update(language="es")
    client.refresh_from_db()
    return client


# --- The files ------------------------------------------------------------------------------


@pytest.mark.parametrize(("code", "source"), PAIRS)
def test_each_spanish_file_parses_and_is_the_english_instrument_in_spanish(code, source):
    name, english_code = source
    resource = json.loads(_text(name))
    english = builtin_resource(english_code)
    definition = _spanish(code)
    assert resource["language"] == "es"
    assert definition.language == "es"
    assert definition.code == code
    assert definition.same_as == english_code
    assert definition.identity == english_code
    # The same LOINC panel (or none, as for the English GAD-2 and WHO-5) and item codes,
    # the same questions and answer codes: only the wording differs.
    assert resource.get("code") == english.get("code")
    assert definition.panel_code == builtin(english_code).panel_code
    assert [(i.link_id, i.code, i.scored) for i in definition.items] == [
        (i.link_id, i.code, i.scored) for i in builtin(english_code).items
    ]
    for mine, theirs in zip(definition.items, builtin(english_code).items, strict=True):
        assert [(o.code, o.weight, o.entry) for o in mine.options] == [
            (o.code, o.weight, o.entry) for o in theirs.options
        ]
        assert mine.text != theirs.text  # translated
    assert definition.instructions
    assert definition.instructions != builtin(english_code).instructions
    # Scored by the English file's rules, not by a copy of them.
    assert not [e for e in resource.get("extension", []) if e.get("url") == SCORING_URL]
    assert definition.rules_version == builtin(english_code).version
    assert resource["derivedFrom"] == [english["url"]]
    # The source is stated: the owner's notice in Spanish and who published the translation.
    assert definition.copyright
    assert "Spanish" in resource["publisher"]


@pytest.mark.parametrize("code", ["PHQ-9-es", "PHQ-2-es", "GAD-7-es", "GAD-2-es"])
def test_the_pfizer_translations_carry_the_owners_notice_in_spanish(code):
    assert "No se requiere permiso para reproducir, traducir" in _spanish(code).copyright
    assert "Pfizer" in _spanish(code).copyright


def test_the_who5_translation_keeps_the_copyright_line_and_the_percentage():
    definition = _spanish("WHO-5-es")
    assert definition.copyright == builtin("WHO-5").copyright
    assert definition.percent_multiplier == 4
    assert definition.direction == "higher_better"
    assert definition.item("1").options[0].display == "Todo el tiempo"


def test_the_short_forms_reuse_the_first_two_spanish_items():
    for short, full in (("PHQ-2-es", "PHQ-9-es"), ("GAD-2-es", "GAD-7-es")):
        pairs = [(item.text, item.code) for item in _spanish(short).scored_items]
        assert pairs == [(item.text, item.code) for item in _spanish(full).scored_items[:2]]


def test_recognition_keys_on_the_english_files_only():
    panels = builtin_definitions()
    assert {d.code for d in panels.values()} == {"PHQ-9", "PHQ-2", "GAD-7"}
    assert {d.code for d in builtin_by_url().values()} == {
        "PHQ-9", "PHQ-2", "GAD-7", "GAD-2", "WHO-5", "HAM-D-17"
    }  # fmt: skip
    assert all(d.language == "en" and d.same_as == "" for d in panels.values())
    # An English file is itself; a Spanish file is recognised as its English original.
    assert recognised_builtin(builtin_resource("PHQ-9")) is None
    assert recognised_builtin(json.loads(_text("phq-9-es"))).code == "PHQ-9"
    assert recognised_builtin(json.loads(_text("who-5-es"))).code == "WHO-5"


# --- Scoring --------------------------------------------------------------------------------


def _answer_sets(definition, count=40):
    """Deterministic answer sets: the extremes, every question left blank once, and random."""
    scored = definition.scored_items
    low = {i.link_id: min(i.options, key=lambda o: o.weight).code for i in scored}
    high = {i.link_id: max(i.options, key=lambda o: o.weight).code for i in scored}
    sets = [low, high]
    for item in scored:
        sets.append({**high, item.link_id: None})
    rng = random.Random(definition.code)
    for _ in range(count):
        sets.append({i.link_id: rng.choice([None, *[o.code for o in i.options]]) for i in scored})
    return sets


@pytest.mark.parametrize(("code", "source"), PAIRS)
def test_the_same_answers_give_the_same_total_band_and_critical_items(code, source):
    spanish, english = _spanish(code), builtin(source[1])
    for answers in _answer_sets(english):
        theirs, mine = score(english, answers), score(spanish, answers)
        assert (mine.total, mine.band, mine.flags, mine.notices, mine.prorated, mine.percent) == (
            theirs.total, theirs.band, theirs.flags, theirs.notices, theirs.prorated,
            theirs.percent,
        ), answers  # fmt: skip


def test_the_spanish_phq9_item_9_is_the_critical_item():
    definition = _spanish("PHQ-9-es")
    answers = {i.link_id: i.options[0].code for i in definition.scored_items}
    answers["9"] = "LA6569-3"  # Varios días
    assert score(definition, answers).flags == ("self_harm_item",)
    assert definition.item("9").text.startswith("Pensamientos de que estaría mejor muerto(a)")


# --- Stored ---------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(("code", "source"), PAIRS)
def test_the_loader_stores_each_translation_as_its_own_row_with_same_as(code, source):
    row = Instrument.objects.get(code=code, practice__isnull=True)
    assert (row.source, row.same_as, row.language, row.identity) == (
        "built_in", source[1], "es", source[1]
    )  # fmt: skip
    assert row.language_mark == "Spanish"
    english = Instrument.objects.get(code=source[1], practice__isnull=True)
    assert (english.same_as, english.language, english.language_mark) == ("", "en", "")
    assert row.parsed.bands == english.parsed.bands


@pytest.mark.django_db
def test_a_spanish_phq9_after_english_ones_shares_one_series_marked_with_its_language(
    personas, course
):
    english = Instrument.objects.get(code="PHQ-9", practice__isnull=True)
    spanish = Instrument.objects.get(code="PHQ-9-es", practice__isnull=True)
    sessions = [course.sessions.get(number=1)]
    sessions += [make_session(personas.alice, course, number) for number in (2, 3)]
    for session, instrument, entries in (
        (sessions[0], english, (3, 3, 3, 2, 2, 2, 2, 1, 0)),  # 18
        (sessions[1], english, (2, 2, 2, 2, 1, 1, 1, 1, 0)),  # 12
        (sessions[2], spanish, (1, 1, 1, 1, 0, 0, 0, 0, 0)),  # 4
    ):
        answers = {
            item.link_id: item.option_for_entry(value).code
            for item, value in zip(instrument.parsed.scored_items, entries, strict=True)
        }
        services.administration_enter(
            actor=personas.alice, course=course, instrument=instrument, answers=answers,
            session=session,
        )  # fmt: skip
    progress = course_progress(course)
    assert [p.code for p in progress.instruments] == ["PHQ-9"]  # one measure, one chart
    (phq9,) = progress.instruments
    assert [r.administration.total_display for r in phq9.rows] == ["18", "12", "4"]
    assert [r.language_mark for r in phq9.rows] == ["", "", "Spanish"]
    assert phq9.summary.latest == 4
    assert phq9.summary.baseline == 18
    assert phq9.rule.code == "PHQ-9"
    chart = str(phq9.chart)
    assert chart.count("<circle") == 3
    assert chart.count('class="point-language"') == 1  # one mark, in text, beside its point
    assert ">ES</text>" in chart
    assert "ES: answered in the Spanish version" in chart
    assert "Spanish version" in chart  # the point's tooltip
    results = selectors.depression_measures_for_courses([course.pk])[course.pk]
    assert [(r.instrument, r.total) for r in results] == [
        ("PHQ-9", 18.0), ("PHQ-9", 12.0), ("PHQ-9", 4.0)
    ]  # fmt: skip


def test_a_chart_without_translations_has_no_language_mark():
    definition = builtin("PHQ-9")
    points = [charts.ChartPoint(n, Decimal(t), "Mild", None) for n, t in ((1, 9), (2, 7))]
    svg = str(charts.course_chart_svg(definition, points, last_session=12))
    assert "point-language" not in svg
    assert "chart-legend-language" not in svg


@pytest.mark.django_db
def test_the_measures_page_marks_the_spanish_scores_and_offers_spanish_first(
    alice_client, personas, course
):
    spanish = Instrument.objects.get(code="PHQ-9-es", practice__isnull=True)
    answers = {i.link_id: i.options[1].code for i in spanish.parsed.scored_items}
    services.administration_enter(
        actor=personas.alice, course=course, instrument=spanish, answers=answers
    )
    url = reverse("measures:course-measures", args=[course.uuid])
    html = alice_client.get(url).content.decode()
    assert "Spanish version" in html  # the table's note on the Spanish score
    english_first = html.index('value="PHQ-9"') < html.index('value="PHQ-9-es"')
    assert english_first  # Dana reads English
    reads_spanish(personas.dana)
    html = alice_client.get(url).content.decode()
    assert html.index('value="PHQ-9-es"') < html.index('value="PHQ-9"')
    assert "(Spanish)</option>" in html


# --- Offered in the client's language ------------------------------------------------------


def _assign(personas, instrument_code, **kwargs):
    return services.administration_assign(
        actor=personas.alice,
        client=personas.dana,
        instrument=Instrument.objects.get(code=instrument_code, practice__isnull=True),
        due_on=timezone.localdate(),
        **kwargs,
    )


@pytest.mark.django_db
def test_a_client_who_reads_spanish_is_sent_the_spanish_version(personas):
    reads_spanish(personas.dana)
    for english, spanish in (("PHQ-9", "PHQ-9-es"), ("GAD-7", "GAD-7-es"), ("WHO-5", "WHO-5-es")):
        assert _assign(personas, english).instrument.code == spanish
    # HAM-D-17 has no Spanish version here (and is clinician-rated anyway): PHQ-2 is kept
    # in English only when no Spanish one exists; chosen versions can be kept on purpose.
    assert _assign(personas, "PHQ-9", in_client_language=False).instrument.code == "PHQ-9"


@pytest.mark.django_db
def test_a_client_who_reads_english_is_sent_the_english_version(personas):
    assert personas.dana.language == "en"
    assert _assign(personas, "PHQ-9").instrument.code == "PHQ-9"
    assert _assign(personas, "PHQ-9-es").instrument.code == "PHQ-9"  # their language wins


@pytest.mark.django_db
def test_language_version_finds_the_version_the_practice_may_use(personas):
    practice_id = personas.dana.practice_id
    phq9 = Instrument.objects.get(code="PHQ-9", practice__isnull=True)
    ham_d = Instrument.objects.get(code="HAM-D-17", practice__isnull=True)
    assert selectors.language_version(phq9, "es", practice_id=practice_id).code == "PHQ-9-es"
    assert selectors.language_version(ham_d, "es", practice_id=practice_id) == ham_d
    Instrument.objects.filter(code="PHQ-9-es").update(is_active=False)
    assert selectors.language_version(phq9, "es", practice_id=practice_id) == phq9
    codes = [i.code for i in selectors.offered_in([phq9, ham_d], "es")]
    assert codes == ["HAM-D-17", "PHQ-9"]


@pytest.mark.django_db
def test_one_version_of_each_measure_in_the_clients_language(personas):
    offered = selectors.instruments_for(personas.alice)
    spanish = [i.code for i in selectors.one_per_measure(offered, "es")]
    english = [i.code for i in selectors.one_per_measure(offered, "en")]
    assert spanish == ["GAD-2-es", "GAD-7-es", "HAM-D-17", "PHQ-2-es", "PHQ-9-es", "WHO-5-es"]
    assert english == ["GAD-2", "GAD-7", "HAM-D-17", "PHQ-2", "PHQ-9", "WHO-5"]


@pytest.mark.django_db
def test_a_practices_own_spanish_copy_takes_the_built_in_ones_place(personas):
    fixture = INSTRUMENTS_DIR.parent / "tests" / "fhir" / "phq9_spanish.json"
    imported = services.instrument_import(
        actor=personas.adam,
        practice=personas.practice,
        file_content=fixture.read_text(encoding="utf-8"),
        licence_confirmed=True,
    )
    assert (imported.code, imported.language) == ("PHQ-9-es", "es")
    offered = {i.code: i for i in selectors.instruments_for(personas.alice)}
    assert offered["PHQ-9-es"] == imported
    reads_spanish(personas.dana)
    assert _assign(personas, "PHQ-9").instrument == imported


@pytest.fixture
def dana_user(personas):
    return portal_user_for(personas.alice, personas.dana, "dana@example.test")


@pytest.fixture
def dana_portal(dana_user) -> HttpClient:
    http = HttpClient()
    http.force_login(dana_user)
    return http


@pytest.mark.django_db
def test_the_portal_offers_a_waiting_questionnaire_in_the_clients_new_language(
    personas, dana_user, dana_portal
):
    administration = _assign(personas, "PHQ-9")
    assert administration.instrument.code == "PHQ-9"
    first_question = administration.instrument.parsed.scored_items[0]
    dana_portal.post(
        reverse("portal:questionnaire", args=[administration.uuid]) + "?step=2",
        {"answer": first_question.options[2].code},
    )  # the instructions come first; question 1 is answered in English
    reads_spanish(personas.dana)
    listing = dana_portal.get(reverse("portal:questionnaires")).content.decode()
    assert "Cuestionario sobre la salud del paciente (PHQ-9)" in listing
    administration.refresh_from_db()
    assert administration.instrument.code == "PHQ-9-es"
    assert administration.draft_answers == {"1": first_question.options[2].code}  # kept
    assert AuditEvent.objects.filter(
        object_id=str(administration.uuid), detail="offered in es: PHQ-9-es"
    ).exists()
    page = dana_portal.get(reverse("portal:questionnaire", args=[administration.uuid]))
    assert "Poco interés o placer en hacer cosas" in page.content.decode() or (
        "Se ha sentido decaído(a)" in page.content.decode()
    )
    # Answered in Spanish: the record says which version was answered.
    definition = administration.instrument.parsed
    answers = {i.link_id: i.options[0].code for i in definition.scored_items}
    done = services.administration_complete(
        actor=dana_user,
        administration=administration,
        answers=answers,
    )
    assert done.instrument.code == "PHQ-9-es"
    assert done.status == Administration.Status.COMPLETED


@pytest.mark.django_db
def test_a_completed_questionnaire_is_never_moved(personas):
    administration = _assign(personas, "PHQ-9")
    answers = {i.link_id: i.options[0].code for i in administration.instrument.parsed.scored_items}
    services.administration_complete(
        actor=personas.alice, administration=administration, answers=answers
    )
    reads_spanish(personas.dana)
    administration.refresh_from_db()
    same = services.assignment_in_client_language(
        actor=personas.alice, administration=administration
    )
    assert same.instrument.code == "PHQ-9"


@pytest.mark.django_db
def test_an_alert_from_the_spanish_phq9_names_the_version_answered(alice_client, personas, course):
    spanish = Instrument.objects.get(code="PHQ-9-es", practice__isnull=True)
    answers = {i.link_id: i.options[0].code for i in spanish.parsed.scored_items}
    answers["9"] = "LA6570-1"
    row = services.administration_enter(
        actor=personas.alice, course=course, instrument=spanish, answers=answers
    )
    assert row.flags == ["self_harm_item"]
    html = alice_client.get(reverse("measures:alert-detail", args=[row.risk_alert.uuid]))
    page = html.content.decode()
    assert "Spanish version" in page
    assert "Pensamientos de que estaría mejor muerto(a)" in page


def test_a_spanish_definition_round_trips_as_stored():
    resource = json.loads(_text("phq-9-es"))
    definition = parse_questionnaire(json.loads(json.dumps(resource))).definition
    assert definition is not None
    assert (definition.code, definition.version, definition.same_as) == (
        "PHQ-9-es", "1.0.0", "PHQ-9"
    )  # fmt: skip


def test_a_broken_rule_source_is_skipped_and_the_newest_version_of_a_panel_wins(tmp_path):
    """The recognition table reads only well-formed English files with rules; of two
    versions of one panel the newer one is the source."""
    from openipt.measures.loader import INSTRUMENTS_DIR
    from openipt.measures.scoring import parser

    english = json.loads((INSTRUMENTS_DIR / "phq-9.json").read_text(encoding="utf-8"))
    newer = {**english, "version": "99.0.0"}
    broken = {**english, "id": "broken", "item": "not a list"}  # has rules, fails to read
    for name, resource in (("a.json", english), ("b.json", newer), ("c.json", broken)):
        (tmp_path / name).write_text(json.dumps(resource), encoding="utf-8")
    by_panel, by_url = parser._rule_sources(tmp_path)
    assert parser.is_rule_source(broken)
    assert by_panel["44249-1"].version == "99.0.0"
    assert by_url[english["url"]].version == "99.0.0"
