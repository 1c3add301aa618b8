"""Reading tasks and model scores from the JSON layout of the General-Level fixtures.

{"tasks": [{"name", "modality", "group", "metric", "sota", "lower_is_better"?}, ...],
 "models": [{"name", "scores": [...]}, ...]   or   {"<name>": {"scores": [...]}, ...}}

`scores[i]` belongs to `tasks[i]`; null marks a task the model does not support. Other keys
(e.g. the fixture's "published") are ignored.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO

from leaderboard.general_level.errors import GeneralLevelInputError
from leaderboard.general_level.import_result import (
    GeneralLevelImport,
    import_build,
    unknown_metrics_note,
)
from leaderboard.general_level.tasks import Task, task_build


def general_level_load_json(*, source: str | os.PathLike[str] | IO[bytes] | IO[str]) -> GeneralLevelImport:
    """Tasks and scored models from a JSON file (path or open file)."""
    if isinstance(source, str | os.PathLike):
        origin = str(source)
        text: str | bytes = Path(source).read_bytes()
    else:
        origin = str(getattr(source, "name", "JSON upload"))
        text = source.read()
    try:
        document = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise GeneralLevelInputError(f"{origin} is not valid JSON: {error}") from None
    return general_level_parse_json(document=document, origin=origin)


def general_level_parse_json(*, document: object, origin: str = "JSON input") -> GeneralLevelImport:
    """Tasks and scored models from an already decoded JSON document."""
    if not isinstance(document, Mapping):
        raise GeneralLevelInputError(f"{origin}: expected a JSON object with 'tasks' and 'models'")
    tasks = _tasks_parse(document.get("tasks"), origin)
    models = _models_parse(document.get("models"), tasks, origin)
    return import_build(
        source=origin,
        sheets=(),
        tasks=tasks,
        models=models,
        skipped=unknown_metrics_note(tasks=tasks, where=[f"task {t.name!r}" for t in tasks]),
    )


def _tasks_parse(raw: object, origin: str) -> list[Task]:
    if not isinstance(raw, list) or not raw:
        raise GeneralLevelInputError(f"{origin}: 'tasks' must be a non-empty list")
    tasks = []
    for index, entry in enumerate(raw, start=1):
        label = f"{origin}: task {index}"
        if not isinstance(entry, Mapping):
            raise GeneralLevelInputError(f"{label}: expected an object, got {entry!r}")
        name = entry.get("name")
        if not isinstance(name, str) or not name.strip():
            raise GeneralLevelInputError(f"{label}: 'name' must be a non-empty string")
        label = f"{label} ({name!r})"
        modality, group, metric = (
            entry.get("modality"),
            entry.get("group"),
            entry.get("metric"),
        )
        lower_is_better, sota = entry.get("lower_is_better"), entry.get("sota")
        if not isinstance(modality, str):
            raise GeneralLevelInputError(f"{label}: 'modality' must be a string")
        if group is not None and not isinstance(group, str):
            raise GeneralLevelInputError(f"{label}: 'group' must be a string or null")
        if not isinstance(metric, str):
            raise GeneralLevelInputError(f"{label}: 'metric' must be a string")
        if lower_is_better is not None and not isinstance(lower_is_better, bool):
            raise GeneralLevelInputError(f"{label}: 'lower_is_better' must be true or false")
        if not _is_number(sota):
            raise GeneralLevelInputError(f"{label}: 'sota' {sota!r} is not a number")
        assert isinstance(sota, int | float)
        try:
            task = task_build(
                name=name,
                modality=modality,
                group=group,
                metric=metric,
                sota=sota,
                lower_is_better=lower_is_better,
            )
        except GeneralLevelInputError as error:
            raise GeneralLevelInputError(f"{origin}: task {index}: {error}") from None
        tasks.append(task)
    return tasks


def _models_parse(raw: object, tasks: Sequence[Task], origin: str) -> list[tuple[str, list[float | None]]]:
    entries: list[tuple[str, object]]
    if isinstance(raw, Mapping):
        entries = [(str(name), value) for name, value in raw.items()]
    elif isinstance(raw, list):
        entries = []
        for index, value in enumerate(raw, start=1):
            name = value.get("name") if isinstance(value, Mapping) else None
            if not isinstance(name, str) or not name.strip():
                raise GeneralLevelInputError(f"{origin}: model {index} has no 'name'")
            entries.append((name, value))
    else:
        raise GeneralLevelInputError(
            f"{origin}: 'models' must be a list of models or an object keyed by model name"
        )
    models = []
    seen: set[str] = set()
    for name, value in entries:
        label = f"{origin}: model {name!r}"
        if name in seen:
            raise GeneralLevelInputError(f"{label} is listed twice")
        seen.add(name)
        scores = value.get("scores") if isinstance(value, Mapping) else None
        if not isinstance(scores, list):
            raise GeneralLevelInputError(f"{label}: 'scores' must be a list")
        if len(scores) != len(tasks):
            raise GeneralLevelInputError(
                f"{label} has {len(scores)} scores but there are {len(tasks)} tasks; "
                "scores must be aligned with tasks, null where unsupported"
            )
        for index, (task, score) in enumerate(zip(tasks, scores, strict=True), start=1):
            if score is not None and not _is_number(score):
                raise GeneralLevelInputError(
                    f"{label}, task {index} ({task.name!r}): score {score!r} is not a number "
                    "(use null for an unsupported task)"
                )
        models.append((name, [None if s is None else float(s) for s in scores]))
    return models


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
