"""The analyses of one run with analyses (`evaluation.conditions`), from its scored prompts per condition.

An item counts as right under a condition when every prompt it had there is right (all rotations, for
circular runs), so each analysis compares items, not prompts. An analysis whose condition the run did not
ask, or that applies to none of its items (gain without any image), is None with nothing guessed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from evaluation.analyses.gain import gain_compute
from evaluation.analyses.modality import ModalityTrial, modality_importance_compute
from evaluation.analyses.robustness import (
    IMAGE_CORRUPTIONS,
    chance_accuracy_compute,
    robustness_compute,
)
from evaluation.analyses.stability import MIN_WORDINGS, stability_compute
from evaluation.conditions import NO_IMAGE, REMOVES, STANDARD, TYPO
from evaluation.metrics import ItemResult


def correct_by_item(*, results: Sequence[ItemResult]) -> dict[str, bool]:
    """Item id → right, where right means every prompt of the item was answered right."""
    correct: dict[str, bool] = {}
    for result in results:
        correct[result.item_id] = correct.get(result.item_id, True) and result.correct
    return correct


def _options_by_item(results: Sequence[ItemResult]) -> dict[str, int]:
    return {result.item_id: result.option_count for result in results}


def analyses_report(*, benchmark: str, results: Mapping[str, Sequence[ItemResult]]) -> dict[str, Any]:
    """Gain, stability, modality importance and robustness (each a JSON-ready dict or None) from the
    scored prompts per condition name; the standard condition's are the clean, with-everything ones."""
    by_condition = {name: correct_by_item(results=rows) for name, rows in results.items()}
    standard = by_condition.get(STANDARD, {})
    options = _options_by_item(results.get(STANDARD, ()))

    gain = None
    without_image = {k: v for k, v in by_condition.get(NO_IMAGE, {}).items() if k in standard}
    if without_image:
        with_image = {item: standard[item] for item in without_image}
        gain = gain_compute(with_image=with_image, without_image=without_image).to_dict()

    stability = None
    wordings = {"wording-1": standard, **{n: c for n, c in by_condition.items() if n.startswith("wording-")}}
    if len(wordings) >= MIN_WORDINGS and standard:
        shared = set.intersection(*(set(correct) for correct in wordings.values()))
        if shared:
            stability = stability_compute(
                correct_by_wording={
                    name: {item: correct[item] for item in shared} for name, correct in wordings.items()
                }
            ).to_dict()

    trials = []
    for item, right in standard.items():
        without = {
            modality: by_condition[condition][item]
            for condition, modality in REMOVES.items()
            if item in by_condition.get(condition, {})
        }
        trials.append(
            ModalityTrial.of(
                item_id=item, benchmark=benchmark, correct_with_all=right, correct_without=without
            )
        )
    modality = next(iter(modality_importance_compute(trials=trials)), None)

    robustness = []
    for corruption in (*IMAGE_CORRUPTIONS, TYPO):
        corrupt = {k: v for k, v in by_condition.get(corruption, {}).items() if k in standard}
        if not corrupt:
            continue
        clean = {item: standard[item] for item in corrupt}
        chance = chance_accuracy_compute(option_counts=[options.get(item, 0) for item in clean])
        robustness.append(
            robustness_compute(corruption=corruption, clean=clean, corrupt=corrupt, chance=chance).to_dict()
        )
    return {
        "gain": gain,
        "stability": stability,
        "modality": None if modality is None else modality.to_dict(),
        "robustness": robustness,
    }
