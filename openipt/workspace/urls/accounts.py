from django.urls import path

from openipt.workspace.views import accounts as views

app_name = "accounts"

urlpatterns = [
    path("setup/", views.setup, name="setup"),
    path("staff/", views.staff_list, name="staff-list"),
    path("staff/invite/", views.staff_invite, name="staff-invite"),
    path(
        "staff/invitations/<uuid:uuid>/revoke/",
        views.invitation_revoke,
        name="invitation-revoke",
    ),
    path("staff/<uuid:uuid>/", views.staff_edit, name="staff-edit"),
    path("staff/<uuid:uuid>/deactivate/", views.staff_deactivate, name="staff-deactivate"),
    path("invitations/<str:token>/", views.invitation_accept, name="invitation-accept"),
]
