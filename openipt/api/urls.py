"""The API's addresses: SMART authorisation (``/oauth/`` and the SMART configuration under
the FHIR base) before the FHIR API itself, so ``/fhir/.well-known/`` is not read as a
resource type."""

from django.urls import include, path

urlpatterns = [
    path("", include("openipt.api.urls_oauth")),
    path("fhir/", include("openipt.api.urls_fhir")),
]
