from django.urls import path

from openipt.workspace.views import core as views

app_name = "core"

urlpatterns = [
    path("", views.home, name="home"),
    path("health/", views.health, name="health"),
]
