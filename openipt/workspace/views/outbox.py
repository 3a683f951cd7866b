"""Emails that could not be sent: an administrator sees them and sends them again.

The outbox (openipt/core/outbox.py) retries by itself; what reaches this page is what is
still retrying after a failure, or was parked after the last attempt. Addresses are masked
and nothing of a body is shown, so no client data is read here.
"""

from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from openipt.accounts import selectors, services
from openipt.accounts.http import StaffRequest, staff_required


@staff_required
@require_GET
def outbox_list(request: StaffRequest) -> HttpResponse:
    admin = selectors.access_practice_admin(request.user)
    rows = [
        (row, [selectors.mask_address(address) for address in row.recipients])
        for row in selectors.outbox_troubles(admin)
    ]
    return render(request, "accounts/outbox.html", {"rows": rows})


@staff_required
@require_POST
def outbox_send_again(request: StaffRequest, uuid: UUID) -> HttpResponse:
    admin = selectors.access_practice_admin(request.user)
    row = selectors.access_outbox_email(admin, uuid)
    try:
        services.outbox_send_again(actor=request.user, uuid=str(row.uuid), request=request)
    except ValidationError as refused:
        messages.error(request, " ".join(refused.messages))
    else:
        messages.success(request, _("The email is queued again and will be sent shortly."))
    return redirect("accounts:outbox")
