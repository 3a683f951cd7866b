from django.urls import path

from openipt.workspace.views import core as views
from openipt.workspace.views import readiness

app_name = "core"

urlpatterns = [
    path("", views.home, name="home"),
    path("health/", views.health, name="health"),
    path("ready/", readiness.ready, name="ready"),
]
