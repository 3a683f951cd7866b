from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "openipt.accounts"
    label = "accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from openipt.accounts import signals  # noqa: F401  (connects the audit hooks)
