"""Changes to General-Level data: importing tasks and model scores from a file.

An import is all or nothing: the file is read and checked completely before anything is
written, the writes share one transaction, and the whole board is rescored inside it so a
file that would leave the board unscorable is refused too. Imports run one at a time.

Models: a name in the file that matches an arena model (its slug, its display name, or a
name that slugifies to its slug) is stored against that model. Any other name is stored
with no arena model, under the name itself: published results cover many models nobody
hosts here, and the board ranks them all. Once such a model joins the arena, the next
import links its earlier rows to it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from django.db import connection, transaction
from django.utils import timezone

from arena.models import Model
from core.errors import InvalidInput
from core.versions import data_versions_bump
from leaderboard.boards.general_level.files import GeneralLevelFile, general_level_file_read
from leaderboard.boards.general_level.selectors import (
    BOARD,
    general_level_board_compute,
    general_level_version,
)
from leaderboard.boards.general_level.versions import GENERAL_LEVEL
from leaderboard.general_level import GeneralLevelInputError, ImportReport
from leaderboard.general_level import Task as ScoredTask
from leaderboard.live import board_updated_publish
from leaderboard.models import Task, TaskScore
from leaderboard.names import arena_models_match

# Any constant: the key of the PostgreSQL advisory lock that serialises imports.
_IMPORT_LOCK_KEY: Final = 0x474C_494D_504F_5254
_NAME_LIMIT: Final = 200  # Task.name and TaskScore.model_name
_METRIC_LIMIT: Final = 100
_DETAIL_LIMIT: Final = 300

TaskKey = tuple[str, str, str | None]  # name, modality, group


@dataclass(frozen=True)
class WriteCounts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    def to_dict(self) -> dict[str, int]:
        return {"created": self.created, "updated": self.updated, "unchanged": self.unchanged}


@dataclass(frozen=True)
class GeneralLevelImportResult:
    report: ImportReport
    tasks: WriteCounts
    scores: WriteCounts
    models_in_arena: dict[str, str]  # name in the file -> arena slug
    models_not_in_arena: tuple[str, ...]
    linked: tuple[str, ...] = field(default=())  # earlier names now linked to an arena model

    @property
    def changed(self) -> bool:
        written = (self.tasks.created, self.tasks.updated, self.scores.created, self.scores.updated)
        return any(written) or bool(self.linked)

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.report.to_dict(),
            "written": {"tasks": self.tasks.to_dict(), "scores": self.scores.to_dict()},
            "models": {
                "in_arena": dict(self.models_in_arena),
                "not_in_arena": list(self.models_not_in_arena),
                "linked": list(self.linked),
            },
        }


def _task_key(task: ScoredTask) -> TaskKey:
    return (task.name, task.modality.value, None if task.group is None else task.group.value)


def _task_label(key: TaskKey) -> str:
    name, modality, group = key
    return f"{name!r} ({modality}{' ' + group if group else ''})"


def _file_check(*, file: GeneralLevelFile) -> None:
    """What the loaders accept but the database cannot hold."""
    seen: set[TaskKey] = set()
    for task in file.imported.tasks:
        key = _task_key(task)
        if key in seen:
            raise InvalidInput(
                f"{file.filename} lists task {_task_label(key)} twice; task names must be unique "
                "within a modality and group."
            )
        seen.add(key)
        if len(task.name) > _NAME_LIMIT:
            raise InvalidInput(
                f"{file.filename}: task name {task.name[:40]!r}… is over {_NAME_LIMIT} characters."
            )
        if len(task.metric) > _METRIC_LIMIT:
            raise InvalidInput(
                f"{file.filename}: task {task.name!r} has a metric name over {_METRIC_LIMIT} characters."
            )
    names: set[str] = set()
    for model in file.imported.models:
        name = model.name.strip()
        if not name:
            raise InvalidInput(f"{file.filename} has a model with an empty name.")
        if name in names:
            raise InvalidInput(f"{file.filename} lists model {name!r} twice.")
        names.add(name)
        if len(name) > _NAME_LIMIT:
            raise InvalidInput(
                f"{file.filename}: model name {name[:40]!r}… is over {_NAME_LIMIT} characters."
            )


def _unlisted_rows_link() -> tuple[str, ...]:
    """Give rows stored under a bare name to the arena model that name now stands for.

    Where the model already has a score for the task, that score is kept and the bare-name
    row is dropped: the board would otherwise show the model twice.
    """
    names = list(TaskScore.objects.filter(model=None).values_list("model_name", flat=True).distinct())
    try:
        matched = arena_models_match(names=names, filename="stored scores")
    except InvalidInput:
        # An ambiguous stored name stays unlinked; the file being imported is not at fault.
        matched = {}
    now = timezone.now()
    for name, model in matched.items():
        unlisted = TaskScore.objects.filter(model=None, model_name=name)
        unlisted.filter(task__in=Task.objects.filter(scores__model=model)).delete()
        unlisted.update(model=model, updated_at=now)
    return tuple(sorted(matched))


def _tasks_upsert(*, file: GeneralLevelFile) -> tuple[list[Task], WriteCounts]:
    """The stored task for each of the file's tasks, in the file's order."""
    tasks = file.imported.tasks
    keys = [_task_key(task) for task in tasks]
    existing = {
        (task.name, task.modality, task.group): task
        for task in Task.objects.select_for_update().filter(name__in={key[0] for key in keys})
    }
    fallback = file.citation or f"Imported from {Path(file.filename).name}"
    now = timezone.now()
    stored: list[Task] = []
    created: list[Task] = []
    updated: list[Task] = []
    for task, key, citation in zip(tasks, keys, file.task_citations, strict=True):
        citation = citation or file.citation
        row = existing.get(key)
        if row is None:
            row = Task(
                name=task.name,
                modality=task.modality.value,
                group=key[2],
                metric=task.metric,
                sota=task.sota,
                source=citation or fallback,
            )
            created.append(row)
        elif (row.metric, row.sota) != (task.metric, task.sota) or (citation and citation != row.source):
            row.metric, row.sota, row.source, row.updated_at = (
                task.metric,
                task.sota,
                citation or row.source,
                now,
            )
            updated.append(row)
        stored.append(row)
    Task.objects.bulk_create(created)
    Task.objects.bulk_update(updated, ["metric", "sota", "source", "updated_at"])
    unchanged = len(stored) - len(created) - len(updated)
    return stored, WriteCounts(created=len(created), updated=len(updated), unchanged=unchanged)


def _scores_upsert(*, file: GeneralLevelFile, tasks: Sequence[Task], arena: dict[str, Model]) -> WriteCounts:
    """Every (model, task) pair of the file, a number or null for unsupported, as the file says."""
    detail = Path(file.filename).name[:_DETAIL_LIMIT]
    task_ids = [task.pk for task in tasks]
    existing: dict[tuple[object, int], TaskScore] = {}
    for stored in TaskScore.objects.select_for_update().filter(task_id__in=task_ids):
        existing[(stored.model_id or stored.model_name, stored.task_id)] = stored
    now = timezone.now()
    created: list[TaskScore] = []
    updated: list[TaskScore] = []
    unchanged = 0
    for model in file.imported.models:
        name = model.name.strip()
        arena_model = arena.get(name)
        identity: object = arena_model.pk if arena_model else name
        for task_id, score in zip(task_ids, model.scores, strict=True):
            row = existing.get((identity, task_id))
            if row is None:
                created.append(
                    TaskScore(
                        model=arena_model,
                        model_name=name,
                        task_id=task_id,
                        score=score,
                        source=TaskScore.Source.IMPORT,
                        source_detail=detail,
                    )
                )
            elif (row.score, row.source, row.source_detail, row.model_name) != (
                score,
                TaskScore.Source.IMPORT,
                detail,
                name,
            ):
                row.score, row.source, row.source_detail, row.model_name = (
                    score,
                    TaskScore.Source.IMPORT,
                    detail,
                    name,
                )
                row.evaluation_run_id, row.updated_at = None, now
                updated.append(row)
            else:
                unchanged += 1
    TaskScore.objects.bulk_create(created)
    TaskScore.objects.bulk_update(
        updated, ["score", "source", "source_detail", "model_name", "evaluation_run_id", "updated_at"]
    )
    return WriteCounts(created=len(created), updated=len(updated), unchanged=unchanged)


def general_level_updated_publish() -> None:
    """Tell open General-Level pages to refresh; scheduled with transaction.on_commit."""
    board_updated_publish(board=BOARD, version=general_level_version())


def general_level_file_import(*, file: GeneralLevelFile) -> GeneralLevelImportResult:
    """Store the file's tasks and scores (see the module docstring); InvalidInput if refused."""
    _file_check(file=file)
    names = [model.name.strip() for model in file.imported.models]
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_IMPORT_LOCK_KEY])
        arena = arena_models_match(names=names, filename=file.filename)
        linked = _unlisted_rows_link()
        tasks, task_counts = _tasks_upsert(file=file)
        score_counts = _scores_upsert(file=file, tasks=tasks, arena=arena)
        result = GeneralLevelImportResult(
            report=file.imported.import_report,
            tasks=task_counts,
            scores=score_counts,
            models_in_arena={name: model.slug for name, model in arena.items()},
            models_not_in_arena=tuple(name for name in names if name not in arena),
            linked=linked,
        )
        if result.changed:
            # A changed SoTA or metric could make stored scores invalid for their task.
            try:
                general_level_board_compute()
            except GeneralLevelInputError as error:
                raise InvalidInput(f"{file.filename} cannot be imported: with it, {error}") from None
            # Bulk writes send no signals: the version is bumped here (and again on commit).
            data_versions_bump(GENERAL_LEVEL)
            transaction.on_commit(general_level_updated_publish)
    return result


def general_level_import(*, data: bytes, filename: str) -> GeneralLevelImportResult:
    """Read a JSON or spreadsheet file and import it; InvalidInput (400) or UnsupportedMedia (415)."""
    return general_level_file_import(file=general_level_file_read(data=data, filename=filename))
