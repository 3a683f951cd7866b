from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "openipt.core"
    label = "core"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from openipt.core.middleware import start_session_clocks

        user_logged_in.connect(start_session_clocks, dispatch_uid="openipt_session_clocks")
