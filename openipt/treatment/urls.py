from django.urls import path

from openipt.treatment import views

app_name = "treatment"

C = "courses/<uuid:course_uuid>/"
S = C + "sessions/<uuid:session_uuid>/"

urlpatterns = [
    path("caseload/", views.caseload, name="caseload"),
    path("courses/new/<uuid:client_uuid>/", views.course_create, name="course-create"),
    path(C, views.course_detail, name="course-detail"),
    path(C + "edit/", views.course_update, name="course-update"),
    path(C + "tasks/", views.task_mark, name="task-mark"),
    path(C + "sessions/new/", views.session_create, name="session-create"),
    path(S, views.session_detail, name="session-detail"),
    path(S + "edit/", views.session_update, name="session-update"),
    path(S + "sign/", views.session_sign, name="session-sign"),
    path(S + "amend/", views.session_amend, name="session-amend"),
    path(S + "process-note/", views.process_note, name="process-note"),
    path(S + "techniques/<slug:kind>/", views.technique_create, name="technique-create"),
    path(S + "tasks/new/", views.task_create, name="task-create"),
    path(S + "tasks/<uuid:task_uuid>/review/", views.task_review, name="task-review"),
    path(C + "inventory/", views.inventory, name="inventory"),
    path(C + "inventory/new/", views.person_create, name="person-create"),
    path(C + "inventory/copy-to-end/", views.inventory_copy, name="inventory-copy"),
    path(C + "inventory/<uuid:person_uuid>/", views.person_update, name="person-update"),
    path(C + "timeline/", views.timeline, name="timeline"),
    path(C + "timeline/new/", views.event_create, name="event-create"),
    path(C + "timeline/<uuid:event_uuid>/", views.event_update, name="event-update"),
    path(C + "problem-areas/", views.problem_areas, name="problem-areas"),
    path(C + "problem-areas/<uuid:area_uuid>/", views.problem_area_detail, name="problem-area"),
    path(C + "formulation/", views.formulation, name="formulation"),
    path(C + "contract/", views.contract, name="contract"),
    path(C + "goals/", views.goals, name="goals"),
    path(C + "goals/<uuid:goal_uuid>/rate/", views.goal_rate, name="goal-rate"),
    path(C + "termination/", views.termination, name="termination"),
]
