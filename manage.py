#!/usr/bin/env python
import os
import sys

# Subcommands that never open the database or Redis, so they run without starting the embedded
# servers: Django's offline tools and ours that only read files.
COMMANDS_WITHOUT_SERVICES = frozenset(
    {
        "help",
        "version",
        "check",
        "diffsettings",
        "makemigrations",
        "collectstatic",
        "findstatic",
        "compute_ratings",
        "general_level",
    }
)

# Subcommands whose statements may run long by nature (a migration rewriting a big table, an
# import): the web's statement timeout (DATABASE_STATEMENT_TIMEOUT_S) is off for them unless set.
COMMANDS_WITHOUT_STATEMENT_TIMEOUT = frozenset(
    {"migrate", "import_battles", "import_general_level", "vote_counts_rebuild", "shell", "dbshell"}
)


def _services_needed(argv: list[str]) -> bool:
    if len(argv) < 2 or argv[1].startswith("-") or argv[1] in COMMANDS_WITHOUT_SERVICES:
        return False
    # Asking any command for its help or version runs nothing.
    return not ({"-h", "--help", "--version"} & set(argv[2:]))


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from config.services import secret_key_ensure, services_ensure

    secret_key_ensure()
    if len(sys.argv) > 1 and sys.argv[1] in COMMANDS_WITHOUT_STATEMENT_TIMEOUT:
        os.environ.setdefault("DATABASE_STATEMENT_TIMEOUT_S", "0")
    if len(sys.argv) > 1 and sys.argv[1] == "arena_worker":
        # Its threads already run many tasks at once; BLAS threads on top (a snapshot's fits) fight them
        # for the cores: three times slower on a loaded 2-core machine. Set before numpy is imported.
        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    if _services_needed(sys.argv):
        services_ensure()
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
