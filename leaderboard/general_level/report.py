"""What the General-Level scorer reports for one model (all scores on the 0-100 scale)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from leaderboard.general_level.tasks import Task
from leaderboard.general_level.taxonomy import Group, Modality


@dataclass(frozen=True)
class TaskScore:
    """One task for one model. `score` is 0 when unsupported or without output."""

    task: Task
    raw: float | None
    score: float
    sota_score: float
    won: bool

    @property
    def supported(self) -> bool:
        return self.raw is not None

    @property
    def winning_score(self) -> float:
        """The task's term in S_C/S_G/S_L: its score where it beats the SoTA, else 0."""
        return self.score if self.won else 0.0


class _TaskCounts:
    """How many of a set of tasks there are, are supported, and beat the SoTA."""

    tasks: tuple[TaskScore, ...]

    @property
    def task_count(self) -> int:
        return len(self.tasks)

    @property
    def supported_count(self) -> int:
        return sum(1 for t in self.tasks if t.supported)

    @property
    def won_count(self) -> int:
        return sum(1 for t in self.tasks if t.won)


@dataclass(frozen=True)
class GroupScore(_TaskCounts):
    """The comprehension or the generation tasks of one modality (M or N of them)."""

    group: Group
    tasks: tuple[TaskScore, ...]
    mean: float  # S_C2 / S_G2: every task's score, averaged over all tasks of the group
    winning_mean: float  # S_C / S_G: only scores that beat the SoTA, averaged the same way

    def to_dict(self) -> dict[str, Any]:
        return {
            "tasks": self.task_count,
            "supported": self.supported_count,
            "won": self.won_count,
            "mean": self.mean,
            "winning_mean": self.winning_mean,
        }


@dataclass(frozen=True)
class ModalityScore:
    modality: Modality
    comprehension: GroupScore
    generation: GroupScore
    level2: float
    level3: float
    level4: float

    @property
    def tasks(self) -> tuple[TaskScore, ...]:
        return self.comprehension.tasks + self.generation.tasks

    @property
    def supported_count(self) -> int:
        return self.comprehension.supported_count + self.generation.supported_count

    @property
    def won_count(self) -> int:
        return self.comprehension.won_count + self.generation.won_count

    def to_dict(self) -> dict[str, float]:
        return {"L2": self.level2, "L3": self.level3, "L4": self.level4}

    def to_api_dict(self) -> dict[str, Any]:
        return {
            **self.to_dict(),
            "S_C2": self.comprehension.mean,
            "S_G2": self.generation.mean,
            "S_C": self.comprehension.winning_mean,
            "S_G": self.generation.winning_mean,
            "tasks": len(self.tasks),
            "supported": self.supported_count,
            "won": self.won_count,
            "comprehension": self.comprehension.to_dict(),
            "generation": self.generation.to_dict(),
        }


@dataclass(frozen=True)
class LanguageScore(_TaskCounts):
    """The T language (nlp) tasks; `winning_mean` is S_L."""

    tasks: tuple[TaskScore, ...]
    mean: float
    winning_mean: float

    def to_api_dict(self) -> dict[str, Any]:
        return {
            "S_L": self.winning_mean,
            "mean": self.mean,
            "tasks": self.task_count,
            "supported": self.supported_count,
            "won": self.won_count,
        }


@dataclass(frozen=True)
class GeneralLevelReport:
    """A model's General-Level: per modality, overall, and the level it is placed at (1-5)."""

    model: str
    modalities: tuple[ModalityScore, ...]  # image, video, audio, 3d, always all four
    language: LanguageScore
    level2: float
    level3: float
    level4: float
    level5: float
    level: int

    def modality(self, modality: Modality) -> ModalityScore:
        for found in self.modalities:
            if found.modality is modality:
                return found
        raise KeyError(modality)

    @property
    def overall(self) -> dict[str, float]:
        return {
            "L2": self.level2,
            "L3": self.level3,
            "L4": self.level4,
            "L5": self.level5,
        }

    def to_dict(self) -> dict[str, Any]:
        """The CLI's JSON contract."""
        return {
            "model": self.model,
            "modalities": {m.modality.value: m.to_dict() for m in self.modalities},
            "overall": self.overall,
            "level": self.level,
        }

    def to_api_dict(self) -> dict[str, Any]:
        """The CLI contract plus S_C/S_G and task, supported and won counts per modality."""
        return {
            "model": self.model,
            "modalities": {m.modality.value: m.to_api_dict() for m in self.modalities},
            "language": self.language.to_api_dict(),
            "overall": self.overall,
            "level": self.level,
        }
