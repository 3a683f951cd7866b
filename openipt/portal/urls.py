from django.urls import path

from openipt.portal import public_views, views

app_name = "portal"

urlpatterns = [
    # Public: the front door and the invitation link.
    path("consultation/", public_views.consultation_request, name="consultation"),
    path("consultation/thanks/", public_views.consultation_thanks, name="consultation-thanks"),
    path("portal/welcome/<str:token>/", public_views.welcome, name="welcome"),
    # The portal: the signed-in client's own record only.
    path("portal/", views.home, name="home"),
    path("portal/questionnaires/", views.questionnaires, name="questionnaires"),
    path(
        "portal/questionnaires/<uuid:administration_uuid>/",
        views.questionnaire,
        name="questionnaire",
    ),
    path("portal/tasks/", views.tasks, name="tasks"),
    path("portal/tasks/<uuid:task_uuid>/", views.task, name="task"),
    path("portal/diary/", views.diary_list, name="diary"),
    path("portal/diary/new/", views.diary_new, name="diary-new"),
    path("portal/goals/", views.goals, name="goals"),
    path("portal/goals/<uuid:goal_uuid>/rate/", views.goal_rate, name="goal-rate"),
    path("portal/progress/", views.progress, name="progress"),
    path("portal/messages/", views.conversation, name="messages"),
    path(
        "portal/messages/attachments/<uuid:attachment_uuid>/",
        views.attachment,
        name="attachment",
    ),
    path("portal/safety-plan/", views.safety_plan, name="safety-plan"),
    path("portal/help/", views.help_now, name="help"),
    path("portal/language/", views.language, name="language"),
    path("portal/record/", views.my_record, name="record"),
    path("portal/record/pdf/", views.my_record_pdf, name="record-pdf"),
    path("portal/record/fhir/", views.my_record_fhir, name="record-fhir"),
]
