"""Fidelity ratings of a session (docs/adr/0020-fidelity-ratings.md).

The therapist rates their own session and their supervisor rates the same session, each
blind to the other's answers until both have saved; then both see both ratings and how far
they agree.

- **Scales are versioned data.** A scale is a JSON file (``fidelity_scales/*.json``, plus any
  directory a programme lists in ``OPENIPT_FIDELITY_SCALE_DIRS`` for a scale it holds a
  licence for): id, version, title, source, anchors, the overall rating and the items, each
  with a phase, a code and its text. A rating keeps the scale's id and version, so an old
  rating is always read with the items it was made on; a changed scale is a new version in a
  new file, never an edit of an old one.
- **Agreement** is a quadratic-weighted Cohen's kappa over the items both raters scored (an
  item either marked "not applicable" is left out), with the simple percent of exact
  agreement beside it (``weighted_kappa``, ``agreement``).
- **Blindness** is kept here, not in the template: ``fidelity_page`` hands out another
  rater's rating only once the reader's own is saved, and a rating can no longer change once
  the other side's exists (``fidelity_rating_save``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext as _

from openipt.accounts import policy
from openipt.accounts.models import User
from openipt.audit import services as audit
from openipt.audit.models import AuditEvent
from openipt.core.versioning import EditConflict, update_versioned
from openipt.treatment.models import FidelityRating, Session

BUILTIN_DIR = Path(__file__).resolve().parent / "fidelity_scales"
DEFAULT_SCALE = "ipt-fidelity"
PHASES = ("all", "initial", "middle", "termination")
Role = FidelityRating.Role
Answers = Mapping[str, int | None]  # item code -> score, or None for "not applicable"

# Scales ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Anchor:
    value: int
    label: str


@dataclass(frozen=True)
class Item:
    phase: str  # "all" (every phase), "initial", "middle" or "termination"
    code: str
    text: str


@dataclass(frozen=True)
class Scale:
    code: str
    version: str
    title: str
    source: str
    anchors: tuple[Anchor, ...]
    overall_text: str
    overall_anchors: tuple[Anchor, ...]
    items: tuple[Item, ...]

    def label(self, value: int | None) -> str:
        return _anchor_label(self.anchors, value)

    def overall_label(self, value: int | None) -> str:
        return _anchor_label(self.overall_anchors, value)

    def items_of(self, phase: str) -> list[Item]:
        return [item for item in self.items if item.phase == phase]


def _anchor_label(anchors: Sequence[Anchor], value: int | None) -> str:
    if value is None:
        return _("Not applicable")
    for anchor in anchors:
        if anchor.value == value:
            return f"{anchor.value} · {anchor.label}"
    return str(value)


def _anchors(raw: Any, where: str) -> tuple[Anchor, ...]:
    if not isinstance(raw, list) or len(raw) < 2:
        raise ValueError(f"{where}: at least two anchors are needed")
    anchors = tuple(Anchor(value=int(a["value"]), label=str(a["label"])) for a in raw)
    values = [a.value for a in anchors]
    if values != list(range(len(values))):
        raise ValueError(f"{where}: anchor values must run 0, 1, 2, ...")
    return anchors


def parse_scale(data: Mapping[str, Any]) -> Scale:
    """A scale from its JSON; ``ValueError`` naming what is wrong."""
    try:
        items = tuple(
            Item(phase=str(i["phase"]), code=str(i["code"]), text=str(i["text"]))
            for i in data["items"]
        )
        scale = Scale(
            code=str(data["id"]),
            version=str(data["version"]),
            title=str(data["title"]),
            source=str(data["source"]),
            anchors=_anchors(data["anchors"], "anchors"),
            overall_text=str(data["overall"]["text"]),
            overall_anchors=_anchors(data["overall"]["anchors"], "overall"),
            items=items,
        )
    except (KeyError, TypeError) as exc:
        raise ValueError(f"missing or malformed field: {exc}") from exc
    codes = [item.code for item in scale.items]
    if not codes or len(set(codes)) != len(codes):
        raise ValueError("items need unique codes")
    unknown = {item.phase for item in scale.items} - set(PHASES)
    if unknown:
        raise ValueError(f"unknown phase(s): {', '.join(sorted(unknown))}")
    return scale


def scale_dirs() -> list[Path]:
    extra = getattr(settings, "OPENIPT_FIDELITY_SCALE_DIRS", [])
    return [BUILTIN_DIR, *(Path(d) for d in extra)]


@cache
def _scales(dirs: tuple[Path, ...]) -> dict[tuple[str, str], Scale]:
    scales: dict[tuple[str, str], Scale] = {}
    for directory in dirs:
        for path in sorted(directory.glob("*.json")):
            try:
                scale = parse_scale(json.loads(path.read_text(encoding="utf-8")))
            except (ValueError, json.JSONDecodeError) as exc:
                raise ValueError(f"{path.name}: {exc}") from exc
            key = (scale.code, scale.version)
            if key in scales:
                raise ValueError(f"{path.name}: {scale.code} version {scale.version} twice")
            scales[key] = scale
    return scales


def all_scales() -> dict[tuple[str, str], Scale]:
    return _scales(tuple(scale_dirs()))


def scale_for(code: str, version: str) -> Scale:
    """The scale a rating was made on; ``LookupError`` if its file is gone."""
    try:
        return all_scales()[(code, version)]
    except KeyError:
        raise LookupError(f"fidelity scale {code} version {version} is not installed") from None


def _version_key(version: str) -> tuple[int, str]:
    return (int(version), "") if version.isdigit() else (-1, version)


def current_scale() -> Scale:
    """The scale new ratings use: the newest version of ``OPENIPT_FIDELITY_SCALE`` (ours by
    default)."""
    code = getattr(settings, "OPENIPT_FIDELITY_SCALE", DEFAULT_SCALE)
    versions = [s for (c, _v), s in all_scales().items() if c == code]
    if not versions:
        raise LookupError(f"fidelity scale {code} is not installed")
    return max(versions, key=lambda s: _version_key(s.version))


# Agreement -------------------------------------------------------------------------------


def weighted_kappa(pairs: Sequence[tuple[int, int]]) -> float | None:
    """Quadratic-weighted Cohen's kappa for two raters' scores on the same items.

    kappa = 1 - (sum of (a - b)² over the items) / (the same sum expected by chance), where
    the chance sum pairs every score of rater A with every score of rater B, divided by the
    number of items (this is the usual sum over the marginal table; the weights'
    normalisation by (k - 1)² cancels, so the number of anchor points does not matter).

    ``None`` (undefined) when there are fewer than two items, or when the chance sum is zero:
    that happens only when both raters gave every item one and the same score. They then
    agree perfectly, but kappa is 0/0; the percent of exact agreement says 100% instead.
    """
    n = len(pairs)
    if n < 2:
        return None
    first = [a for a, _b in pairs]
    second = [b for _a, b in pairs]
    observed = sum((a - b) ** 2 for a, b in pairs)
    expected = sum((a - b) ** 2 for a in first for b in second) / n
    if expected == 0:
        return None
    return 1 - observed / expected


@dataclass(frozen=True)
class Agreement:
    items: int  # items both raters scored (not "not applicable" by either)
    exact: int  # of those, the items with the same score
    kappa: float | None

    @property
    def percent_exact(self) -> int | None:
        return round(100 * self.exact / self.items) if self.items else None


def agreement(first: Answers, second: Answers, codes: Sequence[str]) -> Agreement:
    """Agreement over ``codes`` between two sets of answers; "not applicable" (``None``) or a
    missing answer by either rater leaves the item out."""
    pairs = [
        (a, b)
        for code in codes
        if (a := first.get(code)) is not None and (b := second.get(code)) is not None
    ]
    return Agreement(
        items=len(pairs), exact=sum(a == b for a, b in pairs), kappa=weighted_kappa(pairs)
    )


# Writing a rating ------------------------------------------------------------------------


@dataclass(frozen=True)
class RatingData:
    answers: Answers
    overall: int
    comments: str = ""


def rater_role(user: User, session: Session) -> str:
    """Therapist for the session's own clinician, supervisor for anyone else allowed."""
    membership = policy.staff_membership(user)
    return Role.THERAPIST if policy.is_session_therapist(membership, session) else Role.SUPERVISOR


def _counterparts(session: Session, role: str, rater: User) -> QuerySet[FidelityRating]:
    """The ratings a rater in ``role`` is compared with: the supervisors' for the therapist,
    the therapist's for a supervisor."""
    other = Role.SUPERVISOR if role == Role.THERAPIST else Role.THERAPIST
    return FidelityRating.objects.filter(session=session, role=other).exclude(rater=rater)


def _clean_answers(scale: Scale, data: RatingData) -> dict[str, int | None]:
    allowed = {a.value for a in scale.anchors}
    codes = [item.code for item in scale.items]
    if set(data.answers) != set(codes):
        raise ValidationError(_("Give every item a score, or mark it not applicable."))
    for value in data.answers.values():
        if value is not None and value not in allowed:
            raise ValidationError(_("Choose one of the scores offered for each item."))
    if data.overall not in {a.value for a in scale.overall_anchors}:
        raise ValidationError({"overall": _("Choose one of the overall ratings.")})
    return {code: data.answers[code] for code in codes}


def scale_to_use(user: User, session: Session) -> Scale:
    """The scale this rater rates on: their own rating's, else the other side's (so both
    rate on the same items), else the current one."""
    own = FidelityRating.objects.filter(session=session, rater=user).first()
    first = own or _counterparts(session, rater_role(user, session), user).first()
    if first is not None:
        return scale_for(first.scale_code, first.scale_version)
    return current_scale()


@transaction.atomic
def fidelity_rating_save(
    *,
    actor: User,
    session: Session,
    version: int,
    data: RatingData,
    request: HttpRequest | None = None,
) -> FidelityRating:
    """Save the actor's own rating of the session: created from version 0, then changed at
    the version it was opened at, until the other side has rated too; from then on the two
    are compared and neither changes. The audit event names the rating, never its answers."""
    membership = policy.staff_membership(actor)
    client = session.course.client
    if not (
        policy.can_rate_fidelity(membership, session)
        and policy.can_access_client(membership, client)
    ):
        raise PermissionDenied
    # The session row is locked so that two raters saving at once are taken in turn.
    locked = Session.objects.select_for_update().get(pk=session.pk)
    if locked.attendance != Session.Attendance.ATTENDED:
        raise ValidationError(_("Only a session that took place can be rated."))
    role = rater_role(actor, session)
    own = FidelityRating.objects.filter(session=session, rater=actor).first()
    if own is not None and _counterparts(session, role, actor).exists():
        raise ValidationError(
            _(
                "The other rating of this session has been saved, so the two are now "
                "compared and yours can no longer change."
            )
        )
    scale = scale_to_use(actor, session)
    answers = _clean_answers(scale, data)
    values = {"answers": answers, "overall": data.overall, "comments": data.comments}
    if own is None:
        if version != 0:
            raise EditConflict()
        own = FidelityRating(
            session=session, rater=actor, role=role, scale_code=scale.code,
            scale_version=scale.version, created_by=actor, updated_by=actor, **values,
        )  # fmt: skip
        own.full_clean()
        own.save()
        action = AuditEvent.Action.CREATE
    else:
        own = update_versioned(own, version=version, changes=values, updated_by=actor)
        action = AuditEvent.Action.UPDATE
    audit.record(
        actor=actor, action=action, obj=own, client=client, request=request,
        detail=f"{role} fidelity rating",
    )  # fmt: skip
    return own


# Reading, blind until both have rated ----------------------------------------------------


@dataclass(frozen=True)
class ItemRow:
    item: Item
    therapist: str
    supervisor: str
    compared: bool  # both scored it (neither marked it not applicable)
    same: bool


@dataclass(frozen=True)
class Comparison:
    therapist: FidelityRating
    supervisor: FidelityRating
    scale: Scale
    rows: list[ItemRow]
    agreement: Agreement
    therapist_overall: str
    supervisor_overall: str


def compare(therapist: FidelityRating, supervisor: FidelityRating) -> Comparison:
    """The two ratings side by side, item by item, with their agreement."""
    scale = scale_for(therapist.scale_code, therapist.scale_version)
    rows = []
    for item in scale.items:
        t, s = therapist.answers.get(item.code), supervisor.answers.get(item.code)
        compared = t is not None and s is not None
        rows.append(ItemRow(item, scale.label(t), scale.label(s), compared, compared and t == s))
    codes = [item.code for item in scale.items]
    return Comparison(
        therapist, supervisor, scale, rows,
        agreement(therapist.answers, supervisor.answers, codes),
        scale.overall_label(therapist.overall), scale.overall_label(supervisor.overall),
    )  # fmt: skip


@dataclass(frozen=True)
class FidelityPage:
    role: str
    scale: Scale
    own: FidelityRating | None
    other_saved: bool  # the other side has rated (nothing of it is shown until own is saved)
    comparisons: list[Comparison]


def fidelity_page(*, user: User, session: Session) -> FidelityPage:
    """What ``user`` may see of the session's ratings: their own, and only once it is saved,
    the other side's with the comparison. The caller has checked ``can_rate_fidelity``."""
    role = rater_role(user, session)
    own = FidelityRating.objects.filter(session=session, rater=user).first()
    others = _counterparts(session, role, user)
    if own is None:  # blind: only whether the other side has rated, never what
        return FidelityPage(role, scale_to_use(user, session), None, others.exists(), [])
    rows = list(others.select_related("rater"))
    own_scale = scale_for(own.scale_code, own.scale_version)
    pairs = [(own, other) if role == Role.THERAPIST else (other, own) for other in rows]
    return FidelityPage(role, own_scale, own, bool(rows), [compare(t, s) for t, s in pairs])
