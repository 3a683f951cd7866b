from django.urls import path

from openipt.workspace.views import clients as views
from openipt.workspace.views import emergency as emergency_views
from openipt.workspace.views import intake as intake_views

app_name = "clients"

urlpatterns = [
    path("", views.client_list, name="list"),
    path("new/", views.client_create, name="create"),
    path("emergency/", emergency_views.emergency_open, name="emergency"),
    path("<uuid:client_uuid>/", views.client_detail, name="detail"),
    path("<uuid:client_uuid>/edit/", views.client_edit, name="edit"),
    path("<uuid:client_uuid>/status/", views.client_status, name="status"),
    path("<uuid:client_uuid>/care-team/", views.care_team, name="care-team"),
    path("<uuid:client_uuid>/consents/new/", views.consent_create, name="consent-create"),
]

# The client's side (portal access, secure messages, diary).

urlpatterns += [
    path("<uuid:client_uuid>/portal/", intake_views.portal_settings, name="portal"),
    path("<uuid:client_uuid>/portal/sharing/", intake_views.portal_sharing, name="portal-sharing"),
    path("<uuid:client_uuid>/messages/", intake_views.client_messages, name="messages"),
    path(
        "<uuid:client_uuid>/messages/attachments/<uuid:attachment_uuid>/",
        intake_views.client_attachment,
        name="attachment",
    ),
    path("<uuid:client_uuid>/diary/", intake_views.client_diary, name="diary"),
]
