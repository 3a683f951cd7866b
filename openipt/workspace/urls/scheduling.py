from django.urls import path

from openipt.workspace.views import scheduling as views

app_name = "scheduling"

A = "appointments/<uuid:uuid>/"
C = "clients/<uuid:client_uuid>/"

urlpatterns = [
    path("", views.week, name="week"),
    path(C, views.client_appointments, name="client-appointments"),
    path(C + "book/", views.book, name="book"),
    path(C + "appointments.ics", views.client_ics, name="client-ics"),
    path(A, views.appointment_detail, name="appointment"),
    path(A + "reschedule/", views.reschedule, name="reschedule"),
    path(A + "outcome/", views.outcome, name="outcome"),
    path("courses/<uuid:course_uuid>/series/", views.series, name="series"),
    path("feed/", views.feed_settings, name="feed-settings"),
    path("feed/<str:token>.ics", views.feed, name="feed"),
]
