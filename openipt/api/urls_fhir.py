"""``/fhir/``: the capability statement, ``$everything``, and read, search, create and update
by resource type (which types exist is ``openipt.fhir.search.KINDS``)."""

from django.urls import path, re_path

from openipt.api import views_bulk as bulk
from openipt.api import views_fhir as views

app_name = "fhir"

urlpatterns = [
    path("metadata", views.metadata, name="metadata"),
    # Bulk Data Access (docs/fhir-api.md "Bulk export"): kick-off, status, files.
    path("$export", bulk.kick_off, {"level": "system"}, name="export"),
    path("Patient/$export", bulk.kick_off, {"level": "patient"}, name="export-patients"),
    path("Group/<str:group_id>/$export", bulk.kick_off, {"level": "group"}, name="export-group"),
    path("$export-status/<uuid:job>", bulk.status, name="export-status"),
    path("$export-file/<uuid:job>/<str:name>", bulk.download, name="export-file"),
    path("Patient/<str:resource_id>/$everything", views.patient_everything, name="everything"),
    re_path(
        r"^(?P<resource_type>[A-Za-z]+)/(?P<resource_id>[^/]+)/_history(?:/(?P<rest>.*))?$",
        views.history_refused,
        name="history",
    ),
    path("<str:resource_type>/<str:resource_id>", views.instance_level, name="instance"),
    path("<str:resource_type>", views.type_level, name="type"),
    re_path(r"^(?P<rest>.*)$", views.unknown, name="unknown"),
]
