from django.urls import path

from openipt.workspace.views import outcomes as views

app_name = "outcomes"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
]
