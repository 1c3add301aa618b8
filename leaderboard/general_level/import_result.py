"""What a loader hands back: the tasks, each model with its report, and what was read or skipped."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from leaderboard.general_level.level_scoring import general_level_score
from leaderboard.general_level.report import GeneralLevelReport
from leaderboard.general_level.tasks import Task


class SkipKind(StrEnum):
    UNKNOWN_SHEET = "unknown_sheet"
    UNKNOWN_METRIC = "unknown_metric"  # nothing dropped: the values are used as 0-100 scores
    EMPTY_CELL = "empty_cell"  # the score counts as unsupported
    NON_NUMERIC_CELL = "non_numeric_cell"  # likewise, e.g. "-" or "∞"
    INVALID_VALUE = "invalid_value"  # a number the metric cannot take, e.g. a negative FID
    MISSING_SOTA = "missing_sota"  # the whole task row is left out
    UNNAMED_ROW = "unnamed_row"  # a row with values but no task name is left out
    MISSING_MODEL_COLUMN = "missing_model_column"  # the model's tasks there count as unsupported
    DUPLICATE_MODEL_COLUMN = "duplicate_model_column"  # the later column is ignored
    UNNAMED_COLUMN = "unnamed_column"  # a column with values but no model name is ignored


@dataclass(frozen=True)
class Skipped:
    kind: SkipKind
    where: str
    why: str

    def to_dict(self) -> dict[str, str]:
        return {"kind": self.kind.value, "where": self.where, "why": self.why}


@dataclass(frozen=True)
class ImportReport:
    source: str
    sheets: tuple[str, ...]  # sheets read, in workbook order; empty for JSON
    task_count: int
    model_count: int
    score_count: int  # numeric scores read (unsupported entries are not counted)
    skipped: tuple[Skipped, ...]

    def skipped_counts(self) -> dict[str, int]:
        return dict(Counter(s.kind.value for s in self.skipped))

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "read": {
                "sheets": list(self.sheets),
                "tasks": self.task_count,
                "models": self.model_count,
                "scores": self.score_count,
            },
            "skipped_counts": self.skipped_counts(),
            "skipped": [s.to_dict() for s in self.skipped],
        }


@dataclass(frozen=True)
class ScoredModel:
    name: str
    scores: tuple[float | None, ...]  # raw, aligned with the import's tasks
    report: GeneralLevelReport


@dataclass(frozen=True)
class GeneralLevelImport:
    tasks: tuple[Task, ...]
    models: tuple[ScoredModel, ...]
    import_report: ImportReport

    def model(self, name: str) -> ScoredModel:
        for found in self.models:
            if found.name == name:
                return found
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "models": {m.name: m.report.to_dict() for m in self.models},
            "import_report": self.import_report.to_dict(),
        }


def import_build(
    *,
    source: str,
    sheets: Sequence[str],
    tasks: Sequence[Task],
    models: Sequence[tuple[str, Sequence[float | None]]],
    skipped: Sequence[Skipped],
) -> GeneralLevelImport:
    """Scores every model and gathers the counts; the loaders' common last step."""
    scored = tuple(
        ScoredModel(
            name=name,
            scores=tuple(scores),
            report=general_level_score(tasks=tasks, scores=scores, model=name),
        )
        for name, scores in models
    )
    report = ImportReport(
        source=source,
        sheets=tuple(sheets),
        task_count=len(tasks),
        model_count=len(scored),
        score_count=sum(1 for m in scored for s in m.scores if s is not None),
        skipped=tuple(skipped),
    )
    return GeneralLevelImport(tasks=tuple(tasks), models=scored, import_report=report)


def unknown_metrics_note(*, tasks: Sequence[Task], where: Sequence[str]) -> list[Skipped]:
    """One note per metric name missing from the table, listing where its tasks are."""
    places: dict[str, list[str]] = {}
    for task, place in zip(tasks, where, strict=True):
        if not task.rule.known:
            places.setdefault(task.metric, []).append(place)
    return [
        Skipped(
            kind=SkipKind.UNKNOWN_METRIC,
            where="; ".join(found),
            why=f"metric {metric!r} is not in the metric table; its values are used as "
            "0-100 higher-is-better scores",
        )
        for metric, found in places.items()
    ]
