from django.apps import AppConfig


class MeasuresConfig(AppConfig):
    name = "openipt.measures"
    label = "measures"
    default_auto_field = "django.db.models.BigAutoField"
