from django.urls import path

from openipt.workspace.views import audit as views

app_name = "audit"

urlpatterns = [
    path("", views.report, name="report"),
    path("export.csv", views.export, name="export"),
]
