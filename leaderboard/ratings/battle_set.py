"""Battles held as parallel arrays (model indices + outcome codes), and parsing of arena-format rows."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, cast

import numpy as np
import numpy.typing as npt

from leaderboard.ratings.array_types import (
    BoolArray,
    frozen_bool,
    frozen_float,
    frozen_int8,
    frozen_int32,
)

OUTCOME_A: Final = 0
OUTCOME_B: Final = 1
OUTCOME_TIE: Final = 2
OUTCOME_TIE_BOTHBAD: Final = 3

# Index = outcome code; the order is part of the compact format.
WINNER_LABELS: Final[tuple[str, ...]] = ("model_a", "model_b", "tie", "tie (bothbad)")
OUTCOME_OF_WINNER: Final[dict[str, int]] = {label: code for code, label in enumerate(WINNER_LABELS)}

# Score of side A per outcome code: both kinds of tie count as half a win.
SCORE_A_OF_OUTCOME: Final[tuple[float, ...]] = (1.0, 0.0, 0.5, 0.5)


@dataclass(frozen=True, eq=False)
class BattleSet:
    """Battles as arrays: one entry per battle, models referred to by index into `models`.

    `tstamp` is NaN where a battle had none; `anony` is False where a battle did not say.
    """

    # Any integer / float arrays are accepted; they are stored as read-only int32 / int8 / float64.
    models: tuple[str, ...]
    model_a: npt.NDArray[np.integer[Any]]
    model_b: npt.NDArray[np.integer[Any]]
    outcome: npt.NDArray[np.integer[Any]]
    tstamp: npt.NDArray[np.floating[Any]]
    anony: BoolArray
    _size: int = field(init=False, repr=False)

    def __post_init__(self) -> None:
        size = len(self.model_a)
        for name in ("model_b", "outcome", "tstamp", "anony"):
            if len(getattr(self, name)) != size:
                raise ValueError(f"BattleSet.{name} has {len(getattr(self, name))} entries, expected {size}")
        if len(set(self.models)) != len(self.models):
            raise ValueError("BattleSet.models contains a name twice")
        object.__setattr__(self, "model_a", frozen_int32(self.model_a))
        object.__setattr__(self, "model_b", frozen_int32(self.model_b))
        object.__setattr__(self, "outcome", frozen_int8(self.outcome))
        object.__setattr__(self, "tstamp", frozen_float(self.tstamp))
        object.__setattr__(self, "anony", frozen_bool(self.anony))
        object.__setattr__(self, "_size", size)
        if size:
            low = min(int(self.model_a.min()), int(self.model_b.min()))
            high = max(int(self.model_a.max()), int(self.model_b.max()))
            if low < 0 or high >= len(self.models):
                raise ValueError(f"BattleSet model index out of range 0..{len(self.models) - 1}")
            if int(self.outcome.min()) < 0 or int(self.outcome.max()) >= len(WINNER_LABELS):
                raise ValueError("BattleSet.outcome holds a code outside 0..3")

    def __len__(self) -> int:
        return self._size


def battles_filter(*, battles: BattleSet, mask: BoolArray) -> BattleSet:
    """The battles where `mask` is true, keeping the model list (indices stay valid)."""
    keep = np.asarray(mask, dtype=np.bool_)
    if keep.shape != (len(battles),):
        raise ValueError(f"mask has shape {keep.shape}, expected ({len(battles)},)")
    return BattleSet(
        models=battles.models,
        model_a=battles.model_a[keep],
        model_b=battles.model_b[keep],
        outcome=battles.outcome[keep],
        tstamp=battles.tstamp[keep],
        anony=battles.anony[keep],
    )


@dataclass(frozen=True)
class ParsedRow:
    """One validated battle row before it is given model indices."""

    model_a: str
    model_b: str
    outcome: int
    tstamp: float
    anony: bool


def row_parse(*, row: object, where: str) -> ParsedRow:
    """Validate one arena-format row; `where` ("line 7", "index 6") prefixes every error."""
    if not isinstance(row, Mapping):
        raise ValueError(
            f"{where}: expected a JSON object with model_a, model_b and winner, got {_kind(row)}"
        )
    row = cast(Mapping[str, object], row)
    names: list[str] = []
    for key in ("model_a", "model_b"):
        if key not in row:
            raise ValueError(f"{where}: missing required field {key!r}")
        value = row[key]
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"{where}: {key!r} must be a non-empty model name, got {value!r}")
        names.append(value)
    if "winner" not in row:
        raise ValueError(f"{where}: missing required field 'winner'")
    winner = row["winner"]
    if not isinstance(winner, str) or winner not in OUTCOME_OF_WINNER:
        allowed = ", ".join(repr(label) for label in WINNER_LABELS)
        raise ValueError(f"{where}: 'winner' must be one of {allowed}, got {winner!r}")
    tstamp = row.get("tstamp")
    if tstamp is None:
        stamp = math.nan
    elif isinstance(tstamp, bool) or not isinstance(tstamp, (int, float)) or not _finite(tstamp):
        raise ValueError(f"{where}: 'tstamp' must be a finite number of seconds, got {tstamp!r}")
    else:
        stamp = float(tstamp)
    anony = row.get("anony", False)
    if not isinstance(anony, bool):
        raise ValueError(f"{where}: 'anony' must be true or false, got {anony!r}")
    return ParsedRow(names[0], names[1], OUTCOME_OF_WINNER[winner], stamp, anony)


def _finite(value: float) -> bool:
    try:
        return math.isfinite(value)
    except OverflowError:  # an integer beyond the range of a float
        return False


def _kind(value: object) -> str:
    if isinstance(value, str):
        return f"the string {value[:40]!r}"
    return type(value).__name__


def battles_from_parsed(*, rows: Sequence[ParsedRow], models: Iterable[str] = ()) -> BattleSet:
    """Build a BattleSet; model indices follow the sorted union of `models` and the names in rows."""
    names = sorted(set(models) | {row.model_a for row in rows} | {row.model_b for row in rows})
    index = {name: i for i, name in enumerate(names)}
    return BattleSet(
        models=tuple(names),
        model_a=np.fromiter((index[row.model_a] for row in rows), np.int32, len(rows)),
        model_b=np.fromiter((index[row.model_b] for row in rows), np.int32, len(rows)),
        outcome=np.fromiter((row.outcome for row in rows), np.int8, len(rows)),
        tstamp=np.fromiter((row.tstamp for row in rows), np.float64, len(rows)),
        anony=np.fromiter((row.anony for row in rows), np.bool_, len(rows)),
    )


def battles_parse(*, rows: Sequence[object]) -> BattleSet:
    """Validate already-decoded rows (e.g. a JSON list); errors name the 0-based index."""
    parsed = [row_parse(row=row, where=f"index {i}") for i, row in enumerate(rows)]
    return battles_from_parsed(rows=parsed)
