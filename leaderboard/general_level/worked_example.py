"""A model's General-Level spelled out step by step, for the explanation page to render."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from leaderboard.general_level.metric_normalisation import metric_explain
from leaderboard.general_level.report import (
    GeneralLevelReport,
    GroupScore,
    ModalityScore,
    TaskScore,
)

# Spelled by name: the bare Greek letter is flagged as confusable with a Latin o.
SIGMA = "\N{GREEK SMALL LETTER SIGMA}"


@dataclass(frozen=True)
class NormalisedTask:
    name: str
    group: str | None
    metric: str
    raw: float | None
    score: float
    score_working: str  # e.g. "100·(1 - 5.6/100) = 94.40"
    sota_raw: float
    sota_score: float
    sota_working: str
    supported: bool
    won: bool


@dataclass(frozen=True)
class FormulaStep:
    symbol: str  # "S_C", "L4", ...
    formula: str  # the paper's formula in symbols
    substituted: str  # the same with this model's numbers, ending in "= value"
    value: float


@dataclass(frozen=True)
class ModalityExample:
    modality: str
    tasks: tuple[NormalisedTask, ...]
    won_tasks: tuple[str, ...]
    steps: tuple[FormulaStep, ...]  # S_C2, S_G2, L2, S_C, S_G, L3, L4


@dataclass(frozen=True)
class LanguageExample:
    tasks: tuple[NormalisedTask, ...]
    won_tasks: tuple[str, ...]
    steps: tuple[FormulaStep, ...]  # S_L


@dataclass(frozen=True)
class WorkedExample:
    model: str
    modalities: tuple[ModalityExample, ...]
    language: LanguageExample
    overall: tuple[FormulaStep, ...]  # L2, L3, L4, L5
    level: int
    level_reason: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _number(value: float) -> str:
    return f"{value:.2f}"


def _task_normalised(scored: TaskScore) -> NormalisedTask:
    task = scored.task
    raw = scored.raw
    working = "unsupported → 0" if raw is None else metric_explain(rule=task.rule, value=raw)
    return NormalisedTask(
        name=task.name,
        group=None if task.group is None else task.group.value,
        metric=task.metric,
        raw=scored.raw,
        score=scored.score,
        score_working=working,
        sota_raw=task.sota,
        sota_score=scored.sota_score,
        sota_working=metric_explain(rule=task.rule, value=task.sota),
        supported=scored.supported,
        won=scored.won,
    )


def _mean_step(symbol: str, formula: str, terms: Sequence[float], count: int, value: float) -> FormulaStep:
    if count == 0:
        substituted = f"no tasks → {_number(value)}"
    elif not terms:
        substituted = f"(1/{count})·0 = {_number(value)}"
    else:
        summed = " + ".join(_number(t) for t in terms)
        substituted = f"(1/{count})·({summed}) = {_number(value)}"
    return FormulaStep(symbol, formula, substituted, value)


def _group_steps(group: GroupScore, letter: str) -> tuple[FormulaStep, FormulaStep]:
    size = "M" if letter == "C" else "N"
    # Unsupported tasks add 0 to the sum, so only supported ones are written out; the
    # denominator still counts every task.
    all_terms = [t.score for t in group.tasks if t.supported]
    won_terms = [t.score for t in group.tasks if t.won]
    return (
        _mean_step(
            f"S_{letter}2",
            f"(1/{size})·Σ{SIGMA}_{letter}",
            all_terms,
            group.task_count,
            group.mean,
        ),
        _mean_step(
            f"S_{letter}",
            f"(1/{size})·Σ{SIGMA}_{letter}·[{SIGMA}_{letter} ≥ {SIGMA}_sota]",
            won_terms,
            group.task_count,
            group.winning_mean,
        ),
    )


def _harmonic_step(s_c: float, s_g: float, value: float) -> FormulaStep:
    formula = "2·S_C·S_G/(S_C + S_G)"
    if s_c <= 0 or s_g <= 0:
        zero = "S_C" if s_c <= 0 else "S_G"
        return FormulaStep("L4", formula, f"{zero} = 0 → 0.00", value)
    substituted = f"2·{_number(s_c)}·{_number(s_g)}/({_number(s_c)} + {_number(s_g)}) = {_number(value)}"
    return FormulaStep("L4", formula, substituted, value)


def _modality_example(modality: ModalityScore) -> ModalityExample:
    s_c2, s_c = _group_steps(modality.comprehension, "C")
    s_g2, s_g = _group_steps(modality.generation, "G")
    level2 = FormulaStep(
        "L2",
        "(S_C2 + S_G2)/2",
        f"({_number(s_c2.value)} + {_number(s_g2.value)})/2 = {_number(modality.level2)}",
        modality.level2,
    )
    level3 = FormulaStep(
        "L3",
        "(S_C + S_G)/2",
        f"({_number(s_c.value)} + {_number(s_g.value)})/2 = {_number(modality.level3)}",
        modality.level3,
    )
    level4 = _harmonic_step(s_c.value, s_g.value, modality.level4)
    return ModalityExample(
        modality=modality.modality.value,
        tasks=tuple(_task_normalised(t) for t in modality.tasks),
        won_tasks=tuple(t.task.name for t in modality.tasks if t.won),
        steps=(s_c2, s_g2, level2, s_c, s_g, level3, level4),
    )


def _overall_steps(report: GeneralLevelReport) -> tuple[FormulaStep, ...]:
    steps = []
    names = [m.modality.value for m in report.modalities]
    for symbol, value in (
        ("L2", report.level2),
        ("L3", report.level3),
        ("L4", report.level4),
    ):
        per_modality = [m.to_dict()[symbol] for m in report.modalities]
        formula = "(" + " + ".join(f"{symbol}_{n}" for n in names) + f")/{len(names)}"
        summed = " + ".join(_number(v) for v in per_modality)
        substituted = f"({summed})/{len(names)} = {_number(value)}"
        steps.append(FormulaStep(symbol, formula, substituted, value))
    s_l = report.language.winning_mean
    steps.append(
        FormulaStep(
            "L5",
            "L4·S_L/100",
            f"{_number(report.level4)}·{_number(s_l)}/100 = {_number(report.level5)}",
            report.level5,
        )
    )
    return tuple(steps)


def _zero_reason(report: GeneralLevelReport, level: int) -> str:
    if level == 5:
        if report.level4 <= 0:
            return "it is Level-4·S_L/100 and Level-4 is 0"
        if report.language.task_count == 0:
            return "there are no language tasks, so S_L is 0"
        return "no language task beats its SoTA, so S_L is 0"
    if level == 4:
        return "no modality has tasks beating the SoTA in both comprehension and generation"
    if level == 3:
        return "no task beats its SoTA"
    return "the model has no non-zero score on any task"


def _level_reason(report: GeneralLevelReport) -> str:
    scores = {2: report.level2, 3: report.level3, 4: report.level4, 5: report.level5}
    reasons = [f"Level-{k} is 0 ({_zero_reason(report, k)})" for k in range(5, max(report.level, 1), -1)]
    if report.level == 1:
        reasons.append("so Level-1: a specialist-only model")
    else:
        reasons.append(
            f"Level-{report.level} is the highest level with a non-zero score "
            f"({_number(scores[report.level])})"
        )
    return "; ".join(reasons)


def general_level_explain(*, report: GeneralLevelReport) -> WorkedExample:
    """The worked example of `report`: normalised scores, wins, and every formula filled in."""
    language = report.language
    return WorkedExample(
        model=report.model,
        modalities=tuple(_modality_example(m) for m in report.modalities),
        language=LanguageExample(
            tasks=tuple(_task_normalised(t) for t in language.tasks),
            won_tasks=tuple(t.task.name for t in language.tasks if t.won),
            steps=(
                _mean_step(
                    "S_L",
                    f"(1/T)·Σ{SIGMA}_nlp·[{SIGMA}_nlp ≥ {SIGMA}_sota]",
                    [t.score for t in language.tasks if t.won],
                    language.task_count,
                    language.winning_mean,
                ),
            ),
        ),
        overall=_overall_steps(report),
        level=report.level,
        level_reason=_level_reason(report),
    )
