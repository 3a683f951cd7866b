"""Fidelity ratings (docs/adr/0020-fidelity-ratings.md): the scale file, the agreement figure
against hand-worked examples, and the services: who may rate, blindness, locking once both
have rated, validation and audit."""

from __future__ import annotations

import json
import math
from dataclasses import replace

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from openipt.accounts.models import Membership, Supervision
from openipt.audit.models import AuditEvent
from openipt.clients import services as client_services
from openipt.testing.personas import make_staff
from openipt.treatment import fidelity
from openipt.treatment.fidelity import Agreement, RatingData, agreement, weighted_kappa
from openipt.treatment.models import FidelityRating, Session
from openipt.treatment.tests import factories

pytestmark = pytest.mark.django_db

# The agreement figure ------------------------------------------------------------------


def test_quadratic_weighted_kappa_matches_the_hand_worked_example():
    # Five items, therapist A and supervisor B:
    #   A = 0 1 2 3 2
    #   B = 0 2 2 3 1
    # Observed: squared differences 0, 1, 0, 0, 1 -> sum 2.
    # Chance: both raters' scores have the same counts (0:1, 1:1, 2:2, 3:1), so the expected
    # sum is (1/n) * sum over scores i of A and j of B of count_A(i) * count_B(j) * (i - j)²:
    #   i=0: 1*1*1 + 1*2*4 + 1*1*9         = 18
    #   i=1: 1*1*1 + 1*2*1 + 1*1*4         =  7
    #   i=2: 2*1*4 + 2*1*1 + 2*1*1         = 12
    #   i=3: 1*1*9 + 1*1*4 + 1*2*1         = 15
    #   total 52, divided by n = 5          = 10.4
    # kappa = 1 - 2 / 10.4 = 1 - 5/26 = 21/26 ≈ 0.808
    pairs = [(0, 0), (1, 2), (2, 2), (3, 3), (2, 1)]
    assert weighted_kappa(pairs) == pytest.approx(21 / 26)


def test_agreement_leaves_out_items_either_rater_marked_not_applicable():
    codes = ["a", "b", "c", "d", "e", "f", "g"]
    therapist = {"a": 0, "b": 1, "c": 2, "d": 3, "e": 2, "f": None, "g": 3}
    supervisor = {"a": 0, "b": 2, "c": 2, "d": 3, "e": 1, "f": 2, "g": None}
    result = agreement(therapist, supervisor, codes)
    # f and g are left out: what remains is the example above.
    assert result == Agreement(items=5, exact=3, kappa=pytest.approx(21 / 26))
    assert result.percent_exact == 60


def test_kappa_with_different_marginals():
    # A = 1 1 2 2, B = 1 2 2 3. Observed: 0 + 1 + 0 + 1 = 2.
    # Chance: every A score against every B score, (a - b)²:
    #   a=1: 0 + 1 + 1 + 4 = 6 (twice: 12); a=2: 1 + 0 + 0 + 1 = 2 (twice: 4); total 16 / 4 = 4
    # kappa = 1 - 2/4 = 0.5
    assert weighted_kappa([(1, 1), (1, 2), (2, 2), (2, 3)]) == pytest.approx(0.5)


def test_kappa_is_undefined_for_fewer_than_two_items():
    assert weighted_kappa([]) is None
    assert weighted_kappa([(2, 2)]) is None
    assert agreement({"a": 2, "b": None}, {"a": 2, "b": 1}, ["a", "b"]).kappa is None


def test_kappa_is_undefined_when_both_give_every_item_the_same_score():
    # No variation at all: chance agreement is total, kappa would be 0/0. Exact agreement
    # still says 100%.
    result = agreement({"a": 2, "b": 2, "c": 2}, {"a": 2, "b": 2, "c": 2}, ["a", "b", "c"])
    assert result.kappa is None
    assert result.percent_exact == 100


def test_kappa_is_one_for_identical_varied_scores_and_zero_for_constant_disagreement():
    assert weighted_kappa([(0, 0), (1, 1), (3, 3)]) == pytest.approx(1.0)
    # A always 1, B always 2: observed 3, chance 3 -> 0.
    assert weighted_kappa([(1, 2), (1, 2), (1, 2)]) == pytest.approx(0.0)


def test_kappa_is_below_zero_for_systematic_opposition():
    value = weighted_kappa([(0, 3), (3, 0), (1, 2), (2, 1)])
    assert value is not None
    assert value < 0
    assert math.isfinite(value)


# The scale -----------------------------------------------------------------------------


def test_the_built_in_scale_covers_every_phase_and_is_our_own_wording():
    scale = fidelity.current_scale()
    assert (scale.code, scale.version) == ("ipt-fidelity", "1")
    assert scale.source == "OpenIPT (our own wording)"
    assert [a.label for a in scale.anchors] == [
        "Not done", "Touched on", "Done adequately", "Done well"
    ]  # fmt: skip
    assert {item.phase for item in scale.items} == set(fidelity.PHASES)
    assert len(scale.items_of("all")) == 4
    assert fidelity.scale_for("ipt-fidelity", "1") is scale


def test_a_programme_loads_its_own_scale_from_a_directory(tmp_path, settings):
    own = json.loads((fidelity.BUILTIN_DIR / "ipt-fidelity-1.json").read_text())
    own |= {"id": "programme-scale", "version": "3", "title": "Our licensed scale"}
    (tmp_path / "programme-scale-3.json").write_text(json.dumps(own))
    settings.OPENIPT_FIDELITY_SCALE_DIRS = [str(tmp_path)]
    settings.OPENIPT_FIDELITY_SCALE = "programme-scale"
    assert fidelity.current_scale().title == "Our licensed scale"
    assert fidelity.scale_for("ipt-fidelity", "1").code == "ipt-fidelity"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"items": []}, "unique codes"),
        ({"anchors": [{"value": 1, "label": "x"}, {"value": 2, "label": "y"}]}, "0, 1, 2"),
        ({"items": [{"phase": "later", "code": "x", "text": "t"}]}, "unknown phase"),
        ({"overall": {"text": "How well?"}}, "missing or malformed"),
    ],
)  # fmt: skip
def test_a_malformed_scale_is_refused(change, message):
    data = json.loads((fidelity.BUILTIN_DIR / "ipt-fidelity-1.json").read_text()) | change
    with pytest.raises(ValueError, match=message):
        fidelity.parse_scale(data)


# The services --------------------------------------------------------------------------


def answers(score: int | None = 2, **overrides: int | None) -> dict[str, int | None]:
    base: dict[str, int | None] = {i.code: score for i in fidelity.current_scale().items}
    return base | {code.replace("__", "."): value for code, value in overrides.items()}


def data(score: int | None = 2, overall: int = 3, comments: str = "", **overrides: int | None
         ) -> RatingData:  # fmt: skip
    return RatingData(answers=answers(score, **overrides), overall=overall, comments=comments)


@pytest.fixture
def session(personas) -> Session:
    course = factories.make_course(personas.alice, personas.dana)
    return factories.make_session(personas.alice, course, 1)


def save(actor, session, rating_data, version=0):
    return fidelity.fidelity_rating_save(
        actor=actor, session=session, version=version, data=rating_data
    )


def test_therapist_and_supervisor_each_rate_and_roles_come_from_who_they_are(personas, session):
    own = save(personas.alice, session, data(2, comments="Kept to the focus."))
    theirs = save(personas.bob, session, data(1))
    assert own.role == FidelityRating.Role.THERAPIST
    assert theirs.role == FidelityRating.Role.SUPERVISOR
    assert (own.scale_code, own.scale_version) == ("ipt-fidelity", "1")
    assert own.answers == answers(2)
    events = AuditEvent.objects.filter(object_type="treatment.fidelityrating")
    assert [e.detail for e in events.order_by("id")] == [
        "therapist fidelity rating", "supervisor fidelity rating"
    ]  # fmt: skip
    assert all(e.client_id == personas.dana.pk for e in events)
    assert "Kept to the focus" not in " ".join(e.detail for e in events)


def test_neither_sees_the_other_until_both_have_saved(personas, session):
    save(personas.alice, session, data(3))
    bobs_view = fidelity.fidelity_page(user=personas.bob, session=session)
    assert bobs_view.own is None
    assert bobs_view.other_saved  # that Alice rated, never what
    assert bobs_view.comparisons == []
    alices_view = fidelity.fidelity_page(user=personas.alice, session=session)
    assert alices_view.comparisons == []
    assert not alices_view.other_saved

    save(personas.bob, session, data(3, initial__sick_role=1))
    for user in (personas.alice, personas.bob):
        view = fidelity.fidelity_page(user=user, session=session)
        [comparison] = view.comparisons
        assert comparison.therapist.rater == personas.alice
        assert comparison.supervisor.rater == personas.bob
        assert comparison.agreement.items == len(fidelity.current_scale().items)


def test_a_rating_changes_until_the_other_side_rates_then_it_is_fixed(personas, session):
    own = save(personas.alice, session, data(1))
    own = save(personas.alice, session, data(2), version=own.version)
    assert own.version == 2
    assert own.answers == answers(2)
    save(personas.bob, session, data(2))
    with pytest.raises(ValidationError, match="can no longer change"):
        save(personas.alice, session, data(3), version=own.version)
    assert FidelityRating.objects.get(pk=own.pk).answers == answers(2)


def test_a_stale_version_is_refused(personas, session):
    own = save(personas.alice, session, data(1))
    save(personas.alice, session, data(2), version=own.version)
    with pytest.raises(ValidationError):
        save(personas.alice, session, data(3), version=own.version)
    with pytest.raises(ValidationError):
        save(personas.bob, session, data(3), version=4)  # a first rating starts at 0


def test_every_item_needs_an_answer_from_the_scale(personas, session):
    incomplete = data(2)
    partial = dict(incomplete.answers)
    partial.pop("all.stance")
    with pytest.raises(ValidationError, match="Give every item"):
        save(personas.alice, session, replace(incomplete, answers=partial))
    with pytest.raises(ValidationError, match="scores offered"):
        save(personas.alice, session, data(2, all__stance=7))
    with pytest.raises(ValidationError):
        save(personas.alice, session, data(2, overall=9))
    assert not FidelityRating.objects.exists()


def test_a_session_that_did_not_take_place_cannot_be_rated(personas):
    course = factories.make_course(personas.alice, personas.dana)
    missed = factories.make_session(personas.alice, course, 1, attendance="no_show")
    with pytest.raises(ValidationError, match="took place"):
        save(personas.alice, missed, data(2))


def _sue_supervises_a_colleague_on_danas_care_team(personas):
    """Carl is on Dana's care team (not her therapist in this course); Sue supervises Carl,
    so both can read the course, but neither may rate Alice's session."""
    carl = make_staff(personas.practice, "carl@riverside.test", "Carl Clinician")
    client_services.care_team_add(
        actor=personas.alice, client=personas.dana, member=Membership.objects.get(user=carl)
    )
    sue = make_staff(personas.practice, "sue@riverside.test", "Sue Supervisor", supervisor=True)
    Supervision.objects.create(
        practice=personas.practice,
        supervisor=Membership.objects.get(user=sue),
        supervisee=Membership.objects.get(user=carl),
    )
    return carl, sue


def test_only_the_therapist_and_their_supervisor_may_rate(personas, session):
    carl, sue = _sue_supervises_a_colleague_on_danas_care_team(personas)
    for someone in (carl, sue, personas.adam, personas.charlie):
        with pytest.raises(PermissionDenied):
            save(someone, session, data(2))
    assert not FidelityRating.objects.exists()


def test_a_supervisor_who_no_longer_supervises_cannot_rate(personas, session):
    Supervision.objects.filter(supervisor__user=personas.bob).update(is_active=False)
    with pytest.raises(PermissionDenied):
        save(personas.bob, session, data(2))
