"""SMART authorisation addresses: django-oauth-toolkit's endpoints under ``/oauth/`` (our
approval page in front of its authorisation view), the app pages under ``/oauth/apps/``
and the SMART configuration under the FHIR base."""

from django.urls import path
from oauth2_provider import views as dot

from openipt.api import oauth_views as views

app_name = "smart"

urlpatterns = [
    path(
        "fhir/.well-known/smart-configuration",
        views.smart_configuration,
        name="smart-configuration",
    ),
    path("oauth/authorize/", views.SmartAuthorizationView.as_view(), name="authorize"),
    path("oauth/token/", views.SmartTokenView.as_view(), name="token"),
    path("oauth/revoke_token/", dot.RevokeTokenView.as_view(), name="revoke-token"),
    path("oauth/apps/", views.app_list, name="apps"),
    path("oauth/apps/new/", views.app_register, name="app-register"),
    path("oauth/apps/connected/", views.connected, name="connected"),
    path(
        "oauth/apps/connected/<uuid:uuid>/revoke/",
        views.connected_revoke,
        name="connected-revoke",
    ),
    path("oauth/apps/<uuid:uuid>/", views.app_detail, name="app-detail"),
    path("oauth/apps/<uuid:uuid>/disable/", views.app_disable, name="app-disable"),
]
