"""Reads of the General-Level board: every model's report, scored from the stored tasks and scores.

Scoring runs over all tasks at once (the paper's denominators count every task, supported or
not), so the board is computed as a whole and cached under a version that changes whenever
a task, a score or a scored model's name changes.
"""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from django.db.models import Count, Max
from django.utils import timezone
from django.utils.text import slugify

from core.cache import cache_get, cache_set
from core.errors import NotFound
from core.versions import data_versions_get
from leaderboard.boards.general_level.versions import BOARD as VERSIONS
from leaderboard.general_level import (
    NON_LANGUAGE_MODALITIES,
    GeneralLevelReport,
    Modality,
    ModalityScore,
    WorkedExample,
    general_level_explain,
    general_level_score,
    task_build,
)
from leaderboard.general_level import Task as ScoredTask
from leaderboard.models import Task, TaskScore

BOARD: Final = "general-level"
# Page addresses under /leaderboard/general-level/ that a model key must never shadow.
RESERVED_KEYS: Final = frozenset({"fragment"})
MODALITY_LABELS: Final = {"image": "Image", "video": "Video", "audio": "Audio", "3d": "3D", "nlp": "Language"}
LEVELS: Final = (2, 3, 4, 5)
_CACHE_PREFIX: Final = "general-level:board:v1:"  # bump when GeneralLevelBoard changes shape
_CACHE_SECONDS: Final = 24 * 3600
_MODALITY_ORDER: Final = {m.value: i for i, m in enumerate((*NON_LANGUAGE_MODALITIES, Modality.NLP))}
_GROUP_ORDER: Final = {"comprehension": 0, "generation": 1, None: 2}


@dataclass(frozen=True)
class BoardEntry:
    """One model on the board. `key` is its page address; `arena_slug` is None for a model
    known only from imported results."""

    key: str
    name: str
    organization: str
    arena_slug: str | None
    rank: int
    report: GeneralLevelReport


@dataclass(frozen=True)
class GeneralLevelBoard:
    version: str
    generated_at: datetime
    task_counts: dict[str, int]  # modality -> number of tasks
    entries: tuple[BoardEntry, ...]  # ranked: highest level first, then by its score

    @property
    def task_count(self) -> int:
        return sum(self.task_counts.values())


# The last board this process used: a big board takes longer to unpickle from the shared cache
# than to serve, so each process keeps the current one in memory.
_local_board: GeneralLevelBoard | None = None


def general_level_version() -> str:
    """Changes whenever what the board shows changes (a task, a score, a scored model's name).

    Read from the cache, no query (see `versions`); from the tables while the cache is down.
    """
    return data_versions_get(*VERSIONS) or _general_level_version_read()


def _general_level_version_read() -> str:
    tasks = Task.objects.aggregate(count=Count("id"), latest=Max("updated_at"))
    scores = TaskScore.objects.aggregate(
        count=Count("id"), latest=Max("updated_at"), models=Max("model__updated_at")
    )
    parts = (tasks["count"], tasks["latest"], scores["count"], scores["latest"], scores["models"])
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:20]


def _scored_task(task: Task) -> ScoredTask:
    return task_build(
        name=task.name, modality=task.modality, group=task.group, metric=task.metric, sota=task.sota
    )


def _rank_key(report: GeneralLevelReport) -> tuple[float, ...]:
    return (-report.level, -report.level5, -report.level4, -report.level3, -report.level2)


def _key_unique(base: str, taken: set[str]) -> str:
    key, number = base, 1
    while key in taken or key in RESERVED_KEYS:
        number += 1
        key = f"{base}-{number}"
    taken.add(key)
    return key


def general_level_board_compute(*, version: str = "") -> GeneralLevelBoard:
    """The board from the database, uncached. Raises GeneralLevelInputError if a stored task or
    score cannot be scored (the import runs this inside its transaction to refuse such data)."""
    tasks = sorted(
        Task.objects.all(), key=lambda t: (_MODALITY_ORDER.get(t.modality, 99), _GROUP_ORDER[t.group], t.pk)
    )
    scored_tasks = [_scored_task(task) for task in tasks]
    position = {task.pk: index for index, task in enumerate(tasks)}
    # Arena models are grouped by id, the rest by the name their results were published under.
    models: dict[tuple[str, object], dict[str, Any]] = {}
    rows = TaskScore.objects.values(
        "model_id",
        "model__slug",
        "model__display_name",
        "model__organization",
        "model_name",
        "task_id",
        "score",
    ).order_by("id")
    for row in rows:
        if row["task_id"] not in position:
            continue  # a task an import added after the tasks were read; its version recomputes
        identity = ("arena", row["model_id"]) if row["model_id"] else ("name", row["model_name"])
        model = models.setdefault(
            identity,
            {
                "name": row["model__display_name"] or row["model_name"],
                "organization": row["model__organization"] or "",
                "slug": row["model__slug"],
                "scores": [None] * len(tasks),
            },
        )
        model["scores"][position[row["task_id"]]] = row["score"]

    taken = {model["slug"] for model in models.values() if model["slug"]}
    unranked = []
    for _identity, model in sorted(models.items(), key=lambda item: (item[0][0], str(item[0][1]))):
        key = model["slug"] or _key_unique(slugify(model["name"]) or "model", taken)
        report = general_level_score(tasks=scored_tasks, scores=model["scores"], model=model["name"])
        unranked.append((key, model, report))
    unranked.sort(key=lambda item: (_rank_key(item[2]), item[1]["name"].casefold()))
    counts = {m: 0 for m in _MODALITY_ORDER}
    for task in tasks:
        counts[task.modality] += 1
    return GeneralLevelBoard(
        version=version,
        generated_at=timezone.now(),
        task_counts=counts,
        entries=tuple(
            BoardEntry(
                key=key,
                name=model["name"],
                organization=model["organization"],
                arena_slug=model["slug"],
                rank=rank,
                report=report,
            )
            for rank, (key, model, report) in enumerate(unranked, start=1)
        ),
    )


def general_level_board(*, version: str | None = None) -> GeneralLevelBoard:
    """The board, computed once per version and shared through the cache.

    Pass `version` when the caller has just read it (e.g. to answer If-None-Match).
    """
    global _local_board
    version = version or general_level_version()
    local = _local_board
    if local is not None and local.version == version:
        return local
    cache_key = _CACHE_PREFIX + version
    board: GeneralLevelBoard | None = cache_get(cache_key)
    if board is None:
        board = general_level_board_compute(version=version)
        cache_set(cache_key, board, _CACHE_SECONDS)
    _local_board = board
    return board


def general_level_entry_get(*, board: GeneralLevelBoard, key: str) -> BoardEntry:
    for entry in board.entries:
        if entry.key == key:
            return entry
    raise NotFound("There is no model with that name on the General-Level board.")


def general_level_example(*, entry: BoardEntry) -> WorkedExample:
    return general_level_explain(report=entry.report)


def general_level_api_rows(*, board: GeneralLevelBoard) -> list[dict[str, Any]]:
    return [
        {
            "rank": entry.rank,
            "key": entry.key,
            "arena_slug": entry.arena_slug,
            "organization": entry.organization,
            **entry.report.to_api_dict(),
        }
        for entry in board.entries
    ]


def general_level_csv(*, board: GeneralLevelBoard) -> str:
    """One row per model: level, overall L2-L5, then L2/L3/L4 of each modality."""
    modalities = [m.value for m in NON_LANGUAGE_MODALITIES]
    header = ["rank", "model", "key", "level", "overall_L2", "overall_L3", "overall_L4", "overall_L5"]
    header += [f"{m}_{level}" for m in modalities for level in ("L2", "L3", "L4")]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for entry in board.entries:
        report = entry.report
        row: list[object] = [entry.rank, entry.name, entry.key, report.level, *report.overall.values()]
        for modality in report.modalities:
            row += [modality.level2, modality.level3, modality.level4]
        writer.writerow(row)
    return out.getvalue()


@dataclass(frozen=True)
class LevelRow:
    rank: int
    entry: BoardEntry
    value: float


LEVEL_NOTES: Final = {
    2: "Every task's score averaged, supported or not: breadth of ability.",
    3: "Only tasks where the model beats the specialist (SoTA) count.",
    4: "Synergy: beating the SoTA in both comprehension and generation of a modality.",
    5: "Level 4 weighted by language wins (S_L/100): synergy across modalities and language.",
}


@dataclass(frozen=True)
class LevelBoard:
    level: int
    note: str
    rows: tuple[LevelRow, ...]  # models scoring above 0 at this level, best first
    zero_count: int  # models scoring 0 here, left out


@dataclass(frozen=True)
class ModalityRow:
    rank: int
    entry: BoardEntry
    score: ModalityScore


@dataclass(frozen=True)
class ModalityBoard:
    modality: str
    label: str
    task_count: int
    rows: tuple[ModalityRow, ...]  # models supporting at least one of its tasks
    unsupported_count: int


def general_level_level_boards(*, board: GeneralLevelBoard) -> list[LevelBoard]:
    boards = []
    for level in LEVELS:
        symbol = f"L{level}"
        scored = [(entry.report.overall[symbol], entry) for entry in board.entries]
        above = sorted(
            ((value, entry) for value, entry in scored if value > 0),
            key=lambda pair: (-pair[0], pair[1].name.casefold()),
        )
        rows = tuple(LevelRow(rank, entry, value) for rank, (value, entry) in enumerate(above, start=1))
        boards.append(
            LevelBoard(level=level, note=LEVEL_NOTES[level], rows=rows, zero_count=len(scored) - len(rows))
        )
    return boards


def general_level_modality_boards(*, board: GeneralLevelBoard) -> list[ModalityBoard]:
    boards = []
    for modality in NON_LANGUAGE_MODALITIES:
        supported = [
            (entry.report.modality(modality), entry)
            for entry in board.entries
            if entry.report.modality(modality).supported_count
        ]
        supported.sort(key=lambda pair: (-pair[0].level4, -pair[0].level3, -pair[0].level2, pair[1].name))
        boards.append(
            ModalityBoard(
                modality=modality.value,
                label=MODALITY_LABELS[modality.value],
                task_count=board.task_counts.get(modality.value, 0),
                rows=tuple(
                    ModalityRow(rank, entry, score) for rank, (score, entry) in enumerate(supported, 1)
                ),
                unsupported_count=len(board.entries) - len(supported),
            )
        )
    return boards
