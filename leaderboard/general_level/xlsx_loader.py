"""Reading the General-Bench spreadsheet layout (one sheet per modality and group, plus NLP).

Each known sheet has a header row holding a task name column (Task, Dataset, ...), a Metrics
column and a SoTA column; every named column to the right of the SoTA column is a model.
The import is lenient cell by cell (what it cannot use is skipped and reported) and strict
about the file and the header (an unusable file or sheet raises GeneralLevelInputError).
"""

from __future__ import annotations

import math
import os
import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import IO, Final

from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException

from leaderboard.general_level.errors import GeneralLevelInputError
from leaderboard.general_level.import_result import (
    GeneralLevelImport,
    SkipKind,
    Skipped,
    import_build,
    unknown_metrics_note,
)
from leaderboard.general_level.metric_normalisation import metric_name_fold, metric_normalise
from leaderboard.general_level.tasks import Task, task_build
from leaderboard.general_level.taxonomy import (
    Group,
    Modality,
    group_parse,
    modality_parse,
)

_SHEET_PATTERN: Final = re.compile(r"(image|video|audio|3d)[\s_-]*(comprehension|generation)", re.IGNORECASE)
_LANGUAGE_SHEETS: Final = frozenset({"nlp", "language"})
_NAME_HEADERS: Final = frozenset(
    {
        "task",
        "tasks",
        "taskname",
        "dataset",
        "datasets",
        "datasetname",
        "name",
        "benchmark",
    }
)
_METRIC_HEADERS: Final = frozenset({"metric", "metrics"})
_SOTA_SCORE_HEADERS: Final = frozenset(
    {"sota", "sotaperformance", "sotascore", "sotaresult", "sotaresults", "sotavalue"}
)
# The header row may sit under a title; look this far down for it.
_HEADER_SEARCH_ROWS: Final = 20


@dataclass(frozen=True)
class _Header:
    row: int  # 1-based
    name: int  # 0-based column indices
    metric: int
    sota: int
    models: tuple[tuple[int, str], ...]


@dataclass
class _Collected:
    sheets: list[str] = field(default_factory=list)
    tasks: list[Task] = field(default_factory=list)
    places: list[str] = field(default_factory=list)
    scores: dict[str, dict[int, float]] = field(default_factory=dict)  # model -> task -> raw
    # Per sheet read: its title, the models with a column there, and how many tasks it gave.
    sheet_models: list[tuple[str, set[str], int]] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


def general_level_load_xlsx(*, source: str | os.PathLike[str] | IO[bytes]) -> GeneralLevelImport:
    """Tasks and scored models from a General-Bench .xlsx workbook (path or open binary file)."""
    origin = (
        str(source)
        if isinstance(source, str | os.PathLike)
        else str(getattr(source, "name", "spreadsheet upload"))
    )
    try:
        workbook = load_workbook(source, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, ValueError) as error:
        raise GeneralLevelInputError(f"{origin} is not an Excel .xlsx spreadsheet ({error})") from None
    collected = _Collected()
    try:
        for sheet in workbook.worksheets:
            _sheet_read(sheet.title, list(sheet.iter_rows(values_only=True)), collected)
    finally:
        workbook.close()
    if not collected.sheets:
        raise GeneralLevelInputError(
            f"{origin} has no General-Bench sheet (expected names such as "
            f"'Image-Comprehension', 'Audio-Generation' or 'NLP'; found "
            f"{', '.join(repr(s.title) for s in workbook.worksheets)})"
        )
    if not collected.tasks:
        raise GeneralLevelInputError(
            f"{origin} has no task rows with a SoTA score (sheets read: "
            f"{', '.join(repr(title) for title in collected.sheets)})"
        )
    _missing_models_note(collected)
    models = [
        (name, [by_task.get(i) for i in range(len(collected.tasks))])
        for name, by_task in collected.scores.items()
    ]
    return import_build(
        source=origin,
        sheets=collected.sheets,
        tasks=collected.tasks,
        models=models,
        skipped=[
            *collected.skipped,
            *unknown_metrics_note(tasks=collected.tasks, where=collected.places),
        ],
    )


def _sheet_kind(title: str) -> tuple[Modality, Group | None] | None:
    matched = _SHEET_PATTERN.fullmatch(title.strip())
    if matched:
        return modality_parse(name=matched.group(1)), group_parse(name=matched.group(2))
    if title.strip().casefold() in _LANGUAGE_SHEETS:
        return Modality.NLP, None
    return None


def _header_find(title: str, rows: Sequence[Sequence[object]]) -> _Header:
    for row_index, row in enumerate(rows[:_HEADER_SEARCH_ROWS], start=1):
        keys = [metric_name_fold(name=str(cell)) if cell is not None else "" for cell in row]
        names = [i for i, key in enumerate(keys) if key in _NAME_HEADERS]
        metrics = [i for i, key in enumerate(keys) if key in _METRIC_HEADERS]
        sotas = [i for i, key in enumerate(keys) if key in _SOTA_SCORE_HEADERS]
        if not (names and metrics and sotas):
            continue
        # Other SoTA-ish columns (e.g. "SoTA Model", the specialist's name) are not models.
        reserved = {i for i, key in enumerate(keys) if key.startswith("sota")}
        reserved.update(names + metrics)
        models = tuple(
            (i, str(row[i]).strip()) for i in range(sotas[0] + 1, len(row)) if i not in reserved and keys[i]
        )
        return _Header(row_index, names[0], metrics[0], sotas[0], models)
    first = next((row for row in rows if any(c is not None for c in row)), ())
    found = [str(c) for c in first if c is not None]
    raise GeneralLevelInputError(
        f"sheet {title!r}: no header row with a task name column ('Task' or 'Dataset'), "
        f"a 'Metrics' column and a 'SoTA Performance' column in its first "
        f"{_HEADER_SEARCH_ROWS} rows (its first row reads {found})"
    )


def _column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def _number_read(cell: object) -> float | None:
    if isinstance(cell, bool):
        return None
    if isinstance(cell, int | float):
        value = float(cell)
    elif isinstance(cell, str):
        try:
            value = float(cell.strip())
        except ValueError:
            return None
    else:
        return None
    return value if math.isfinite(value) else None


def _cell(row: Sequence[object], index: int) -> object:
    cell = row[index] if index < len(row) else None
    return None if isinstance(cell, str) and not cell.strip() else cell


def _sheet_read(title: str, rows: list[tuple[object, ...]], collected: _Collected) -> None:
    kind = _sheet_kind(title)
    if kind is None:
        collected.skipped.append(
            Skipped(
                SkipKind.UNKNOWN_SHEET,
                f"sheet {title!r}",
                "not a General-Bench sheet name",
            )
        )
        return
    modality, group = kind
    header = _header_find(title, rows)
    collected.sheets.append(title)
    models = _model_columns(title, header, rows, collected)
    first_task = len(collected.tasks)
    for row_number, row in enumerate(rows[header.row :], start=header.row + 1):
        if all(_cell(row, i) is None for i in range(len(row))):
            continue
        place = f"sheet {title!r}, row {row_number}"
        name = _cell(row, header.name)
        if name is None:
            collected.skipped.append(
                Skipped(SkipKind.UNNAMED_ROW, place, "the row has values but no task name")
            )
            continue
        place = f"{place} (task {str(name).strip()!r})"
        sota_cell = _cell(row, header.sota)
        sota = _number_read(sota_cell)
        if sota is None:
            why = "no SoTA score" if sota_cell is None else f"SoTA {sota_cell!r} is not a number"
            collected.skipped.append(Skipped(SkipKind.MISSING_SOTA, place, f"{why}; the task is left out"))
            continue
        metric_cell = _cell(row, header.metric)
        try:
            task = task_build(
                name=str(name),
                modality=modality,
                group=group,
                metric="" if metric_cell is None else str(metric_cell),
                sota=sota,
            )
        except GeneralLevelInputError as error:
            collected.skipped.append(Skipped(SkipKind.INVALID_VALUE, place, f"{error}; the task is left out"))
            continue
        task_index = len(collected.tasks)
        collected.tasks.append(task)
        collected.places.append(place)
        for column, model in models:
            value = _score_read(_cell(row, column), task, f"{place}, model {model!r}", collected)
            if value is not None:
                collected.scores[model][task_index] = value
    collected.sheet_models.append((title, {model for _, model in models}, len(collected.tasks) - first_task))


def _model_columns(
    title: str, header: _Header, rows: Sequence[Sequence[object]], collected: _Collected
) -> list[tuple[int, str]]:
    models: list[tuple[int, str]] = []
    header_row = rows[header.row - 1]
    for column, model in header.models:
        if any(model == taken for _, taken in models):
            collected.skipped.append(
                Skipped(
                    SkipKind.DUPLICATE_MODEL_COLUMN,
                    f"sheet {title!r}, column {_column_letter(column)}",
                    f"model {model!r} already has a column in this sheet; this one is ignored",
                )
            )
            continue
        models.append((column, model))
        collected.scores.setdefault(model, {})
    for column in range(header.sota + 1, max(len(r) for r in rows)):
        unnamed = column >= len(header_row) or _cell(header_row, column) is None
        if unnamed and any(_cell(r, column) is not None for r in rows[header.row :]):
            collected.skipped.append(
                Skipped(
                    SkipKind.UNNAMED_COLUMN,
                    f"sheet {title!r}, column {_column_letter(column)}",
                    "the column has values but no model name in the header; it is ignored",
                )
            )
    return models


def _score_read(cell: object, task: Task, place: str, collected: _Collected) -> float | None:
    if cell is None:
        collected.skipped.append(Skipped(SkipKind.EMPTY_CELL, place, "empty cell; counted as unsupported"))
        return None
    value = _number_read(cell)
    if value is None:
        collected.skipped.append(
            Skipped(
                SkipKind.NON_NUMERIC_CELL,
                place,
                f"{cell!r} is not a number; counted as unsupported",
            )
        )
        return None
    try:
        metric_normalise(rule=task.rule, value=value)
    except GeneralLevelInputError as error:
        collected.skipped.append(Skipped(SkipKind.INVALID_VALUE, place, f"{error}; counted as unsupported"))
        return None
    return value


def _missing_models_note(collected: _Collected) -> None:
    for title, present, task_count in collected.sheet_models:
        for model in collected.scores:
            if model not in present and task_count:
                collected.skipped.append(
                    Skipped(
                        SkipKind.MISSING_MODEL_COLUMN,
                        f"sheet {title!r}",
                        f"model {model!r} has no column here; its {task_count} tasks count as unsupported",
                    )
                )
