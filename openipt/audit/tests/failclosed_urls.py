"""A test-only write view: changes a client and audits the change in one transaction."""

from typing import cast

from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.urls import include, path
from django.views.decorators.http import require_POST

from openipt.accounts.models import User
from openipt.audit import services
from openipt.clients.models import Client


@require_POST
@transaction.atomic
def change_phone(request: HttpRequest, client_uuid: str) -> HttpResponse:
    client = Client.objects.get(uuid=client_uuid)
    client.phone = request.POST["phone"]
    client.save(update_fields=["phone"])
    actor = cast(User, request.user)
    services.record(actor=actor, action="update", obj=client, client=client, request=request)
    return HttpResponse(f"Saved {client.phone}")


urlpatterns = [
    path("", include("config.urls")),
    path("test-only/<uuid:client_uuid>/phone/", change_phone, name="test-change-phone"),
]

handler500 = "openipt.workspace.views.core.server_error"
