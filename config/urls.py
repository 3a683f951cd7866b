from django.urls import include, path

urlpatterns = [
    path("", include("openipt.workspace.urls.core")),
    path("", include("openipt.workspace.urls.accounts")),
    path("accounts/", include("allauth.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("clients/", include("openipt.workspace.urls.clients")),
    path("audit/", include("openipt.workspace.urls.audit")),
    path("intake/", include("openipt.workspace.urls.intake")),
    path("", include("openipt.portal.urls")),
    path("", include("openipt.workspace.urls.treatment")),
    path("", include("openipt.workspace.urls.measures")),
    path("schedule/", include("openipt.workspace.urls.scheduling")),
    path("inbox/", include("openipt.workspace.urls.inbox")),
    path("outcomes/", include("openipt.workspace.urls.outcomes")),
    path("research-export/", include("openipt.workspace.urls.research")),
    path("", include("openipt.workspace.urls.letters")),
    path("supervision/", include("openipt.workspace.urls.supervision")),
    path("", include("openipt.api.urls")),
]

handler400 = "openipt.workspace.views.core.bad_request"
handler403 = "openipt.workspace.views.core.permission_denied"
handler404 = "openipt.workspace.views.core.page_not_found"
handler500 = "openipt.workspace.views.core.server_error"
