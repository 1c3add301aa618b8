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

from django.conf import settings

from arena.models import Model
from evaluation.analyses.report import analyses_report
from evaluation.answers import ChoiceJudge, choice_resolve, likelihood_choose, yesno_extract
from evaluation.benchmarks import Benchmark
from evaluation.conditions import STANDARD, Condition, Question, conditions_all, questions_for, wordings_most
from evaluation.items import Item, items_sha256
from evaluation.judge import choice_judge_for
from evaluation.metrics import (
    METRICS,
    ItemResult,
    MetricError,
    answer_normalised,
    exact_match_score,
    scores_by_category,
)
from evaluation.recipes import Prompt, Recipe
from workers.adapters.base import GenerationParams, GenerationStats, ImagePart, Message, TextPart
from workers.runner import GENERIC_FAILURE, ModelSpec, answers_run, generation_run, likelihood_run

_TIME_LIMIT_S: Final = 120.0


@dataclass(frozen=True)
class BenchmarkRun:
    """`asked`: each scored prompt with its condition's name, in the order asked (item by item, each
    item's conditions in run order)."""

    benchmark: Benchmark
    model: Model
    items: tuple[Item, ...]
    asked: tuple[tuple[str, ItemResult], ...]
    seconds: float

    @property
    def results(self) -> tuple[ItemResult, ...]:
        """The standard condition's: what the scores are."""
        return tuple(result for condition, result in self.asked if condition == STANDARD)

    @property
    def variants(self) -> dict[str, tuple[ItemResult, ...]]:
        """Every other condition's, by name; empty for a run without analyses."""
        grouped: dict[str, list[ItemResult]] = {}
        for condition, result in self.asked:
            if condition != STANDARD:
                grouped.setdefault(condition, []).append(result)
        return {name: tuple(results) for name, results in grouped.items()}

    def summary(self) -> dict[str, Any]:
        """The results JSON: what ran, on what, the scores per category and overall, and the analyses
        when the run asked their conditions."""
        results, variants = self.results, self.variants
        scores = scores_by_category(results=results, metrics=("accuracy",))
        summary = {
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
                "prompts": len(results),
                "unreadable": sum(1 for result in results if result.extracted is None),
            },
            "timings": {
                "seconds": round(self.seconds, 3),
                "per_item_ms": round(1000 * self.seconds / max(1, len(self.items)), 1),
            },
        }
        extra = self._recipe_metrics(results)
        if extra:
            summary["metrics"] = extra
        if variants:
            summary["conditions"] = {
                name: scores_by_category(results=rows, metrics=("accuracy",))["overall"]
                for name, rows in variants.items()
            }
            summary["analyses"] = analyses_report(
                benchmark=self.benchmark.name, results={STANDARD: results, **variants}
            )
        return summary

    def _recipe_metrics(self, results: tuple[ItemResult, ...]) -> dict[str, dict[str, float | None]]:
        """Each recipe's metrics beyond accuracy over the items it asks (ECE for a likelihood recipe),
        by recipe name; a metric the results cannot give (no probabilities) is None."""
        kinds = {item.id: item.answer_type for item in self.items}
        found: dict[str, dict[str, float | None]] = {}
        for kind, recipe in sorted(self.benchmark.recipes.items()):
            extra = [metric for metric in recipe.metrics if metric != "accuracy"]
            asked = [result for result in results if kinds.get(result.item_id) == kind]
            if not extra or not asked:
                continue
            values: dict[str, float | None] = {}
            for metric in extra:
                try:
                    values[metric] = METRICS[metric](results=asked)
                except MetricError:
                    values[metric] = None
            found[recipe.name] = values
        return found

    def predictions(self) -> list[dict[str, Any]]:
        """One JSON object per prompt (the predictions JSONL), in the order asked."""
        return [prediction_dict(condition=condition, result=result) for condition, result in self.asked]


def prediction_dict(*, condition: str, result: ItemResult) -> dict[str, Any]:
    """A prediction's JSON line: the scored prompt, and its condition unless it is the standard one (so a
    run without analyses writes what it always has)."""
    row = result.to_dict()
    if condition != STANDARD:
        row["condition"] = condition
    return row


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


@dataclass(frozen=True)
class Answer:
    """What a model gave for one prompt: its text (for a likelihood recipe, the chosen letter) and, where
    the inferencer yields them, each option's probability."""

    text: str
    probabilities: tuple[float, ...] | None = None


def _failed(error: str) -> Answer:
    # A failed answer is a wrong one, as a benchmark counts it; its reason stays in the prediction.
    return Answer(text=f"[error: {error}]")


def _conversation(question: Question) -> list[Message]:
    content: tuple[TextPart | ImagePart, ...] = (TextPart(text=question.prompt.text),)
    if question.image is not None:
        content = (ImagePart(data=question.image, mime_type="image/png"), *content)
    return [Message(role="user", content=content)]


def _params(recipe: Recipe) -> GenerationParams:
    return GenerationParams(max_new_tokens=recipe.max_new_tokens, temperature=0.0, seed=recipe.seed)


def item_ask(*, model: Model, recipe: Recipe, question: Question) -> Answer:
    """The model's answer to one prompt: greedy, seeded, through the runner an arena answer uses; for a
    likelihood recipe, the option the model finds likeliest as its answer (ChEF's PPL inferencer)."""
    spec = ModelSpec(key=model.slug, kind=model.adapter_kind, config=model.adapter_config)
    conversation = _conversation(question)
    if recipe.inferencer == "likelihood":
        scored = likelihood_run(model=spec, conversation=conversation, continuations=question.prompt.options)
        if scored.logprobs is None:
            return _failed(scored.error or GENERIC_FAILURE)
        letter, probabilities = likelihood_choose(
            option_logprobs=scored.logprobs, length_normalised=recipe.length_normalised
        )
        return Answer(text=letter, probabilities=probabilities)
    chunks: list[str] = []
    outcome = generation_run(
        model=spec,
        conversation=conversation,
        params=_params(recipe),
        stats=GenerationStats(),
        on_chunk=chunks.append,
        time_limit_s=_TIME_LIMIT_S,
    )
    if outcome.error is not None:
        return _failed(outcome.error)
    return Answer(text="".join(chunks))


@dataclass(frozen=True)
class Ask:
    """One prompt of a run: its item (at `index` in the run's item list) and its place among the item's."""

    index: int
    item: Item
    position: int
    question: Question


def asks_of(
    *, benchmark: Benchmark, items: Sequence[Item], first: int, conditions: tuple[Condition, ...]
) -> list[Ask]:
    """Every prompt of `items` (the run's items from index `first`), in the order a run asks them."""
    return [
        Ask(index=index, item=item, position=position, question=question)
        for index, item in enumerate(items, start=first)
        for position, question in enumerate(
            item_questions(benchmark=benchmark, item=item, conditions=conditions)
        )
    ]


def asks_batched(*, asks: Sequence[Ask], chunk_size: int) -> list[list[Ask]]:
    """`asks` cut into the batches they are sent in: the prompts of EVALUATION_BATCH_ITEMS consecutive
    items of one chunk that share a recipe (and either all show an image or none does), at most
    EVALUATION_BATCH_PROMPTS at a time.

    Fixed by item index alone, never by what is stored or which worker is free: a resumed chunk, a
    chunk delivered twice and the synchronous run all send the same batches, so a model whose batched
    answers differed slightly from its single ones would still repeat itself exactly.
    """
    per_block = max(1, settings.EVALUATION_BATCH_ITEMS)
    most = max(1, settings.EVALUATION_BATCH_PROMPTS)
    groups: dict[tuple[int, int, str, bool], list[Ask]] = {}
    for ask in asks:
        # Prompts with and without an image apart: a vision model batches only like with like.
        with_image = ask.question.image is not None
        block = (
            ask.index // chunk_size,
            ask.index % chunk_size // per_block,
            ask.item.answer_type,
            with_image,
        )
        groups.setdefault(block, []).append(ask)
    return [group[start : start + most] for group in groups.values() for start in range(0, len(group), most)]


def items_ask(*, model: Model, recipe: Recipe, questions: Sequence[Question]) -> list[Answer]:
    """The model's answers to several prompts of one recipe, in order: in one batch where its adapter
    can (`workers.runner.answers_run`), each as `item_ask` would give it alone otherwise."""
    if recipe.inferencer == "likelihood" or len(questions) == 1:
        return [item_ask(model=model, recipe=recipe, question=question) for question in questions]
    spec = ModelSpec(key=model.slug, kind=model.adapter_kind, config=model.adapter_config)
    outcomes = answers_run(
        model=spec,
        conversations=[_conversation(question) for question in questions],
        params=_params(recipe),
        time_limit_s=_TIME_LIMIT_S,
    )
    return [
        _failed(outcome.error) if outcome.error is not None else Answer(text=outcome.text)
        for outcome in outcomes
    ]


def item_score(
    *,
    item: Item,
    prompt: Prompt,
    prediction: str,
    probabilities: tuple[float, ...] | None = None,
    judge: ChoiceJudge | None = None,
) -> ItemResult:
    """Read one answer by the rule of the item's kind: the option letter (with `judge`, the LLM judge's
    reading where the rules find none: `evaluation.judge.choice_judge_for`), POPE's yes/no, or the text."""
    extracted: str | None
    if item.answer_type == "choice":
        extracted = choice_resolve(answer_text=prediction, options=prompt.options, judge=judge)
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
        probabilities=probabilities,
        option_count=count,
    )


def run_conditions(*, benchmark: Benchmark, analyses: bool) -> tuple[Condition, ...]:
    """The conditions a run asks: the standard one, and with analyses every variant they compare."""
    everything = conditions_all(wordings=wordings_most(recipes=benchmark.recipes))
    return everything if analyses else everything[:1]


def item_questions(*, benchmark: Benchmark, item: Item, conditions: tuple[Condition, ...]) -> list[Question]:
    return questions_for(item=item, recipe=benchmark.recipes[item.answer_type], conditions=conditions)


def benchmark_run(
    *, benchmark: Benchmark, model: Model, limit: int | None = None, analyses: bool = False
) -> BenchmarkRun:
    """Every item (or `limit` of them, spread over the categories) asked and scored, in item order, under
    the standard condition and, with `analyses`, under every variant the analyses compare."""
    items = items_spread(items=benchmark.items(), limit=limit)
    conditions = run_conditions(benchmark=benchmark, analyses=analyses)
    started = time.perf_counter()
    judges = {kind: choice_judge_for(recipe=recipe) for kind, recipe in benchmark.recipes.items()}
    scored: dict[tuple[int, int], tuple[str, ItemResult]] = {}
    asks = asks_of(benchmark=benchmark, items=items, first=0, conditions=conditions)
    # Batched as a Celery run of the same items batches them, chunk by chunk.
    for batch in asks_batched(asks=asks, chunk_size=settings.EVALUATION_CHUNK_ITEMS):
        recipe = benchmark.recipes[batch[0].item.answer_type]
        answers = items_ask(model=model, recipe=recipe, questions=[ask.question for ask in batch])
        for ask, answer in zip(batch, answers, strict=True):
            result = item_score(
                item=ask.item,
                prompt=ask.question.prompt,
                prediction=answer.text,
                probabilities=answer.probabilities,
                judge=judges[ask.item.answer_type],
            )
            scored[(ask.index, ask.position)] = (ask.question.condition, result)
    asked = [scored[(ask.index, ask.position)] for ask in asks]
    return BenchmarkRun(
        benchmark=benchmark,
        model=model,
        items=items,
        asked=tuple(asked),
        seconds=time.perf_counter() - started,
    )


def analyses_lines(*, analyses: dict[str, Any] | None) -> list[str]:
    """A run's analyses as a person reads them in a terminal or a log; none without analyses."""
    if not analyses:
        return []
    lines = []
    gain = analyses.get("gain")
    if gain:
        lines.append(
            f"multimodal gain {gain['gain']:+.3f} (with the image {gain['score_with_image']:.3f}, "
            f"without {gain['score_without_image']:.3f})"
        )
    stability = analyses.get("stability")
    if stability:
        lines.append(
            f"instruction stability over {len(stability['wordings'])} wordings: "
            f"mean {stability['mean']:.3f}, std {stability['std']:.3f}, best {stability['best']:.3f}"
        )
    modality = analyses.get("modality")
    if modality:
        shares = ", ".join(
            f"{row['modality']} {row['share']:.0%}"
            for row in modality["modalities"]
            if row["share"] is not None
        )
        flag = "; answerable from one modality alone" if modality["answerable_from_one_modality"] else ""
        lines.append(f"items needing each modality: {shares or 'none answered'}{flag}")
    for row in analyses.get("robustness") or ():
        relative = "n/a (clean not above chance)" if row["relative"] is None else f"{row['relative']:.3f}"
        lines.append(f"robustness to {row['corruption']}: {relative} (accuracy {row['corrupt']:.3f})")
    return lines
