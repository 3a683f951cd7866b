from django.urls import path

from openipt.workspace.views.treatment import (
    caseload,
    course,
    fidelity,
    portfolio,
    problem_areas,
    recordings,
    records,
    session,
    termination,
)

app_name = "treatment"

C = "courses/<uuid:course_uuid>/"
S = C + "sessions/<uuid:session_uuid>/"

urlpatterns = [
    path("caseload/", caseload.caseload, name="caseload"),
    path("courses/new/<uuid:client_uuid>/", course.course_create, name="course-create"),
    path(C, course.course_detail, name="course-detail"),
    path(C + "edit/", course.course_update, name="course-update"),
    path(C + "tasks/", course.task_mark, name="task-mark"),
    path(C + "sessions/new/", session.session_create, name="session-create"),
    path(S, session.session_detail, name="session-detail"),
    path(S + "edit/", session.session_update, name="session-update"),
    path(S + "sign/", session.session_sign, name="session-sign"),
    path(S + "amend/", session.session_amend, name="session-amend"),
    path(S + "co-sign/", session.session_cosign, name="session-cosign"),
    path(S + "process-note/", session.process_note, name="process-note"),
    path(S + "fidelity/", fidelity.session_fidelity, name="session-fidelity"),
    path(S + "techniques/<slug:kind>/", session.technique_create, name="technique-create"),
    path(S + "tasks/new/", session.task_create, name="task-create"),
    path(S + "tasks/<uuid:task_uuid>/review/", session.task_review, name="task-review"),
    path(C + "inventory/", records.inventory, name="inventory"),
    path(C + "inventory/new/", records.person_create, name="person-create"),
    path(C + "inventory/copy-to-end/", records.inventory_copy, name="inventory-copy"),
    path(C + "inventory/<uuid:person_uuid>/", records.person_update, name="person-update"),
    path(C + "timeline/", records.timeline, name="timeline"),
    path(C + "timeline/new/", records.event_create, name="event-create"),
    path(C + "timeline/<uuid:event_uuid>/", records.event_update, name="event-update"),
    path(C + "problem-areas/", problem_areas.problem_areas, name="problem-areas"),
    path(
        C + "problem-areas/<uuid:area_uuid>/",
        problem_areas.problem_area_detail,
        name="problem-area",
    ),
    path(C + "formulation/", records.formulation, name="formulation"),
    path(C + "contract/", records.contract, name="contract"),
    path(C + "goals/", records.goals, name="goals"),
    path(C + "goals/<uuid:goal_uuid>/rate/", records.goal_rate, name="goal-rate"),
    path(C + "termination/", termination.termination, name="termination"),
    # Concluding from the ending page, and the maintenance course.
    path(C + "conclude/", termination.course_conclude, name="course-conclude"),
    path(C + "maintenance/", termination.course_maintenance, name="course-maintenance"),
    # The certification case portfolio of a concluded course.
    path(C + "portfolio/", portfolio.course_portfolio, name="course-portfolio"),
    path(C + "portfolio/pdf/", portfolio.course_portfolio_pdf, name="course-portfolio-pdf"),
    path(
        C + "portfolio/sign-off/",
        portfolio.course_portfolio_signoff,
        name="course-portfolio-signoff",
    ),
]

# Session recordings under consent (docs/adr/0021-session-recordings.md).
R = S + "recordings/<uuid:recording_uuid>/"
urlpatterns += [
    path(C + "recording-consent/", recordings.recording_consent, name="recording-consent"),
    path(S + "recordings/", recordings.session_recordings, name="session-recordings"),
    path(R, recordings.recording_detail, name="recording-detail"),
    path(R + "audio/", recordings.recording_audio, name="recording-audio"),
]
