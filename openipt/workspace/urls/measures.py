from django.urls import path

from openipt.workspace.views import measures as views

app_name = "measures"

C = "courses/<uuid:course_uuid>/measures/"

urlpatterns = [
    path(C, views.course_measures, name="course-measures"),
    path(C + "new/", views.administration_create, name="administration-create"),
    path(C + "assign/", views.administration_assign, name="administration-assign"),
    path("questionnaires/", views.instrument_library, name="instruments"),
    path("alerts/", views.alert_list, name="alerts"),
    path("alerts/practice/", views.practice_alerts, name="practice-alerts"),
    path("alerts/<uuid:alert_uuid>/", views.alert_detail, name="alert-detail"),
    path("clients/<uuid:client_uuid>/safety-plan/", views.safety_plan, name="safety-plan"),
    path(
        "clients/<uuid:client_uuid>/safety-plan/history/",
        views.safety_plan_history,
        name="safety-plan-history",
    ),
]
