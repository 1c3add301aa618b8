"""The General-Level formulas (arXiv 2505.04620, Section 2): from per-task scores to a level.

Decisions where the paper is silent:
- A group with no tasks at all in the task set (M = 0 or N = 0) contributes 0 to Level-2 and
  Level-3 and makes Level-4 0, as if the model supported none of its tasks: a modality with no
  generation tasks cannot show the synergy Level-4 measures. With no language tasks S_L is 0,
  so Level-5 is 0.
- A task "beats" the specialist when its normalised score is at least the normalised SoTA
  (ties count), it is supported, and it has output (a raw 0 on a mapped metric never wins).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from leaderboard.general_level.errors import GeneralLevelInputError
from leaderboard.general_level.metric_normalisation import metric_normalise
from leaderboard.general_level.report import (
    GeneralLevelReport,
    GroupScore,
    LanguageScore,
    ModalityScore,
    TaskScore,
)
from leaderboard.general_level.tasks import Task
from leaderboard.general_level.taxonomy import NON_LANGUAGE_MODALITIES, Group, Modality


def task_score(*, task: Task, raw: float | None, model: str = "") -> TaskScore:
    """One task's normalised score for one model and whether it beats the specialist."""
    sota_score = task.sota_normalised
    if raw is None:
        return TaskScore(task=task, raw=None, score=0.0, sota_score=sota_score, won=False)
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not math.isfinite(raw):
        raise GeneralLevelInputError(
            f"model {model!r}, task {task.name!r}: score {raw!r} is not a finite number"
        )
    try:
        score = metric_normalise(rule=task.rule, value=float(raw))
    except GeneralLevelInputError as error:
        raise GeneralLevelInputError(f"model {model!r}, task {task.name!r}: {error}") from None
    has_output = not (task.rule.mapped and raw == 0)
    won = has_output and score >= sota_score
    return TaskScore(task=task, raw=float(raw), score=score, sota_score=sota_score, won=won)


def _mean(values: Sequence[float]) -> float:
    return math.fsum(values) / len(values) if values else 0.0


def _group_score(group: Group, tasks: tuple[TaskScore, ...]) -> GroupScore:
    return GroupScore(
        group=group,
        tasks=tasks,
        mean=_mean([t.score for t in tasks]),
        winning_mean=_mean([t.winning_score for t in tasks]),
    )


def _harmonic_mean(*, a: float, b: float) -> float:
    """2ab/(a+b), and 0 when either is 0 (no synergy without both sides)."""
    if a <= 0 or b <= 0:
        return 0.0
    return 2.0 * a * b / (a + b)


def _modality_score(modality: Modality, scored: Sequence[TaskScore]) -> ModalityScore:
    own = [t for t in scored if t.task.modality is modality]
    comprehension = _group_score(
        Group.COMPREHENSION,
        tuple(t for t in own if t.task.group is Group.COMPREHENSION),
    )
    generation = _group_score(Group.GENERATION, tuple(t for t in own if t.task.group is Group.GENERATION))
    return ModalityScore(
        modality=modality,
        comprehension=comprehension,
        generation=generation,
        level2=(comprehension.mean + generation.mean) / 2.0,
        level3=(comprehension.winning_mean + generation.winning_mean) / 2.0,
        level4=_harmonic_mean(a=comprehension.winning_mean, b=generation.winning_mean),
    )


def level_place(*, level2: float, level3: float, level4: float, level5: float) -> int:
    """The highest level with a non-zero score; Level-1 (specialists only) when none is."""
    for level, value in ((5, level5), (4, level4), (3, level3), (2, level2)):
        if value > 0:
            return level
    return 1


def general_level_score(
    *, tasks: Sequence[Task], scores: Sequence[float | None], model: str = ""
) -> GeneralLevelReport:
    """The General-Level report of one model; `scores[i]` is its raw score on `tasks[i]`,
    None where the model does not support the task."""
    if len(scores) != len(tasks):
        raise GeneralLevelInputError(f"model {model!r} has {len(scores)} scores for {len(tasks)} tasks")
    scored = [task_score(task=t, raw=s, model=model) for t, s in zip(tasks, scores, strict=True)]
    modalities = tuple(_modality_score(m, scored) for m in NON_LANGUAGE_MODALITIES)
    language_tasks = tuple(t for t in scored if t.task.modality is Modality.NLP)
    language = LanguageScore(
        tasks=language_tasks,
        mean=_mean([t.score for t in language_tasks]),
        winning_mean=_mean([t.winning_score for t in language_tasks]),
    )
    level2 = _mean([m.level2 for m in modalities])
    level3 = _mean([m.level3 for m in modalities])
    level4 = _mean([m.level4 for m in modalities])
    level5 = level4 * language.winning_mean / 100.0
    return GeneralLevelReport(
        model=model,
        modalities=modalities,
        language=language,
        level2=level2,
        level3=level3,
        level4=level4,
        level5=level5,
        level=level_place(level2=level2, level3=level3, level4=level4, level5=level5),
    )
