"""Modality importance (MIS, after "Assessing Modality Bias in Video QA Benchmarks with Multimodal LLMs").

Each item that carries several modalities (video, audio, subtitles, image, ...) is run with all of them and
once without each. A modality is *needed* by an item when removing it turns a right answer wrong. Per
benchmark we report, for each modality, the share of the items answered right with everything that need it;
and the share of those items that need at most one modality: they are answered from one modality alone (with
two modalities this is exact; with more it reads "every modality but one can go, one at a time").

A benchmark is flagged `answerable_from_one_modality` when that share reaches `ONE_MODALITY_THRESHOLD` (one
half): then most of what the model gets right does not need the modalities combined, which is the bias the
paper measures. Items answered wrong with all modalities are counted in the accuracies but not in the shares:
an answer that is wrong anyway cannot show what removing a modality costs.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

ONE_MODALITY_THRESHOLD = 0.5


@dataclass(frozen=True)
class ModalityTrial:
    """One item's runs: right with all modalities, and (modality, right without it) sorted by modality."""

    item_id: str
    benchmark: str
    correct_with_all: bool
    correct_without: tuple[tuple[str, bool], ...]

    @classmethod
    def of(
        cls, *, item_id: str, benchmark: str, correct_with_all: bool, correct_without: Mapping[str, bool]
    ) -> ModalityTrial:
        return cls(item_id, benchmark, correct_with_all, tuple(sorted(correct_without.items())))

    @property
    def modalities(self) -> tuple[str, ...]:
        return tuple(modality for modality, _ in self.correct_without)

    def needed(self) -> tuple[str, ...]:
        """The modalities whose removal turns this item's right answer wrong."""
        if not self.correct_with_all:
            return ()
        return tuple(modality for modality, correct in self.correct_without if not correct)

    def to_dict(self) -> dict[str, Any]:
        return {
            "item_id": self.item_id,
            "benchmark": self.benchmark,
            "correct_with_all": self.correct_with_all,
            "correct_without": dict(self.correct_without),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ModalityTrial:
        return cls.of(
            item_id=data["item_id"],
            benchmark=data["benchmark"],
            correct_with_all=data["correct_with_all"],
            correct_without=data["correct_without"],
        )


@dataclass(frozen=True)
class ModalityShare:
    """For one modality of one benchmark: `items` carry it, `accuracy_without` over those; of the `answered`
    ones (right with all modalities) `needed` need it, `share` = needed / answered (None when none
    answered)."""

    modality: str
    items: int
    accuracy_without: float
    answered: int
    needed: int
    share: float | None


@dataclass(frozen=True)
class BenchmarkModality:
    benchmark: str
    items: int
    accuracy_with_all: float
    answered: int
    modalities: tuple[ModalityShare, ...]
    one_modality_share: float | None
    answerable_from_one_modality: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "benchmark": self.benchmark,
            "items": self.items,
            "accuracy_with_all": self.accuracy_with_all,
            "answered": self.answered,
            "modalities": [asdict(share) for share in self.modalities],
            "one_modality_share": self.one_modality_share,
            "answerable_from_one_modality": self.answerable_from_one_modality,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BenchmarkModality:
        return cls(
            benchmark=data["benchmark"],
            items=data["items"],
            accuracy_with_all=data["accuracy_with_all"],
            answered=data["answered"],
            modalities=tuple(ModalityShare(**share) for share in data["modalities"]),
            one_modality_share=data["one_modality_share"],
            answerable_from_one_modality=data["answerable_from_one_modality"],
        )


def modality_importance_compute(
    *, trials: Iterable[ModalityTrial], threshold: float = ONE_MODALITY_THRESHOLD
) -> tuple[BenchmarkModality, ...]:
    """Per benchmark (sorted by name), the modality shares and the one-modality flag.

    Items with fewer than two modalities say nothing about combining them and are left out.
    """
    if not 0.0 < threshold <= 1.0:
        raise ValueError("The one-modality threshold must be a fraction above 0 and at most 1.")
    by_benchmark: dict[str, list[ModalityTrial]] = defaultdict(list)
    seen: set[tuple[str, str]] = set()
    for trial in trials:
        key = (trial.benchmark, trial.item_id)
        if key in seen:
            raise ValueError(f"The item {trial.item_id!r} of {trial.benchmark!r} was given twice.")
        seen.add(key)
        if len(trial.correct_without) >= 2:
            by_benchmark[trial.benchmark].append(trial)
    return tuple(
        _benchmark_summary(benchmark, by_benchmark[benchmark], threshold)
        for benchmark in sorted(by_benchmark)
    )


def _benchmark_summary(benchmark: str, trials: list[ModalityTrial], threshold: float) -> BenchmarkModality:
    answered = [trial for trial in trials if trial.correct_with_all]
    modalities = sorted({modality for trial in trials for modality in trial.modalities})
    shares = []
    for modality in modalities:
        carrying = [trial for trial in trials if modality in trial.modalities]
        carrying_answered = [trial for trial in carrying if trial.correct_with_all]
        needed = sum(modality in trial.needed() for trial in carrying_answered)
        shares.append(
            ModalityShare(
                modality=modality,
                items=len(carrying),
                accuracy_without=sum(dict(t.correct_without)[modality] for t in carrying) / len(carrying),
                answered=len(carrying_answered),
                needed=needed,
                share=needed / len(carrying_answered) if carrying_answered else None,
            )
        )
    one_modality = sum(len(trial.needed()) <= 1 for trial in answered)
    one_modality_share = one_modality / len(answered) if answered else None
    return BenchmarkModality(
        benchmark=benchmark,
        items=len(trials),
        accuracy_with_all=len(answered) / len(trials),
        answered=len(answered),
        modalities=tuple(shares),
        one_modality_share=one_modality_share,
        answerable_from_one_modality=one_modality_share is not None and one_modality_share >= threshold,
    )
