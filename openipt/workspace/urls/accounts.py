from django.urls import path

from openipt.workspace.views import accounts as views
from openipt.workspace.views import emergency as emergency_views
from openipt.workspace.views import outbox as outbox_views

app_name = "accounts"

urlpatterns = [
    path("setup/", views.setup, name="setup"),
    path("language/", views.language_settings, name="language"),
    path("staff/", views.staff_list, name="staff-list"),
    path("staff/invite/", views.staff_invite, name="staff-invite"),
    path(
        "staff/invitations/<uuid:uuid>/revoke/",
        views.invitation_revoke,
        name="invitation-revoke",
    ),
    path("staff/grants/", views.grant_list, name="grant-list"),
    path("staff/grants/<uuid:uuid>/approve/", views.grant_approve, name="grant-approve"),
    path("staff/grants/<uuid:uuid>/refuse/", views.grant_refuse, name="grant-refuse"),
    path(
        "staff/emergency-access/",
        emergency_views.emergency_review_list,
        name="emergency-access",
    ),
    path("staff/duplicates/", emergency_views.duplicate_list, name="duplicates"),
    path("staff/email/", outbox_views.outbox_list, name="outbox"),
    path(
        "staff/email/<uuid:uuid>/send-again/",
        outbox_views.outbox_send_again,
        name="outbox-send-again",
    ),
    path(
        "staff/emergency-access/<uuid:uuid>/review/",
        emergency_views.emergency_review,
        name="emergency-access-review",
    ),
    path("staff/<uuid:uuid>/", views.staff_edit, name="staff-edit"),
    path("staff/<uuid:uuid>/deactivate/", views.staff_deactivate, name="staff-deactivate"),
    path(
        "staff/<uuid:uuid>/supervisions/<uuid:supervision_uuid>/training/",
        views.supervision_training,
        name="supervision-training",
    ),
    path("invitations/<str:token>/", views.invitation_accept, name="invitation-accept"),
    # Practice settings: crisis contacts
    path("practice/settings/", views.practice_settings, name="practice-settings"),
]
