from django.urls import path

from openipt.workspace.views import intake as intake_views

app_name = "intake"

urlpatterns = [
    path("", intake_views.intake_list, name="list"),
    path("<uuid:request_uuid>/", intake_views.intake_detail, name="detail"),
]
