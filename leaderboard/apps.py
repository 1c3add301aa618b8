from django.apps import AppConfig


class LeaderboardConfig(AppConfig):
    name = "leaderboard"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Connects the arena board's receivers of `arena.signals.vote_cast`.
        from leaderboard.boards.arena import receivers  # noqa: F401
