"""Fast set-up for list tests: many clients at once, with what the list page shows."""

from __future__ import annotations

import datetime as dt

from openipt.accounts.models import Membership, User
from openipt.clients.models import CareTeamMember, Client, ClientIdentifier


def bulk_clients(primary: User, count: int, *, family: str = "Bulk") -> list[Client]:
    membership = Membership.objects.get(user=primary)
    Client.objects.bulk_create(
        Client(
            practice_id=membership.practice_id,
            legal_given_name=f"Client{i}",
            legal_family_name=family,
            search_name=f"client{i} {family.lower()}",
            date_of_birth=dt.date(1980, 1, 1),
            created_by=primary,
            updated_by=primary,
        )
        for i in range(count)
    )
    clients = list(Client.objects.filter(legal_family_name=family))
    CareTeamMember.objects.bulk_create(
        CareTeamMember(client=c, member=membership, role="primary", added_by=primary)
        for c in clients
    )
    ClientIdentifier.objects.bulk_create(
        ClientIdentifier(client=c, practice_id=c.practice_id, system="practice", value=f"B-{c.pk}")
        for c in clients
    )
    return clients
