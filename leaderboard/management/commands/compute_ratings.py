"""`manage.py compute_ratings --battles FILE`: a battles file's leaderboard; the database is not touched."""

from __future__ import annotations

import gc
import json
import math
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Final

import numpy as np
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from leaderboard.management.text_table import text_table
from leaderboard.ratings.battle_file import battles_read
from leaderboard.ratings.battle_set import BattleSet, battles_filter
from leaderboard.ratings.forked import Forked
from leaderboard.ratings.leaderboard import LeaderboardResult, leaderboard_compute
from leaderboard.ratings.online_elo import elo_replay

JSON_KEYS: Final = ("model", "rating", "ci_lower", "ci_upper", "rank", "online_elo", "battles", "win_rate")


class _ReplayedElo(Mapping[str, float]):
    """The online Elo of `battles`, replayed in a forked process while this one fits the ratings.

    The replay is a plain-Python loop over every battle (sequential by nature), the fit is numpy:
    on a second core they overlap. `leaderboard_compute` reads it only once the fit is done.
    """

    def __init__(self, battles: BattleSet) -> None:
        self._models = battles.models
        self._replay = Forked(
            lambda: elo_replay(
                n_models=len(battles.models),
                model_a=battles.model_a,
                model_b=battles.model_b,
                outcome=battles.outcome,
                tstamp=battles.tstamp,
            )
        )
        self._ratings: dict[str, float] | None = None

    def _resolved(self) -> dict[str, float]:
        if self._ratings is None:
            self._ratings = dict(zip(self._models, self._replay.result().tolist(), strict=True))
        return self._ratings

    def __getitem__(self, model: str) -> float:
        return self._resolved()[model]

    def __iter__(self) -> Iterator[str]:
        return iter(self._resolved())

    def __len__(self) -> int:
        return len(self._models)


def ratings_file_compute(*, path: Path, anony_only: bool, bootstrap: int, seed: int) -> LeaderboardResult:
    """Read a battles file and rate it as the live board does (same prior), online Elo replayed."""
    battles = battles_read(path=path)
    if anony_only:
        battles = battles_filter(battles=battles, mask=np.asarray(battles.anony))
    if not len(battles):
        raise ValueError("there are no battles to rate" + (" (none is anonymous)" if anony_only else ""))
    return leaderboard_compute(
        battles=battles,
        online_elo=_ReplayedElo(battles),
        bootstrap_rounds=bootstrap,
        seed=seed,
        penalty=settings.LEADERBOARD_PENALTY,
    )


def _number(value: float | None, digits: int) -> str:
    return "-" if value is None or not math.isfinite(value) else f"{value:.{digits}f}"


class Command(BaseCommand):
    help = (
        "Rate the models of a battles file (a JSON list or JSON lines in the common arena format: model_a, "
        "model_b, winner, tstamp, anony): Bradley-Terry ratings with bootstrap 95% intervals, interval-based "
        "ranks, online Elo replayed in time order, battles and win rates. Reads the file only."
    )
    requires_system_checks: list[str] = []

    def run_from_argv(self, argv: list[str]) -> None:
        # Only manage.py comes this way (call_command does not): a process that ends with this
        # command. Python's collections at exit walk every object Django and the modules made,
        # about 0.15 s; frozen, they are left to the operating system like the rest of the memory.
        super().run_from_argv(argv)
        gc.freeze()

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--battles", required=True, type=Path, help="the battles file")
        parser.add_argument("--anony-only", action="store_true", help="only the battles marked anony")
        parser.add_argument("--bootstrap", type=int, default=100, help="bootstrap rounds (default 100)")
        parser.add_argument("--seed", type=int, default=0, help="the bootstrap's random seed (default 0)")
        parser.add_argument(
            "--json",
            action="store_true",
            help="print a list of rows {" + ", ".join(f'"{key}"' for key in JSON_KEYS) + "}",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["battles"]
        if options["bootstrap"] < 1:
            raise CommandError("--bootstrap must be at least 1.")
        try:
            result = ratings_file_compute(
                path=path,
                anony_only=options["anony_only"],
                bootstrap=options["bootstrap"],
                seed=options["seed"],
            )
        except OSError as error:
            raise CommandError(f"Cannot read {path}: {error.strerror or error}.") from None
        except ValueError as error:
            raise CommandError(f"{path}: {error}") from None
        rows: list[dict[str, Any]] = result.to_dict()["rows"]  # type: ignore[assignment]
        if options["json"]:
            self.stdout.write(json.dumps([{key: row[key] for key in JSON_KEYS} for row in rows], indent=2))
            return
        table = [["Rank", "Model", "Rating", "95% interval", "Online Elo", "Battles", "Win rate"]]
        for row in rows:
            table.append(
                [
                    str(row["rank"]),
                    row["model"],
                    _number(row["rating"], 1),
                    f"{_number(row['ci_lower'], 1)} to {_number(row['ci_upper'], 1)}",
                    _number(row["online_elo"], 1),
                    str(row["battles"]),
                    "-" if row["win_rate"] is None else f"{100 * row['win_rate']:.1f}%",
                ]
            )
        components = {row["component"] for row in rows}
        note = (
            f"\n\n{len(rows)} models. They fall into {len(components)} groups that never met each other; "
            "ratings and ranks compare models within a group only."
            if len(components) > 1
            else f"\n\n{len(rows)} models."
        )
        self.stdout.write(text_table(rows=table, left_column=1) + note)
