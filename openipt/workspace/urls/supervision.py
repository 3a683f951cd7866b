from django.urls import path

from openipt.workspace.views import supervision

app_name = "supervision"

M = "meetings/<uuid:meeting_uuid>/"
F = "follow-ups/<uuid:follow_up_uuid>/"

urlpatterns = [
    path("", supervision.workspace, name="workspace"),
    path("meetings/new/", supervision.meeting_create, name="meeting-create"),
    path(M, supervision.meeting_detail, name="meeting-detail"),
    path(M + "edit/", supervision.meeting_edit, name="meeting-edit"),
    path(M + "sign/", supervision.meeting_sign, name="meeting-sign"),
    path(M + "amend/", supervision.meeting_amend, name="meeting-amend"),
    path(F + "done/", supervision.follow_up_done, name="follow-up-done"),
]
