"""Running a benchmark on a model, here and now, through the workers' adapters and runner (the ones an
arena answer goes through): each item's prompts asked greedily with the recipe's seed, each answer read
by the recipe's rules, the scores per category and overall.

Synchronous and in-process: `manage.py run_benchmark` and the tests use it as it is; the Celery runs
(fanned out over the workers that host the model, resumable item by item) are built on `item_ask`
and `item_score`, so both give the same predictions for the same model and recipe.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from arena.models import Model
from evaluation.answers import choice_extract, yesno_extract
from evaluation.benchmarks import Benchmark
from evaluation.items import Item, items_sha256
from evaluation.metrics import ItemResult, answer_normalised, exact_match_score, scores_by_category
from evaluation.recipes import Prompt, Recipe, prompts_for
from workers.adapters.base import GenerationParams, GenerationStats, ImagePart, Message, TextPart
from workers.runner import ModelSpec, generation_run

_TIME_LIMIT_S: Final = 120.0


@dataclass(frozen=True)
class BenchmarkRun:
    benchmark: Benchmark
    model: Model
    items: tuple[Item, ...]
    results: tuple[ItemResult, ...]
    seconds: float

    def summary(self) -> dict[str, Any]:
        """The results JSON: what ran, on what, and the scores per category and overall."""
        scores = scores_by_category(results=self.results, metrics=("accuracy",))
        return {
            "benchmark": self.benchmark.name,
            "version": self.benchmark.version(),
            "items_sha256": items_sha256(items=self.items),
            "model": self.model.slug,
            "adapter": self.model.adapter_kind,
            "recipes": {kind: recipe.name for kind, recipe in sorted(self.benchmark.recipes.items())},
            "overall": scores["overall"],
            "per_category": scores["categories"],
            "counts": {
                "items": len(self.items),
                "prompts": len(self.results),
                "unreadable": sum(1 for result in self.results if result.extracted is None),
            },
            "timings": {
                "seconds": round(self.seconds, 3),
                "per_item_ms": round(1000 * self.seconds / max(1, len(self.items)), 1),
            },
        }

    def predictions(self) -> list[dict[str, Any]]:
        """One JSON object per prompt (the predictions JSONL), in item order."""
        return [result.to_dict() for result in self.results]


def items_spread(*, items: Sequence[Item], limit: int | None) -> tuple[Item, ...]:
    """At most `limit` items taken in turn from each category, so that a short run still covers all."""
    if limit is None or limit >= len(items):
        return tuple(items)
    by_category: dict[str, list[Item]] = {}
    for item in items:
        by_category.setdefault(item.category, []).append(item)
    queues = list(by_category.values())
    chosen: list[Item] = []
    while len(chosen) < limit:
        for queue in queues:
            if queue and len(chosen) < limit:
                chosen.append(queue.pop(0))
    order = {item.id: index for index, item in enumerate(items)}
    return tuple(sorted(chosen, key=lambda item: order[item.id]))


def item_ask(*, model: Model, recipe: Recipe, item: Item, prompt: Prompt) -> str:
    """The model's answer to one prompt: greedy, seeded, through the runner an arena answer uses."""
    content: tuple[TextPart | ImagePart, ...] = (TextPart(text=prompt.text),)
    if item.image is not None:
        content = (ImagePart(data=item.image, mime_type="image/png"), *content)
    chunks: list[str] = []
    outcome = generation_run(
        model=ModelSpec(key=model.slug, kind=model.adapter_kind, config=model.adapter_config),
        conversation=[Message(role="user", content=content)],
        params=GenerationParams(max_new_tokens=recipe.max_new_tokens, temperature=0.0, seed=recipe.seed),
        stats=GenerationStats(),
        on_chunk=chunks.append,
        time_limit_s=_TIME_LIMIT_S,
    )
    if outcome.error is not None:
        # A failed answer is a wrong one, as a benchmark counts it; its reason stays in the prediction.
        return f"[error: {outcome.error}]"
    return "".join(chunks)


def item_score(*, item: Item, prompt: Prompt, prediction: str) -> ItemResult:
    """Read one answer by the rule of the item's kind: the option letter, POPE's yes/no, or the text."""
    extracted: str | None
    if item.answer_type == "choice":
        extracted = choice_extract(answer_text=prediction, options=prompt.options)
        correct, count = extracted == prompt.answer, len(prompt.options)
    elif item.answer_type == "yesno":
        extracted = yesno_extract(text=prediction)
        correct, count = extracted == item.answer, 2
    else:
        extracted = answer_normalised(prediction) or None
        correct, count = exact_match_score(prediction=prediction, references=(item.answer,)) == 1.0, 0
    return ItemResult(
        item_id=item.id,
        category=item.category,
        prediction=prediction,
        extracted=extracted,
        correct=correct,
        references=(prompt.answer or item.answer,),
        rotation=prompt.rotation,
        option_count=count,
    )


def benchmark_run(*, benchmark: Benchmark, model: Model, limit: int | None = None) -> BenchmarkRun:
    """Every item (or `limit` of them, spread over the categories) asked and scored, in item order."""
    items = items_spread(items=benchmark.items(), limit=limit)
    started = time.perf_counter()
    results = []
    for item in items:
        recipe = benchmark.recipes[item.answer_type]
        for prompt in prompts_for(item=item, recipe=recipe, instruction=recipe.instructions[0]):
            prediction = item_ask(model=model, recipe=recipe, item=item, prompt=prompt)
            results.append(item_score(item=item, prompt=prompt, prediction=prediction))
    return BenchmarkRun(
        benchmark=benchmark,
        model=model,
        items=items,
        results=tuple(results),
        seconds=time.perf_counter() - started,
    )
