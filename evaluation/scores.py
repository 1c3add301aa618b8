"""Benchmark scores: stored into leaderboard's `BenchmarkScore` when a run finishes, read back for the
benchmark board, its API, and a run's drill-down.

The leaderboard's model pages show these scores without importing evaluation (a layer above), so the
summary lives in a table leaderboard owns, as General-Level's `TaskScore` does.
"""

from __future__ import annotations

import csv
import io
import math
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.paginator import Page, Paginator
from django.db import transaction
from django.db.models import Count, Max

from arena.models import Model
from core.errors import NotFound
from core.versions import data_versions_bump
from evaluation.analyses.correlation import CorrelationOutcome, category_correlations_compute
from evaluation.analyses.gain import leakage_compute
from evaluation.benchmarks import Benchmark, benchmark_get
from evaluation.conditions import STANDARD
from evaluation.metrics import ItemResult, accuracy, bootstrap_interval
from evaluation.models import EvaluationRun, ItemPrediction, LanguageBase
from evaluation.tinyehub import CATEGORIES as TINY_EHUB_CATEGORIES
from leaderboard.boards.arena.categories import OVERALL as ARENA_OVERALL
from leaderboard.boards.arena.selectors import snapshot_latest, snapshot_rows
from leaderboard.boards.general_level.services import general_level_updated_publish
from leaderboard.boards.general_level.versions import GENERAL_LEVEL
from leaderboard.boards.model.selectors import BENCHMARK_SCORES
from leaderboard.models import BenchmarkScore, Task, TaskScore

OVERALL: Final = BenchmarkScore.OVERALL
RADAR_BENCHMARK: Final = "tiny-ehub"
RUN_PAGE_ITEMS: Final = 100
_NO_RUN: Final = "No such evaluation run."

# The radar's axis names: short enough to sit around a small chart.
_SHORT_LABELS: Final = {
    "visual_perception": "Perception",
    "visual_knowledge_acquisition": "Knowledge",
    "visual_reasoning": "Reasoning",
    "visual_commonsense": "Commonsense",
    "object_hallucination": "Hallucination",
    "embodied_intelligence": "Embodied",
}


category_label = BenchmarkScore.label_of


def _results_by_category(*, run: EvaluationRun) -> dict[str, list[ItemResult]]:
    grouped: dict[str, list[ItemResult]] = defaultdict(list)
    standard = ItemPrediction.objects.filter(run=run, condition=STANDARD)
    for prediction in standard.order_by("item_index", "position", "rotation"):
        result = prediction.result()
        grouped[OVERALL].append(result)
        grouped[result.category].append(result)
    return grouped


def benchmark_scores_store(*, run: EvaluationRun) -> list[BenchmarkScore]:
    """The run's accuracy overall and per category, each with a 95% bootstrap interval over its items,
    as the model's scores on the run's benchmark (replacing the earlier run's; categories this run did
    not ask are dropped). A run with no predictions stores nothing."""
    grouped = _results_by_category(run=run)
    if not grouped:
        return []
    stored = []
    with transaction.atomic():
        for category, results in grouped.items():
            interval = bootstrap_interval(results=results, metric=accuracy)
            score, _ = BenchmarkScore.objects.update_or_create(
                model_id=run.model_id,
                benchmark=run.benchmark,
                category=category,
                defaults={
                    "version": run.version,
                    "score": accuracy(results=results),
                    "lower": interval.lower,
                    "upper": interval.upper,
                    "items": len({result.item_id for result in results}),
                    "run_id": run.pk,
                },
            )
            stored.append(score)
        BenchmarkScore.objects.filter(model_id=run.model_id, benchmark=run.benchmark).exclude(
            category__in=list(grouped)
        ).delete()
        data_versions_bump(BENCHMARK_SCORES)
    return stored


def general_level_scores_store(*, run: EvaluationRun, benchmark: Benchmark) -> list[dict[str, Any]]:
    """For each of the benchmark's recipes that names a General-Bench task, the run's accuracy on the
    items that recipe asks (standard condition), in percent, as the model's `TaskScore` there (source
    `evaluation`, replacing an earlier one), and the General-Level board told. A task the board does not
    list is not invented (its specialist's score is unknown): it is reported as not stored, with why."""
    grouped: dict[str, list[ItemResult]] = defaultdict(list)
    kinds = {item.id: item.answer_type for item in benchmark.items()}
    standard = ItemPrediction.objects.filter(run=run, condition=STANDARD).order_by("item_index", "position")
    for prediction in standard:
        grouped[kinds.get(prediction.item_id, "")].append(prediction.result())
    written: list[dict[str, Any]] = []
    for kind, recipe in sorted(benchmark.recipes.items()):
        key = recipe.general_task_key
        if key is None or not grouped.get(kind):
            continue
        modality, group, name = key
        score = 100.0 * accuracy(results=grouped[kind])
        task = Task.objects.filter(name=name, modality=modality, group=group).first()
        if task is None:
            reason = "The General-Level board lists no such task; import its table first."
            written.append({"task": recipe.general_task, "score": score, "stored": False, "reason": reason})
            continue
        TaskScore.objects.update_or_create(
            model=run.model,
            task=task,
            defaults={
                "model_name": run.model.display_name,
                "score": score,
                "source": TaskScore.Source.EVALUATION,
                "source_detail": f"{run.benchmark} {run.version[:12]} ({recipe.name})",
                "evaluation_run_id": run.pk,
            },
        )
        written.append({"task": recipe.general_task, "score": score, "stored": True, "reason": None})
    if any(row["stored"] for row in written):
        data_versions_bump(GENERAL_LEVEL)
        transaction.on_commit(general_level_updated_publish)
    return written


@dataclass(frozen=True)
class ScoreCell:
    score: float
    lower: float
    upper: float
    items: int

    def to_dict(self) -> dict[str, Any]:
        return {"score": self.score, "lower": self.lower, "upper": self.upper, "items": self.items}


@dataclass(frozen=True)
class RadarAxis:
    label: str
    value: float
    x: float  # the axis's end, where its label sits
    y: float
    label_x: float
    label_y: float
    anchor: str  # the label's text-anchor


@dataclass(frozen=True)
class Radar:
    """A six-axis chart of per-category scores, drawn as SVG on the server."""

    width: int
    height: int
    cx: float
    cy: float
    rings: tuple[str, ...]  # polygons at 25, 50, 75 and 100%
    axes: tuple[RadarAxis, ...]
    shape: str  # the model's polygon
    aria_label: str


# Wider than tall: the labels left and right of the chart need the room.
RADAR_WIDTH: Final = 340
RADAR_HEIGHT: Final = 200
_RADIUS: Final = 70.0
_CX: Final = RADAR_WIDTH / 2
_CY: Final = RADAR_HEIGHT / 2


def _point(radius: float, index: int, count: int) -> tuple[float, float]:
    angle = -math.pi / 2 + 2 * math.pi * index / count
    return _CX + radius * math.cos(angle), _CY + radius * math.sin(angle)


def _polygon(points: Sequence[tuple[float, float]]) -> str:
    return " ".join(f"{x:.1f},{y:.1f}" for x, y in points)


def radar_draw(*, name: str, scores: Sequence[tuple[str, float]]) -> Radar:
    """The radar of `scores` ((category, accuracy 0..1), one per axis) for the model `name`."""
    count = len(scores)
    rings = tuple(
        _polygon([_point(_RADIUS * share, i, count) for i in range(count)])
        for share in (0.25, 0.5, 0.75, 1.0)
    )
    axes = []
    for i, (category, value) in enumerate(scores):
        x, y = _point(_RADIUS, i, count)
        label_x, label_y = _point(_RADIUS + 8, i, count)
        anchor = "middle" if abs(label_x - _CX) < 1 else ("start" if label_x > _CX else "end")
        axes.append(
            RadarAxis(
                label=_SHORT_LABELS.get(category, category_label(category)),
                value=value,
                x=round(x, 1),
                y=round(y, 1),
                label_x=round(label_x, 1),
                label_y=round(label_y + (4 if abs(label_x - _CX) >= 1 else (0 if label_y < _CY else 10)), 1),
                anchor=anchor,
            )
        )
    shape = _polygon([_point(_RADIUS * max(0.0, min(1.0, v)), i, count) for i, (_, v) in enumerate(scores)])
    described = ", ".join(f"{category_label(category)} {value * 100:.1f}%" for category, value in scores)
    return Radar(
        width=RADAR_WIDTH,
        height=RADAR_HEIGHT,
        cx=_CX,
        cy=_CY,
        rings=rings,
        axes=tuple(axes),
        shape=shape,
        aria_label=f"{name} on {RADAR_BENCHMARK}, accuracy per category: {described}",
    )


@dataclass(frozen=True)
class BenchmarkRow:
    slug: str
    name: str
    version: str
    run_id: uuid.UUID
    overall: ScoreCell | None
    cells: tuple[ScoreCell | None, ...]  # in the table's category order
    radar: Radar | None


@dataclass(frozen=True)
class CorrelationRow:
    """How a benchmark's ranking (overall or in one category) agrees with the arena's overall rating."""

    category: str
    label: str
    outcome: CorrelationOutcome

    def to_dict(self) -> dict[str, Any]:
        return {"category": self.category, **self.outcome.to_dict()}


@dataclass(frozen=True)
class AnalysisRow:
    """A model's analyses on a benchmark, from its latest finished run with analyses (the summary's
    `analyses`), the leakage filled in when a base language model is registered and has run too."""

    slug: str
    name: str
    run_id: uuid.UUID
    gain: dict[str, Any] | None
    text_base: str | None
    stability: dict[str, Any] | None
    robustness: tuple[dict[str, Any], ...]
    modality: dict[str, Any] | None

    def relative(self, corruption: str) -> float | None:
        return next((row["relative"] for row in self.robustness if row["corruption"] == corruption), None)

    def share(self, modality: str) -> float | None:
        shares = (self.modality or {}).get("modalities", ())
        return next((row["share"] for row in shares if row["modality"] == modality), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.slug,
            "name": self.name,
            "run": str(self.run_id),
            "gain": self.gain,
            "text_base": self.text_base,
            "stability": self.stability,
            "robustness": list(self.robustness),
            "modality": self.modality,
        }

    def metrics(self) -> list[tuple[str, float | None, int | None]]:
        """Each analysis number flat (name, value, items), as the CSV gives them."""
        gain, stability = self.gain or {}, self.stability or {}
        flat: list[tuple[str, float | None, int | None]] = []
        if gain:
            flat += [("multimodal_gain", gain["gain"], gain["items"])]
            flat += (
                [("multimodal_leakage", gain["leakage"], gain["items"])]
                if gain["leakage"] is not None
                else []
            )
        for name in ("mean", "std", "best"):
            if stability:
                flat.append((f"stability_{name}", stability[name], stability["items"]))
        flat += [
            (f"robustness_{row['corruption']}", row["relative"], row["items"]) for row in self.robustness
        ]
        if self.modality:
            for row in self.modality["modalities"]:
                flat.append((f"needs_{row['modality']}", row["share"], row["answered"]))
            flat.append(
                ("one_modality_share", self.modality["one_modality_share"], self.modality["answered"])
            )
        return flat


@dataclass(frozen=True)
class BenchmarkTable:
    benchmark: str
    categories: tuple[str, ...]
    labels: tuple[str, ...]
    rows: tuple[BenchmarkRow, ...]  # best overall first
    correlations: tuple[CorrelationRow, ...] = ()  # overall first, then the categories in column order
    analyses: tuple[AnalysisRow, ...] = ()  # in the rows' order
    corruptions: tuple[str, ...] = ()  # the robustness columns
    modalities: tuple[str, ...] = ()  # the modality-importance columns

    @property
    def flagged(self) -> bool:
        """Whether any model answers most of this benchmark from one modality alone."""
        return any(row.modality and row.modality["answerable_from_one_modality"] for row in self.analyses)

    @property
    def correlated(self) -> bool:
        """Whether any category has a correlation to show (none has with fewer than 3 rated models)."""
        return any(row.outcome.correlation is not None for row in self.correlations)


@dataclass(frozen=True)
class BenchmarkBoard:
    version: str
    tables: tuple[BenchmarkTable, ...]
    updated_at: datetime | None


def _stamp(value: datetime | None) -> int:
    return int(value.timestamp() * 1_000_000) if value else 0


def benchmark_board_version() -> tuple[str, datetime | None]:
    """The board's version (it changes whenever a score is stored, a model is edited, a base language
    model is registered or a rating snapshot is taken, since the correlations read the latest) and its
    last change of scores."""
    found = BenchmarkScore.objects.filter(model__status=Model.Status.ACTIVE).aggregate(
        n=Count("id"), at=Max("updated_at")
    )
    at: datetime | None = found["at"]
    edited = Model.objects.aggregate(at=Max("updated_at"))["at"]
    bases = LanguageBase.objects.aggregate(n=Count("id"), at=Max("created_at"))
    snapshot = snapshot_latest()
    return (
        f"{found['n']}.{_stamp(at)}.{_stamp(edited)}.{bases['n']}.{_stamp(bases['at'])}."
        f"{snapshot.version if snapshot else 0}",
        at,
    )


def _analysis_runs(benchmark: str) -> dict[int, EvaluationRun]:
    """Each model's latest finished run with analyses on the benchmark, by model id."""
    runs = (
        EvaluationRun.objects.filter(benchmark=benchmark, status=EvaluationRun.Status.FINISHED)
        .filter(summary__has_key="analyses")
        .select_related("model")
        .order_by("model_id", "-finished_at")
        .distinct("model_id")
    )
    return {run.model_id: run for run in runs}


def _analysis_rows(*, benchmark: str, rows: Sequence[BenchmarkRow]) -> tuple[AnalysisRow, ...]:
    runs = _analysis_runs(benchmark)
    if not runs:
        return ()
    bases = dict(LanguageBase.objects.values_list("model_id", "base_id"))
    base_slugs = dict(Model.objects.filter(pk__in=bases.values()).values_list("pk", "slug"))
    by_slug = {run.model.slug: run for run in runs.values()}
    analysed = []
    for row in rows:
        run = by_slug.get(row.slug)
        if run is None:
            continue
        analyses = run.summary["analyses"]
        gain = dict(analyses["gain"]) if analyses.get("gain") else None
        base_id = bases.get(run.model_id)
        base_run = runs.get(base_id) if base_id is not None else None
        text_base = base_slugs.get(base_id) if base_id is not None else None
        if gain is not None and base_run is not None and base_run.items_sha256 == run.items_sha256:
            # MMStar's S_t: the base language model's score with no image at all.
            base_gain = base_run.summary["analyses"].get("gain") or {}
            if "score_without_image" in base_gain:
                gain["text_only_score"] = base_gain["score_without_image"]
                gain["leakage"] = leakage_compute(
                    score_without_image=gain["score_without_image"], text_only_score=gain["text_only_score"]
                )
        analysed.append(
            AnalysisRow(
                slug=row.slug,
                name=row.name,
                run_id=run.pk,
                gain=gain,
                text_base=text_base,
                stability=analyses.get("stability"),
                robustness=tuple(analyses.get("robustness") or ()),
                modality=analyses.get("modality"),
            )
        )
    return tuple(analysed)


def _ordered_union(groups: Sequence[Sequence[str]]) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for group in groups:
        seen.update(dict.fromkeys(group))
    return tuple(seen)


def _arena_ratings() -> dict[str, float]:
    """Each model's overall Bradley-Terry rating in the latest snapshot, by slug."""
    snapshot = snapshot_latest()
    if snapshot is None:
        return {}
    return {
        row["model"]: float(row["rating"])
        for row in snapshot_rows(snapshot=snapshot, category=ARENA_OVERALL)
        if row.get("rating") is not None
    }


def _correlations(
    *, categories: Sequence[str], rows: Sequence[BenchmarkRow], ratings: dict[str, float]
) -> tuple[CorrelationRow, ...]:
    category_scores: dict[str, dict[str, float]] = {OVERALL: {}}
    for row in rows:
        if row.overall is not None:
            category_scores[OVERALL][row.slug] = row.overall.score
        for category, cell in zip(categories, row.cells, strict=True):
            if cell is not None:
                category_scores.setdefault(category, {})[row.slug] = cell.score
    outcomes = category_correlations_compute(category_scores=category_scores, ratings=ratings)
    return tuple(
        CorrelationRow(
            category=category,
            label="Overall" if category == OVERALL else category_label(category),
            outcome=outcomes[category],
        )
        for category in (OVERALL, *categories)
        if category in outcomes
    )


def _cell(score: BenchmarkScore) -> ScoreCell:
    return ScoreCell(score=score.score, lower=score.lower, upper=score.upper, items=score.items)


def _categories_ordered(benchmark: str, categories: set[str]) -> tuple[str, ...]:
    """tiny-ehub's in its own order (so the radar's axes are the paper's); any other's alphabetically."""
    known = TINY_EHUB_CATEGORIES if benchmark == RADAR_BENCHMARK else ()
    return tuple(sorted(categories, key=lambda c: (known.index(c) if c in known else len(known), c)))


def benchmark_board() -> BenchmarkBoard:
    """Every benchmark's table: the active models with a stored score, best overall first, each with its
    per-category scores (and a radar on tiny-ehub)."""
    version, updated_at = benchmark_board_version()
    scores = BenchmarkScore.objects.filter(model__status=Model.Status.ACTIVE).select_related("model")
    by_benchmark: dict[str, dict[int, list[BenchmarkScore]]] = defaultdict(lambda: defaultdict(list))
    for score in scores:
        by_benchmark[score.benchmark][score.model_id].append(score)
    ratings = _arena_ratings() if by_benchmark else {}
    tables = []
    for benchmark in sorted(by_benchmark):
        models = by_benchmark[benchmark]
        categories = _categories_ordered(
            benchmark, {s.category for rows in models.values() for s in rows if s.category != OVERALL}
        )
        rows = []
        for model_scores in models.values():
            model = model_scores[0].model
            found = {s.category: s for s in model_scores}
            overall = found.get(OVERALL)
            cells = tuple(_cell(found[c]) if c in found else None for c in categories)
            radar = None
            if benchmark == RADAR_BENCHMARK and len(categories) == 6 and all(cells):
                radar = radar_draw(
                    name=model.display_name,
                    scores=[(c, cell.score) for c, cell in zip(categories, cells, strict=True) if cell],
                )
            rows.append(
                BenchmarkRow(
                    slug=model.slug,
                    name=model.display_name,
                    version=(overall or model_scores[0]).version,
                    run_id=(overall or model_scores[0]).run_id,
                    overall=_cell(overall) if overall else None,
                    cells=cells,
                    radar=radar,
                )
            )
        rows.sort(key=lambda row: (-(row.overall.score if row.overall else -1.0), row.name.casefold()))
        analyses = _analysis_rows(benchmark=benchmark, rows=rows)
        tables.append(
            BenchmarkTable(
                benchmark=benchmark,
                categories=categories,
                labels=tuple(category_label(c) for c in categories),
                rows=tuple(rows),
                correlations=_correlations(categories=categories, rows=rows, ratings=ratings),
                analyses=analyses,
                corruptions=_ordered_union([[r["corruption"] for r in row.robustness] for row in analyses]),
                modalities=_ordered_union(
                    [[m["modality"] for m in (row.modality or {}).get("modalities", ())] for row in analyses]
                ),
            )
        )
    return BenchmarkBoard(version=version, tables=tuple(tables), updated_at=updated_at)


def benchmark_api_dict(*, board: BenchmarkBoard) -> dict[str, Any]:
    """The board as the JSON endpoint gives it."""
    return {
        "version": board.version,
        "updated_at": board.updated_at,
        "benchmarks": [
            {
                "benchmark": table.benchmark,
                "categories": list(table.categories),
                "models": [
                    {
                        "model": row.slug,
                        "name": row.name,
                        "version": row.version,
                        "run": str(row.run_id),
                        "overall": row.overall.to_dict() if row.overall else None,
                        "categories": {
                            category: cell.to_dict()
                            for category, cell in zip(table.categories, row.cells, strict=True)
                            if cell is not None
                        },
                    }
                    for row in table.rows
                ],
                "arena_correlation": [row.to_dict() for row in table.correlations],
                "analyses": [row.to_dict() for row in table.analyses],
            }
            for table in board.tables
        ],
    }


CSV_COLUMNS: Final = (
    "benchmark",
    "version",
    "model",
    "name",
    "category",
    "metric",
    "score",
    "lower",
    "upper",
    "items",
    "run",
)


def benchmark_csv(*, board: BenchmarkBoard) -> str:
    """The board flat: one line per model, benchmark and category ("overall" first)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for table in board.tables:
        for row in table.rows:
            cells = [(OVERALL, row.overall), *zip(table.categories, row.cells, strict=True)]
            for category, cell in cells:
                if cell is None:
                    continue
                writer.writerow(
                    [
                        table.benchmark,
                        row.version,
                        row.slug,
                        row.name,
                        category,
                        "accuracy",
                        f"{cell.score:.6f}",
                        f"{cell.lower:.6f}",
                        f"{cell.upper:.6f}",
                        cell.items,
                        row.run_id,
                    ]
                )
        versions = {row.slug: row.version for row in table.rows}
        for analysis in table.analyses:
            for metric, value, items in analysis.metrics():
                writer.writerow(
                    [
                        table.benchmark,
                        versions[analysis.slug],
                        analysis.slug,
                        analysis.name,
                        OVERALL,
                        metric,
                        "" if value is None else f"{value:.6f}",
                        "",
                        "",
                        "" if items is None else items,
                        analysis.run_id,
                    ]
                )
    return out.getvalue()


def evaluation_run_readable(
    *, run_id: uuid.UUID | str, user: AbstractBaseUser | AnonymousUser
) -> EvaluationRun:
    """The run, if `user` may read it (anyone for an active model's; staff and the submitter of the
    submission it evaluates otherwise); NotFound as if it did not exist for anyone else."""
    try:
        run = EvaluationRun.objects.select_related("model", "submission").filter(pk=run_id).first()
    except (ValueError, TypeError):
        run = None
    if run is None:
        raise NotFound(_NO_RUN)
    if run.model.status == Model.Status.ACTIVE:
        return run
    if user.is_authenticated and (
        getattr(user, "is_staff", False)
        or (run.submission is not None and run.submission.submitter_id == user.pk)
    ):
        return run
    raise NotFound(_NO_RUN)


@dataclass(frozen=True)
class PredictionRow:
    item_id: str
    category: str
    question: str
    prediction: str
    extracted: str | None
    correct: bool
    rotation: int


def _questions(*, run: EvaluationRun) -> dict[str, str]:
    try:
        benchmark = benchmark_get(name=run.benchmark)
    except LookupError:
        return {}
    return {item.id: item.question for item in benchmark.items()}


def evaluation_run_items(
    *, run: EvaluationRun, page: int | str | None
) -> tuple[Page[Any], list[PredictionRow]]:
    """One page (RUN_PAGE_ITEMS a page) of the run's predictions with their items' questions; a page
    past the end is the last one."""
    paginator = Paginator(
        ItemPrediction.objects.filter(run=run).order_by("item_index", "position", "rotation"), RUN_PAGE_ITEMS
    )
    shown = paginator.get_page(page)
    questions = _questions(run=run) if shown.object_list else {}
    rows = [
        PredictionRow(
            item_id=prediction.item_id,
            category=prediction.category,
            question=questions.get(prediction.item_id, ""),
            prediction=prediction.prediction,
            extracted=prediction.extracted,
            correct=prediction.correct,
            rotation=prediction.rotation,
        )
        for prediction in shown.object_list
    ]
    return shown, rows
