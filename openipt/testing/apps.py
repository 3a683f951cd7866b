from django.apps import AppConfig


class TestingConfig(AppConfig):
    """Personas and the benchmark seed (``seed_bench``): for tests and ``make bench`` only."""

    name = "openipt.testing"
    label = "testing"
    default_auto_field = "django.db.models.BigAutoField"
