"""Reads behind a model's public page (`/models/<slug>/`): what it is, its ratings in every category
(plain and style-controlled), its rating over time, its record against each opponent and its
General-Level row."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from django.conf import settings

from arena.models import Model
from leaderboard.boards.arena.board import RankedRating
from leaderboard.boards.arena.categories import CATEGORIES, CATEGORY_LABELS, OVERALL, category_check
from leaderboard.boards.arena.export import ROW_KEYS, model_ratings_get
from leaderboard.boards.arena.selectors import board_rows, model_history, snapshot_result
from leaderboard.boards.general_level.selectors import BoardEntry, general_level_board
from leaderboard.boards.model.chart import HistoryChart, history_chart
from leaderboard.boards.model.description import description_html
from leaderboard.models import BenchmarkScore, RatingSnapshot

HISTORY_POINTS: Final = 200  # snapshots on the chart, as the model endpoint's default
# The data version (core.versions) evaluation bumps whenever it stores benchmark scores.
BENCHMARK_SCORES: Final = "benchmark-scores"


@dataclass(frozen=True)
class RatingRow(RankedRating):
    rank: int | None
    rank_lower: int | None
    rank_upper: int | None
    rating: float | None
    ci_lower: float | None
    ci_upper: float | None
    battles: int
    win_rate: float | None
    provisional: bool  # too few votes here, or left out of the style fit: listed unranked


@dataclass(frozen=True)
class CategoryRating:
    key: str
    label: str
    plain: RatingRow
    styled: RatingRow | None  # None in a snapshot from before style control


@dataclass(frozen=True)
class Opponent:
    slug: str
    name: str
    battles: int  # ties included
    win_rate: float | None  # decisive battles won, ties left out; None when every battle was a tie
    predicted_win_rate: float | None  # what the two ratings predict; None across separate scales


@dataclass(frozen=True)
class BenchmarkResult:
    """The model's latest score on one benchmark: overall, then per category, with 95% intervals."""

    benchmark: str
    version: str
    overall: BenchmarkScore | None
    categories: tuple[BenchmarkScore, ...]


@dataclass(frozen=True)
class Link:
    label: str
    url: str


@dataclass(frozen=True)
class ModelPage:
    model: Model
    snapshot: RatingSnapshot | None
    category: str  # of the history and the opponents
    category_label: str
    ratings: tuple[CategoryRating, ...]  # the categories the model is rated in, in tab order
    history: tuple[dict[str, Any], ...]  # the model's row in each recent snapshot, oldest first
    chart: HistoryChart | None
    opponents: tuple[Opponent, ...]  # most battles first
    general_level: BoardEntry | None
    benchmarks: tuple[BenchmarkResult, ...]
    description: str  # sanitised HTML
    links: tuple[Link, ...]
    rank_min_votes: int  # LEADERBOARD_MIN_VOTES: fewer votes in a category, and the model is unranked there

    @property
    def retired(self) -> bool:
        return self.model.status == Model.Status.RETIRED

    @property
    def rated(self) -> bool:
        return bool(self.ratings)


def model_category_rows(*, snapshot: RatingSnapshot, slug: str, style: bool) -> dict[str, dict[str, Any]]:
    """The model's row in each category of `snapshot`, ranked as the board ranks it, plain or with style
    control. A snapshot from before style control has no style rows: it gives none."""
    found: dict[str, dict[str, Any]] = {}
    if style and not snapshot.style_results:
        return found
    for key in CATEGORIES:
        if not snapshot.category_votes.get(key):
            continue
        rows = board_rows(
            snapshot=snapshot,
            category=key,
            style=style,
            min_battles=0,
            min_votes=settings.LEADERBOARD_MIN_VOTES,
            interval=settings.LEADERBOARD_INTERVALS,
        )
        row = next((row for row in rows if row["model"] == slug), None)
        if row is not None:
            found[key] = row
    return found


def model_rating_items(*, snapshot: RatingSnapshot, slug: str, style: bool) -> dict[str, dict[str, Any]]:
    """`model_category_rows` as the model endpoint gives them: the row's numbers, not the model's names."""
    shown = [key for key in ROW_KEYS if key not in ("model", "name", "organization", "license")]
    return {
        category: {key: row.get(key) for key in shown}
        for category, row in model_category_rows(snapshot=snapshot, slug=slug, style=style).items()
    }


def _rating_row(row: dict[str, Any]) -> RatingRow:
    return RatingRow(
        rank=row["rank"],
        rank_lower=row["rank_lower"],
        rank_upper=row["rank_upper"],
        rating=row["rating"],
        ci_lower=row["ci_lower"],
        ci_upper=row["ci_upper"],
        battles=row["battles"],
        win_rate=row["win_rate"],
        provisional=row["provisional"],
    )


def model_opponents(*, snapshot: RatingSnapshot, slug: str, category: str) -> list[Opponent]:
    """The model's record against each model it met in `category`, from the snapshot's pairwise
    matrices (the latest snapshot always keeps them)."""
    result = snapshot_result(snapshot=snapshot, category=category)
    matrices = (result or {}).get("matrices")
    if not matrices or slug not in matrices["models"]:
        return []
    slugs: list[str] = matrices["models"]
    i = slugs.index(slug)
    names = dict(Model.objects.filter(slug__in=slugs).values_list("slug", "display_name"))
    met = [
        Opponent(
            slug=other,
            name=names.get(other, other),
            battles=int(matrices["battle_counts"][i][j]),
            win_rate=matrices["win_rate"][i][j],
            predicted_win_rate=matrices["predicted_win_rate"][i][j],
        )
        for j, other in enumerate(slugs)
        if j != i and matrices["battle_counts"][i][j]
    ]
    met.sort(key=lambda opponent: (-opponent.battles, opponent.name.casefold()))
    return met


def _links(model: Model) -> tuple[Link, ...]:
    # The admin validates links (arena.models.model_links_validate); a row written around it shows
    # only the well-formed http(s) ones.
    kept = []
    for link in model.links if isinstance(model.links, list) else []:
        if not isinstance(link, dict):
            continue
        label, url = link.get("label"), link.get("url")
        if not isinstance(label, str) or not label.strip() or not isinstance(url, str):
            continue
        if url.startswith(("https://", "http://")):
            kept.append(Link(label=label.strip(), url=url))
    return tuple(kept)


def model_benchmarks(*, model: Model) -> list[BenchmarkResult]:
    """The model's stored benchmark scores (written by evaluation when a run finishes), by benchmark."""
    by_benchmark: dict[str, list[BenchmarkScore]] = {}
    for score in BenchmarkScore.objects.filter(model=model).order_by("benchmark", "category"):
        by_benchmark.setdefault(score.benchmark, []).append(score)
    results = []
    for benchmark, scores in by_benchmark.items():
        overall = next((score for score in scores if score.category == BenchmarkScore.OVERALL), None)
        results.append(
            BenchmarkResult(
                benchmark=benchmark,
                version=(overall or scores[0]).version,
                overall=overall,
                categories=tuple(score for score in scores if score.category != BenchmarkScore.OVERALL),
            )
        )
    return results


def model_page_get(*, slug: str, category: str = OVERALL) -> ModelPage:
    """Everything `/models/<slug>/` shows; NotFound for a slug no model has, InvalidInput for an
    unknown category."""
    category_check(category=category)
    found = model_ratings_get(slug=slug)
    model, snapshot = found.model, found.snapshot
    ratings: list[CategoryRating] = []
    opponents: list[Opponent] = []
    history: list[dict[str, Any]] = []
    if snapshot is not None:
        plain = model_category_rows(snapshot=snapshot, slug=model.slug, style=False)
        styled = model_category_rows(snapshot=snapshot, slug=model.slug, style=True)
        ratings = [
            CategoryRating(
                key=key,
                label=CATEGORY_LABELS[key],
                plain=_rating_row(row),
                styled=_rating_row(styled[key]) if key in styled else None,
            )
            for key, row in plain.items()
        ]
        opponents = model_opponents(snapshot=snapshot, slug=model.slug, category=category)
        history = model_history(slug=model.slug, category=category, limit=HISTORY_POINTS)
    board = general_level_board()
    entry = next((entry for entry in board.entries if entry.arena_slug == model.slug), None)
    return ModelPage(
        model=model,
        snapshot=snapshot,
        category=category,
        category_label=CATEGORY_LABELS[category],
        ratings=tuple(ratings),
        history=tuple(history),
        chart=history_chart(points=history),
        opponents=tuple(opponents),
        general_level=entry,
        benchmarks=tuple(model_benchmarks(model=model)),
        description=description_html(text=model.description),
        links=_links(model),
        rank_min_votes=settings.LEADERBOARD_MIN_VOTES,
    )
