from django.urls import path

from openipt.workspace.views import inbox as views

app_name = "inbox"

ITEM = "<str:kind>/<uuid:uuid>/"  # one item of the inbox

urlpatterns = [
    path("", views.inbox_list, name="list"),
    path("read-all/", views.inbox_mark_all_read, name="mark-all-read"),
    path(ITEM + "open/", views.inbox_open, name="open"),
    path(ITEM + "read/", views.inbox_mark_read, name="mark-read"),
]
