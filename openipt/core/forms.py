"""The project's form renderer: every form field renders through one component.

``{{ field.as_field_group }}`` renders ``components/field.html`` (label, "(optional)"
marker when asked for, help text ``<id>_helptext``, the error next to the field
``<id>_error``; Django adds ``aria-describedby``/``aria-invalid`` to the input), and
``{{ form }}`` renders ``components/form.html`` (error summary, hidden fields, every field).

Templates are looked up through ``settings.TEMPLATES`` first, so the project's templates
directory can override any of them; Django's own form and widget templates
(``django/forms/...``) are found through Django's built-in form engine, so "django.forms"
need not be an installed app.
"""

from __future__ import annotations

from typing import Any

from django.forms.renderers import DjangoTemplates, TemplatesSetting
from django.template import TemplateDoesNotExist


class FormRenderer(TemplatesSetting):
    field_template_name = "components/field.html"
    form_template_name = "components/form.html"

    _builtin = DjangoTemplates()

    def get_template(self, template_name: str) -> Any:
        try:
            return super().get_template(template_name)
        except TemplateDoesNotExist:
            return self._builtin.get_template(template_name)
