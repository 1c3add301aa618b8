from django.apps import AppConfig


class LeaderboardConfig(AppConfig):
    name = "leaderboard"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The arena board's receivers of `arena.signals.vote_cast`, and the General-Level version's.
        from leaderboard.boards.arena import outliers, receivers  # noqa: F401
        from leaderboard.boards.general_level import versions  # noqa: F401
