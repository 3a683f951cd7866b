from django.urls import include, path

urlpatterns = [
    path("", include("openipt.core.urls")),
    path("", include("openipt.accounts.urls")),
    path("accounts/", include("allauth.urls")),
    path("clients/", include("openipt.clients.urls")),
    path("audit/", include("openipt.audit.urls")),
    path("intake/", include("openipt.clients.intake_urls")),
    path("", include("openipt.portal.urls")),
    path("", include("openipt.treatment.urls")),
    path("", include("openipt.measures.urls")),
    path("schedule/", include("openipt.scheduling.urls")),
]

handler400 = "openipt.core.views.bad_request"
handler403 = "openipt.core.views.permission_denied"
handler404 = "openipt.core.views.page_not_found"
handler500 = "openipt.core.views.server_error"
