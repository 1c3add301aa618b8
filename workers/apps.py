from django.apps import AppConfig


class WorkersConfig(AppConfig):
    name = "workers"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Registers the deploy check that stored API keys can be encrypted (ARENA_SECRETS_KEYS).
        from workers import secrets  # noqa: F401
