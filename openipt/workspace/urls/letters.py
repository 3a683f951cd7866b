from django.urls import path

from openipt.workspace.views import letters

app_name = "letters"

C = "courses/<uuid:course_uuid>/letters/"

urlpatterns = [
    path(C, letters.letter_list, name="list"),
    path(C + "new/<slug:kind>/", letters.letter_create, name="create"),
    path(C + "<uuid:letter_uuid>/", letters.letter_detail, name="detail"),
    path(C + "<uuid:letter_uuid>/pdf/", letters.letter_pdf, name="pdf"),
    path("letter-templates/", letters.template_list, name="templates"),
    path("letter-templates/<slug:kind>/", letters.template_edit, name="template-edit"),
]
