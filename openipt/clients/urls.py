from django.urls import path

from openipt.clients import views

app_name = "clients"

urlpatterns = [
    path("", views.client_list, name="list"),
    path("new/", views.client_create, name="create"),
    path("<uuid:client_uuid>/", views.client_detail, name="detail"),
    path("<uuid:client_uuid>/edit/", views.client_edit, name="edit"),
    path("<uuid:client_uuid>/status/", views.client_status, name="status"),
    path("<uuid:client_uuid>/care-team/", views.care_team, name="care-team"),
    path("<uuid:client_uuid>/consents/new/", views.consent_create, name="consent-create"),
]
