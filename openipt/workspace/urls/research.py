from django.urls import path

from openipt.workspace.views import research_export as views

app_name = "research"

urlpatterns = [
    path("", views.export, name="export"),
]
