from django.urls import path

from openipt.workspace.views import calendar as calendar_views
from openipt.workspace.views import scheduling as views

app_name = "scheduling"

A = "appointments/<uuid:uuid>/"
C = "clients/<uuid:client_uuid>/"

urlpatterns = [
    path("", calendar_views.week, name="week"),
    path(C, views.client_appointments, name="client-appointments"),
    path(C + "book/", views.book, name="book"),
    path("book/", views.book_slot, name="book-slot"),
    path(C + "appointments.ics", views.client_ics, name="client-ics"),
    path(A, views.appointment_detail, name="appointment"),
    path(A + "reschedule/", views.reschedule, name="reschedule"),
    path(A + "cancel/", views.cancel, name="cancel"),
    path(A + "outcome/", views.outcome, name="outcome"),
    path(A + "note/", views.appointment_note, name="appointment-note"),
    path("courses/<uuid:course_uuid>/series/", views.series, name="series"),
    path("feed/", views.feed_settings, name="feed-settings"),
    path("feed/<str:token>.ics", views.feed, name="feed"),
]
