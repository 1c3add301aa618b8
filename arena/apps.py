from django.apps import AppConfig


class ArenaConfig(AppConfig):
    name = "arena"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Connects the receivers that bump the models' data version.
        from arena import versions  # noqa: F401
        from arena.content_filters import text_moderators

        # A bad rules file (ARENA_TEXT_FILTER_RULES) stops startup with its sentence, not the first prompt.
        text_moderators()
