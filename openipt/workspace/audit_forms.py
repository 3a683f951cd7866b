from __future__ import annotations

import uuid
from typing import Any, cast

from django import forms
from django.utils.translation import gettext_lazy as _

from openipt.accounts.models import Membership, Practice, User
from openipt.workspace.audit_report import AuditFilters


class StaffChoiceField(forms.ModelChoiceField[User]):
    def label_from_instance(self, obj: User) -> str:
        membership = obj.memberships.all()[0] if obj.memberships.all() else None
        label = f"{obj.full_name or obj.email} ({obj.email})"
        if membership is not None and not membership.is_active:
            label += " · " + str(_("no longer active"))
        return label


class AuditFilterForm(forms.Form):
    """Filters for the audit report and its CSV export (read from the query string)."""

    date_from = forms.DateField(
        label=_("From"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("First day, in the practice's time zone."),
    )
    date_to = forms.DateField(
        label=_("To"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Last day, included."),
    )
    user = StaffChoiceField(
        label=_("User"),
        required=False,
        queryset=User.objects.none(),
        to_field_name="uuid",
        empty_label=_("Everyone"),
    )
    client = forms.CharField(
        label=_("Client"),
        required=False,
        max_length=100,
        help_text=_("A client's ID, or part of their name."),
    )

    def __init__(self, *args: Any, practice: Practice, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.practice = practice
        staff = cast(StaffChoiceField, self.fields["user"])
        staff.queryset = (
            User.objects.filter(
                memberships__practice=practice, memberships__kind=Membership.Kind.STAFF
            )
            .prefetch_related("memberships")
            .order_by("full_name", "email")
        )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", _("The end date is before the start date."))
        return cleaned

    def filters(self) -> AuditFilters:
        """The validated filters; call only after ``is_valid()`` returned True."""
        data = self.cleaned_data
        term = (data.get("client") or "").strip()
        client_uuid: uuid.UUID | None = None
        try:
            client_uuid = uuid.UUID(term) if term else None
        except ValueError:
            client_uuid = None
        return AuditFilters(
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
            user=data.get("user"),
            client_uuid=client_uuid,
            client_name=term if term and client_uuid is None else "",
        )
