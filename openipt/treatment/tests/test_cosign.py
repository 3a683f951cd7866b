"""Co-signing a trainee's session notes (docs/adr/0018-trainee-co-signature.md): a note
signed by a clinician in training waits for their training supervisor, who co-signs it or
returns it with a comment; the trainee answers by appending an amendment. Only final notes
reach the client's record."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from openipt.accounts import services as accounts
from openipt.accounts.models import Membership, Supervision
from openipt.audit.models import AuditEvent
from openipt.core.versioning import EditConflict
from openipt.portal.selectors import shared_session_notes
from openipt.testing.personas import make_staff
from openipt.treatment import services
from openipt.treatment.models import CoSign, Session, SessionReturn
from openipt.treatment.tests import factories
from openipt.treatment.tests.matrix import alice_in_training, alice_supervision, signed_by_trainee

pytestmark = pytest.mark.django_db


def _events(session: Session) -> list[str]:
    return list(
        AuditEvent.objects.filter(object_id=str(session.uuid))
        .order_by("id")
        .values_list("detail", flat=True)
    )


def _fresh(session: Session) -> Session:
    return Session.objects.select_related("course__client").get(pk=session.pk)


def _other_supervisor(personas):
    """Sue supervises Alice too, but Alice is not in training under her."""
    sue = make_staff(personas.practice, "sue@riverside.test", "Sue Supervisor", supervisor=True)
    Supervision.objects.create(
        practice=personas.practice,
        supervisor=Membership.objects.get(user=sue),
        supervisee=personas.membership(personas.alice),
    )
    return sue


def test_a_note_of_a_clinician_not_in_training_is_final_when_signed(personas):
    course = factories.make_course(personas.alice, personas.dana)
    session = factories.make_session(personas.alice, course, 1, progress_note="Went well.")
    signed = services.session_sign(actor=personas.alice, session=session, version=session.version)
    assert signed.cosign_status == ""
    assert signed.is_final
    assert [s.pk for s in shared_session_notes(personas.dana)] == [signed.pk]
    assert _events(signed)[-1] == "signed"


def test_a_trainees_signed_note_awaits_the_supervisor_and_is_not_shared(personas):
    signed = signed_by_trainee(personas)
    assert signed.is_signed
    assert signed.cosign_status == CoSign.AWAITING
    assert not signed.is_final
    assert shared_session_notes(personas.dana) == []
    assert _events(signed)[-1] == "signed, awaiting co-signature"


def test_the_supervisor_co_signs_and_the_note_becomes_final(personas):
    signed = signed_by_trainee(personas)
    cosigned = services.session_cosign(actor=personas.bob, session=signed, version=signed.version)
    assert cosigned.cosign_status == CoSign.COSIGNED
    assert cosigned.cosigned_by == personas.bob
    assert cosigned.cosigned_at is not None
    assert [s.pk for s in shared_session_notes(personas.dana)] == [signed.pk]
    assert _events(cosigned)[-1] == "co-signed"


def test_returned_with_a_comment_then_amended_then_co_signed(personas):
    signed = signed_by_trainee(personas)
    returned = services.session_return(
        actor=personas.bob, session=signed, version=signed.version,
        comment="Say how the argument with Sam affected her mood.",
    )  # fmt: skip
    session = _fresh(signed)
    assert session.cosign_status == CoSign.RETURNED
    assert returned.author == personas.bob
    assert SessionReturn.objects.get(session=session).comment.startswith("Say how")
    assert "returned with a comment" in _events(session)
    assert AuditEvent.objects.filter(object_id=str(returned.uuid), action="create").exists()
    assert shared_session_notes(personas.dana) == []

    services.session_amend(actor=personas.alice, session=session, text="Mood fell after it.")
    session = _fresh(session)
    assert session.cosign_status == CoSign.AWAITING
    assert _events(session)[-1] == "amended, awaiting co-signature"
    assert shared_session_notes(personas.dana) == []

    services.session_cosign(actor=personas.bob, session=session, version=session.version)
    shared = shared_session_notes(personas.dana)
    assert [s.pk for s in shared] == [session.pk]
    assert [a.text for a in shared[0].amendments.all()] == ["Mood fell after it."]


def test_returning_needs_a_comment_and_changes_nothing_without_one(personas):
    signed = signed_by_trainee(personas)
    with pytest.raises(ValidationError) as caught:
        services.session_return(actor=personas.bob, session=signed, version=signed.version,
                                comment="   ")  # fmt: skip
    assert "comment" in caught.value.error_dict
    assert _fresh(signed).cosign_status == CoSign.AWAITING
    assert not SessionReturn.objects.exists()


def test_a_co_signature_on_a_note_that_changed_since_it_was_read_is_refused(personas):
    signed = signed_by_trainee(personas)
    seen = signed.version
    services.session_amend(actor=personas.alice, session=signed, text="One more thing.")
    with pytest.raises(EditConflict):
        services.session_cosign(actor=personas.bob, session=signed, version=seen)
    assert _fresh(signed).cosign_status == CoSign.AWAITING


def test_only_the_training_supervisor_co_signs_or_returns(personas):
    signed = signed_by_trainee(personas)
    sue = _other_supervisor(personas)
    for someone in (personas.alice, sue, personas.charlie, personas.adam):
        with pytest.raises(PermissionDenied):
            services.session_cosign(actor=someone, session=signed, version=signed.version)
        with pytest.raises(PermissionDenied):
            services.session_return(actor=someone, session=signed, version=signed.version,
                                    comment="No.")  # fmt: skip
    assert _fresh(signed).cosign_status == CoSign.AWAITING


def test_a_note_not_awaiting_co_signature_cannot_be_co_signed(personas):
    alice_in_training(personas)
    course = factories.make_course(personas.alice, personas.dana)
    draft = factories.make_session(personas.alice, course, 1)
    with pytest.raises(PermissionDenied):  # an unsigned draft is nobody's to co-sign
        services.session_cosign(actor=personas.bob, session=draft, version=draft.version)
    signed = services.session_sign(actor=personas.alice, session=draft, version=draft.version)
    done = services.session_cosign(actor=personas.bob, session=signed, version=signed.version)
    with pytest.raises(ValidationError):
        services.session_cosign(actor=personas.bob, session=done, version=done.version)


def test_an_amendment_to_a_co_signed_note_waits_for_the_supervisor_again(personas):
    signed = signed_by_trainee(personas)
    services.session_cosign(actor=personas.bob, session=signed, version=signed.version)
    session = _fresh(signed)
    services.session_amend(actor=personas.alice, session=session, text="Corrected the date.")
    session = _fresh(session)
    assert session.cosign_status == CoSign.AWAITING
    assert session.cosigned_at is None
    assert shared_session_notes(personas.dana) == []


def test_ending_the_training_leaves_later_notes_final_at_signing(personas):
    alice_in_training(personas)
    accounts.supervision_training_set(
        actor=personas.adam, supervision=alice_supervision(personas), is_training=False
    )
    course = factories.make_course(personas.alice, personas.dana)
    session = factories.make_session(personas.alice, course, 1)
    signed = services.session_sign(actor=personas.alice, session=session, version=session.version)
    assert signed.is_final


def test_marking_training_is_audited_and_one_training_supervisor_at_a_time(personas):
    supervision = alice_in_training(personas)
    assert supervision.is_training
    event = AuditEvent.objects.filter(action="admin").latest("id")
    assert event.detail == "training of alice@riverside.test under bob@riverside.test: started"
    sue = _other_supervisor(personas)
    second = Supervision.objects.get(supervisor__user=sue)
    with pytest.raises(ValidationError, match="already in training"):
        accounts.supervision_training_set(actor=personas.adam, supervision=second, is_training=True)


def test_nobody_marks_training_in_a_supervision_of_their_own(personas):
    # Bob, made an administrator, still cannot mark his own supervisee's training.
    Membership.objects.filter(user=personas.bob).update(is_admin=True)
    with pytest.raises(ValidationError, match="of your own"):
        accounts.supervision_training_set(
            actor=personas.bob, supervision=alice_supervision(personas), is_training=True
        )
    with pytest.raises(PermissionDenied):  # not an administrator
        accounts.supervision_training_set(
            actor=personas.alice, supervision=alice_supervision(personas), is_training=True
        )
    assert not alice_supervision(personas).is_training


def test_the_policy_says_no_to_anyone_but_active_staff(personas):
    from openipt.accounts import policy
    from openipt.portal.tests.matrix import dana_user

    signed = signed_by_trainee(personas)
    dana = policy.active_membership(dana_user(personas))
    bob = personas.membership(personas.bob)
    for nobody in (None, dana):
        assert not policy.is_in_training(nobody)
        assert not policy.can_cosign(nobody, signed)
        assert not Session.objects.filter(policy.cosigner_q(nobody)).exists()
    assert policy.is_in_training(personas.membership(personas.alice))
    assert Session.objects.filter(policy.cosigner_q(bob)).get() == signed
    Membership.objects.filter(pk=bob.pk).update(is_active=False)
    assert not policy.is_in_training(personas.membership(personas.alice))
