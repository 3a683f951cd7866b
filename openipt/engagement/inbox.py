"""The staff inbox: what clients did in the portal that a member of their care team has not
read yet (docs/user/calendar-and-inbox.md).

Four kinds of item from clients, newest first: a message from the client, a diary entry, a
report on a between-session task (the client said how it went) and a questionnaire the
client completed. Only clients on whose active care team the member is (the policy's write
access) are included: a supervisor reads a supervisee's records but has no inbox for them,
and nobody outside the care team sees anything.

Two kinds come first, about a trainee's session notes (docs/adr/0018-trainee-co-signature.md):
a note waiting for the member's co-signature, for the supervisor under whom its author is in
training (``policy.cosigner_q``), and a note of the member's own that their supervisor
returned with a comment. Each stays in the inbox until it is dealt with (co-signed or
returned; answered with an amendment); read state does not apply to them.

Read state: messages keep ``Message.read_at`` (set when the care team opens the
conversation, or here); the other kinds are read per person (``InboxRead``). An item is
new while the member has no read at or after the item's own time, within the last
``WINDOW`` days. Each list or count runs a fixed number of queries whatever the number of
items.
"""

from __future__ import annotations

import datetime as dt
import uuid as uuid_lib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.db import transaction
from django.db.models import Exists, F, Func, Model, OuterRef, QuerySet, Subquery
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from openipt.accounts import policy
from openipt.accounts.models import Membership
from openipt.accounts.prepared import MemberQuery
from openipt.audit import services as audit
from openipt.audit.models import AuditEvent
from openipt.clients.models import Client
from openipt.core import prepared
from openipt.engagement.models import DiaryEntry, InboxRead, Message
from openipt.measures.models import Administration
from openipt.treatment.models import BetweenSessionTask, CoSign, Session

if TYPE_CHECKING:
    from django.utils.functional import _StrPromise

    from openipt.accounts.models import User

WINDOW = dt.timedelta(days=90)
LIMIT = 200

MESSAGE = "message"
DIARY = InboxRead.Kind.DIARY.value
TASK = InboxRead.Kind.TASK.value
QUESTIONNAIRE = InboxRead.Kind.QUESTIONNAIRE.value
COSIGN = "cosign"
RETURNED = "returned"
KINDS: tuple[str, ...] = (COSIGN, RETURNED, MESSAGE, DIARY, TASK, QUESTIONNAIRE)
# Kinds that stay in the inbox until they are dealt with (no read state).
PENDING_KINDS = frozenset({COSIGN, RETURNED})
KIND_LABELS: dict[str, _StrPromise] = {
    COSIGN: _("Note to co-sign"),
    RETURNED: _("Note returned"),
    MESSAGE: _("Message"),
    DIARY: _("Diary entry"),
    TASK: _("Task report"),
    QUESTIONNAIRE: _("Questionnaire completed"),
}


class InboxItemNotFound(ObjectDoesNotExist):
    """No such item in this member's inbox (or not theirs to see): answered as 404."""


@dataclass(frozen=True)
class InboxItem:
    kind: str
    uuid: uuid_lib.UUID
    at: dt.datetime
    client: Client
    record: Any  # the Message, DiaryEntry, BetweenSessionTask, Administration or Session

    @property
    def label(self) -> str:
        return str(KIND_LABELS[self.kind])

    @property
    def is_pending(self) -> bool:
        """Stays until dealt with (a note to co-sign): it cannot be marked read."""
        return self.kind in PENDING_KINDS

    @property
    def band_label(self) -> str:
        """A completed questionnaire's band in words ("Moderate"), not its stored code."""
        code = getattr(self.record, "band", "") if self.kind == QUESTIONNAIRE else ""
        if not code:
            return ""
        bands = self.record.instrument.parsed.bands
        return next((str(b.label) for b in bands if b.code == code), code)


@dataclass(frozen=True)
class InboxCounts:
    messages: int = 0
    diary: int = 0
    tasks: int = 0
    questionnaires: int = 0
    cosign: int = 0
    returned: int = 0

    @property
    def total(self) -> int:
        clients = self.messages + self.diary + self.tasks + self.questionnaires
        return clients + self.cosign + self.returned


# --- what is new -----------------------------------------------------------------------


@dataclass(frozen=True)
class _Source:
    kind: str
    at: str  # the field holding the item's own time
    client: str  # the lookup from the item to its client
    rows: Callable[[], QuerySet[Any]]  # every item of the kind sent by clients
    related: tuple[str, ...]
    # A kind with its own rule for whom it is meant (not the care team), new until dealt with.
    scope: Callable[[Membership | None], QuerySet[Any]] | None = None


def notes_to_cosign(membership: Membership | None) -> QuerySet[Session]:
    """The session notes waiting for this member's co-signature: signed by a clinician in
    training under them, of a client they may read."""
    readable = Client.objects.filter(policy.client_access_q(membership))
    return Session.objects.filter(
        policy.cosigner_q(membership),
        cosign_status=CoSign.AWAITING,
        course__client__in=readable,
    )


def notes_returned(membership: Membership | None) -> QuerySet[Session]:
    """The member's own signed notes that their supervisor returned with a comment, of
    clients on whose care team they still are (they answer with an amendment)."""
    if membership is None:
        return Session.objects.none()
    return Session.objects.filter(
        signed_by_id=membership.user_id,
        cosign_status=CoSign.RETURNED,
        course__client__in=care_team_clients(membership),
    )


SOURCES: dict[str, _Source] = {
    MESSAGE: _Source(
        MESSAGE, "created_at", "client", lambda: Message.objects.filter(from_client=True),
        ("client",),
    ),
    DIARY: _Source(DIARY, "created_at", "client", lambda: DiaryEntry.objects.all(), ("client",)),
    TASK: _Source(
        TASK, "client_updated_at", "course__client",
        lambda: BetweenSessionTask.objects.filter(
            client_updated_at__isnull=False, reviewed_in_session__isnull=True
        ),
        ("course__client", "set_in_session"),
    ),
    QUESTIONNAIRE: _Source(
        QUESTIONNAIRE, "completed_at", "client",
        lambda: Administration.objects.filter(
            mode=Administration.Mode.CLIENT_COMPLETED, status=Administration.Status.COMPLETED
        ),
        ("client", "course", "instrument"),
    ),
    COSIGN: _Source(
        COSIGN, "updated_at", "course__client", lambda: Session.objects.all(),
        ("course__client", "signed_by"), scope=notes_to_cosign,
    ),
    RETURNED: _Source(
        RETURNED, "updated_at", "course__client", lambda: Session.objects.all(),
        ("course__client",), scope=notes_returned,
    ),
}  # fmt: skip


def care_team_clients(membership: Membership | None) -> QuerySet[Client]:
    """The clients on whose active care team ``membership`` is (nobody else's)."""
    return Client.objects.filter(policy.client_access_q(membership, write=True))


def _in_scope(source: _Source, membership: Membership | None) -> QuerySet[Any]:
    """Every item of ``source``'s kind from the member's care-team clients (read or not), or,
    for a kind with its own scope, every item meant for the member."""
    if source.scope is not None:
        return source.scope(membership)
    lookup = {f"{source.client}__in": care_team_clients(membership)}
    return source.rows().filter(**lookup)


def _unread(
    source: _Source,
    membership: Membership | None,
    *,
    client: Client | None = None,
    since: dt.datetime | None = None,
) -> QuerySet[Any]:
    """New items of ``source``'s kind: within the window (from ``since``, by default
    ``WINDOW`` ago) and not read by the member."""
    rows = _in_scope(source, membership)
    if client is not None:
        rows = rows.filter(**{source.client: client})
    if source.scope is not None:  # new until dealt with, however old
        return rows
    rows = rows.filter(**{f"{source.at}__gte": since or timezone.now() - WINDOW})
    if source.kind == MESSAGE:
        return rows.filter(read_at__isnull=True)
    seen = InboxRead.objects.filter(
        membership=membership,
        kind=source.kind,
        target_id=OuterRef("pk"),
        read_at__gte=OuterRef(source.at),
    )
    return rows.filter(~Exists(seen))


def _count(queryset: QuerySet[Any]) -> Subquery:
    counted = queryset.order_by().annotate(n=Func(F("pk"), function="COUNT")).values("n")
    return Subquery(counted[:1])


_COUNT_NAMES = {
    MESSAGE: "messages", DIARY: "diary", TASK: "tasks", QUESTIONNAIRE: "questionnaires",
    COSIGN: "cosign", RETURNED: "returned",
}  # fmt: skip


def _counts_query(
    membership: Membership, *, client: Client | None = None, since: dt.datetime | None = None
) -> QuerySet[Membership, dict[str, Any]]:
    """One row of the membership with a count per kind."""
    subqueries = {
        _COUNT_NAMES[kind]: _count(_unread(source, membership, client=client, since=since))
        for kind, source in SOURCES.items()
    }
    one = Membership.objects.filter(pk=membership.pk).annotate(**subqueries)
    row: QuerySet[Membership, dict[str, Any]] = one.values(*subqueries)
    return row


def _counts(row: Any) -> InboxCounts:
    found = dict(row or {})
    return InboxCounts(**{name: found.get(name) or 0 for name in _COUNT_NAMES.values()})


def _build_counts(
    membership: Membership, stand: prepared.Stand
) -> QuerySet[Membership, dict[str, Any]]:
    return _counts_query(membership, since=stand.time("since"))


# The navigation's badge: built once per role and process (openipt/accounts/prepared.py),
# then run with the member's own ids.
_PREPARED_COUNTS = MemberQuery(_build_counts)


def inbox_counts(membership: Membership | None, *, client: Client | None = None) -> InboxCounts:
    """How many new items of each kind (for one client when given), in one query. The
    member's own counts (every page's badge) run as a prepared query; one client's are built
    each time (the client page)."""
    if membership is None or membership.pk is None or not policy.can_see_inbox(membership):
        return InboxCounts()
    if client is None and membership.is_active:
        row = _PREPARED_COUNTS.run(membership, {"since": timezone.now() - WINDOW})
        names = [_COUNT_NAMES[kind] for kind in SOURCES]  # ``_counts_query``'s column order
        return _counts(dict(zip(names, row, strict=True)) if row else None)
    return inbox_counts_built(membership, client=client)


def inbox_counts_built(membership: Membership, *, client: Client | None = None) -> InboxCounts:
    """The same counts, built through the ORM every time: what the prepared query must always
    equal (its tests compare the two)."""
    return _counts(_counts_query(membership, client=client).first())


def inbox_items(
    membership: Membership | None,
    *,
    client: Client | None = None,
    kind: str | None = None,
    limit: int = LIMIT,
) -> list[InboxItem]:
    """The newest new items (at most ``limit``), one query per kind; notes to co-sign or to
    amend first, as they wait on the member."""
    if membership is None or not policy.can_see_inbox(membership):
        return []
    items: list[InboxItem] = []
    since = timezone.now() - WINDOW
    for source in SOURCES.values():
        if kind is not None and source.kind != kind:
            continue
        if client is None and membership.is_active:
            rows = _newest_prepared(source, membership, since=since, limit=limit)
        else:
            rows = list(_newest(source, membership, client=client, since=since)[:limit])
        items.extend(_item(source, row) for row in rows)
    items.sort(key=lambda item: item.at, reverse=True)
    items.sort(key=lambda item: not item.is_pending)  # stable: newest first within each
    return items[:limit]


def _newest(
    source: _Source, membership: Membership, *, client: Client | None, since: dt.datetime
) -> QuerySet[Any]:
    return (
        _unread(source, membership, client=client, since=since)
        .select_related(*source.related)
        .order_by(f"-{source.at}", "-pk")
    )


def _newest_ids(source: _Source, limit: int) -> MemberQuery:
    """The ids of the member's newest new items of one kind, prepared once per kind, limit
    and role (like the counts): building the six lists' queries through the policy cost
    more than running them."""
    key = (source.kind, limit)
    query = _PREPARED_IDS.get(key)
    if query is None:

        def build(membership: Membership, stand: prepared.Stand) -> QuerySet[Any]:
            since = stand.time("since") if source.scope is None else None  # no window
            rows = _unread(source, membership, since=since)
            return rows.order_by(f"-{source.at}", "-pk").values_list("pk")[:limit]

        query = _PREPARED_IDS[key] = MemberQuery(build)
    return query


_PREPARED_IDS: dict[tuple[str, int], MemberQuery] = {}


def _newest_prepared(
    source: _Source, membership: Membership, *, since: dt.datetime, limit: int
) -> list[Any]:
    """The member's newest new items of one kind: their ids from the prepared query, then
    the records with what the list shows (one more query, only when there are any)."""
    ids = [pk for (pk,) in _newest_ids(source, limit).rows(membership, {"since": since})]
    if not ids:
        return []
    records = source.rows().model.objects.filter(pk__in=ids).select_related(*source.related)
    by_id = {record.pk: record for record in records}
    return [by_id[pk] for pk in ids if pk in by_id]


def _item(source: _Source, row: Any) -> InboxItem:
    client = row.course.client if source.kind in (TASK, COSIGN, RETURNED) else row.client
    return InboxItem(source.kind, row.uuid, getattr(row, source.at), client, row)


# --- marking read -----------------------------------------------------------------------


def _member(actor: User) -> Membership:
    membership = policy.staff_membership(actor)
    if membership is None or not policy.can_see_inbox(membership):
        raise PermissionDenied
    return membership


def _find(membership: Membership, kind: str, item_uuid: uuid_lib.UUID) -> InboxItem:
    source = SOURCES.get(kind)
    if source is None:
        raise InboxItemNotFound
    row = (
        _in_scope(source, membership).select_related(*source.related).filter(uuid=item_uuid).first()
    )
    if row is None:
        raise InboxItemNotFound
    return _item(source, row)


@transaction.atomic
def inbox_item_mark_read(
    *, actor: User, kind: str, item_uuid: uuid_lib.UUID, request: HttpRequest | None = None
) -> InboxItem:
    """Mark one item read for ``actor`` (a message: for the care team). Idempotent; audited.
    ``InboxItemNotFound`` when the item is not in the actor's inbox. A pending item (a note
    to co-sign) has no read state: it is found and returned, and nothing is written."""
    membership = _member(actor)
    item = _find(membership, kind, item_uuid)
    if item.is_pending:
        return item
    now = timezone.now()
    if kind == MESSAGE:
        Message.objects.filter(pk=item.record.pk, read_at__isnull=True).update(read_at=now)
    else:
        InboxRead.objects.update_or_create(
            membership=membership, kind=kind, target_id=item.record.pk, defaults={"read_at": now}
        )
    audit.record(
        actor=actor,
        action=AuditEvent.Action.UPDATE,
        obj=item.record,
        client=item.client,
        request=request,
        detail="inbox: marked read",
    )
    return item


@transaction.atomic
def inbox_mark_all_read(
    *, actor: User, client: Client | None = None, request: HttpRequest | None = None
) -> int:
    """Mark every new item read for ``actor`` (one client's when given): one audit event per
    client concerned, with the number of items. Returns the number of items marked."""
    membership = _member(actor)
    now = timezone.now()
    per_client: dict[int, tuple[Client, int]] = {}
    for source in SOURCES.values():
        if source.kind in PENDING_KINDS:
            continue
        rows: list[Model] = list(_unread(source, membership, client=client).select_related(
            source.client
        ))  # fmt: skip
        if not rows:
            continue
        if source.kind == MESSAGE:
            Message.objects.filter(pk__in=[r.pk for r in rows]).update(read_at=now)
        else:
            InboxRead.objects.bulk_create(
                [InboxRead(membership=membership, kind=source.kind, target_id=r.pk, read_at=now)
                 for r in rows],
                update_conflicts=True,
                unique_fields=["membership", "kind", "target_id"],
                update_fields=["read_at", "updated_at"],
            )  # fmt: skip
        for row in rows:
            owner = _item(source, row).client
            _seen, n = per_client.get(owner.pk, (owner, 0))
            per_client[owner.pk] = (owner, n + 1)
    for owner, n in per_client.values():
        audit.record(
            actor=actor,
            action=AuditEvent.Action.UPDATE,
            object_type="engagement.inbox",
            client=owner,
            request=request,
            detail=f"inbox: {n} items marked read",
        )
    return sum(n for _owner, n in per_client.values())
