"""The arena board as people see it: the latest snapshot's ratings with the live online Elo beside them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings

from arena.models import Exclusion, Model
from core.errors import InvalidInput
from leaderboard.boards.arena.categories import CATEGORIES, CATEGORY_LABELS, OVERALL, category_check
from leaderboard.boards.arena.online_elo import online_ratings_live
from leaderboard.boards.arena.selectors import (
    INTERVAL_KINDS,
    board_rows,
    snapshot_latest,
    snapshot_style_coefficients,
)
from leaderboard.boards.arena.versions import arena_board_version
from leaderboard.boards.arena.votes import VoteTotals, vote_totals
from leaderboard.models import RatingSnapshot


class RankedRating:
    """How a rated row shows its rank range and interval (the board's rows, a model page's)."""

    rank_lower: int | None
    rank_upper: int | None
    rating: float | None
    ci_lower: float | None
    ci_upper: float | None

    @property
    def rank_range(self) -> str:
        if self.rank_lower is None or self.rank_lower == self.rank_upper:
            return ""
        return f"{self.rank_lower}–{self.rank_upper}"

    @property
    def ci_plus(self) -> float | None:
        return None if self.rating is None or self.ci_upper is None else self.ci_upper - self.rating

    @property
    def ci_minus(self) -> float | None:
        return None if self.rating is None or self.ci_lower is None else self.rating - self.ci_lower


@dataclass(frozen=True)
class BoardRow(RankedRating):
    slug: str
    name: str
    organization: str
    license: str
    status: str
    rank: int | None
    rank_lower: int | None
    rank_upper: int | None
    rank_change: int | None  # overall rank minus this category's rank: > 0 is better here
    rating: float | None
    ci_lower: float | None
    ci_upper: float | None
    votes: int  # battles in this category, as of the snapshot
    win_rate: float | None
    component: int
    online_elo: float | None  # live
    online_votes: int  # live, all categories
    updated_at: datetime | None  # when the model's online Elo last moved
    provisional: bool = False  # fewer than LEADERBOARD_MIN_VOTES votes here: listed apart, unranked

    @property
    def retired(self) -> bool:
        return self.status == Model.Status.RETIRED

    @property
    def rank_change_abs(self) -> int:
        return abs(self.rank_change or 0)


@dataclass(frozen=True)
class CategoryTab:
    key: str
    label: str
    votes: int


@dataclass(frozen=True)
class ArenaBoard:
    version: str
    snapshot: RatingSnapshot | None
    category: str
    category_label: str
    min_votes: int
    tabs: tuple[CategoryTab, ...]
    rows: tuple[BoardRow, ...]  # ranked
    provisional: tuple[BoardRow, ...]  # too few votes to rank, best rating first
    pending: tuple[BoardRow, ...]  # voted on since the snapshot, not rated yet (overall only)
    hidden: int  # rows below min_votes
    components: int
    style: bool  # style control on
    interval: str  # the intervals shown: "bootstrap" or "sandwich"
    rank_min_votes: int  # LEADERBOARD_MIN_VOTES: fewer votes than this, and a model is provisional
    style_coefficients: dict[str, float | None]  # log-odds per sd of each style feature (style on)
    style_votes: int  # the votes the style fit covered
    totals: VoteTotals  # live: the votes counted, and those stored but excluded (arena.integrity)

    @property
    def empty(self) -> bool:
        return not self.rows and not self.provisional and not self.pending

    @property
    def rated_count(self) -> int:
        return len(self.rows) + len(self.provisional)

    @property
    def length_sway(self) -> float | None:
        return self.style_coefficients.get("length")

    @property
    def excluded_reasons(self) -> list[tuple[str, int]]:
        """Each reason excluded votes have (its label) and how many have it."""
        return [(Exclusion(key).label, n) for key, n in self.totals.excluded_by_reason.items()]


def _metadata(*, slugs: list[str]) -> dict[str, Model]:
    return {model.slug: model for model in Model.objects.filter(slug__in=slugs)}


def board_interval_check(*, interval: str | None) -> str:
    """The intervals to show: the one asked for, else LEADERBOARD_INTERVALS."""
    chosen = interval or settings.LEADERBOARD_INTERVALS
    if chosen not in INTERVAL_KINDS:
        raise InvalidInput(f"There are no {chosen!r} intervals; choose one of {', '.join(INTERVAL_KINDS)}.")
    return chosen


def arena_board(
    *, category: str = OVERALL, min_votes: int = 0, style: bool = True, interval: str | None = None
) -> ArenaBoard:
    category_check(category=category)
    interval = board_interval_check(interval=interval)
    rank_min_votes = settings.LEADERBOARD_MIN_VOTES
    version = arena_board_version()
    snapshot = snapshot_latest()
    live = online_ratings_live()
    stored: list[dict[str, Any]] = []
    shown: list[dict[str, Any]] = []
    overall_rank: dict[str, int] = {}
    tabs: tuple[CategoryTab, ...] = ()
    coefficients: dict[str, float | None] = {}
    if snapshot is not None:
        choice = {"style": style, "min_votes": rank_min_votes, "interval": interval}
        stored = board_rows(snapshot=snapshot, category=category, min_battles=0, **choice)
        shown = board_rows(snapshot=snapshot, category=category, min_battles=min_votes, **choice)
        if category != OVERALL:
            overall = board_rows(snapshot=snapshot, category=OVERALL, min_battles=min_votes, **choice)
            overall_rank = {row["model"]: row["rank"] for row in overall if row["rank"] is not None}
        tabs = tuple(
            CategoryTab(key, CATEGORY_LABELS[key], snapshot.category_votes.get(key, 0))
            for key in CATEGORIES
            if snapshot.category_votes.get(key)
        )
        if style:
            coefficients = snapshot_style_coefficients(snapshot=snapshot, category=category)
    slugs = [row["model"] for row in stored] + list(live)
    models = _metadata(slugs=slugs)
    rows = []
    for row in shown:
        model = models.get(row["model"])
        online = live.get(row["model"])
        rows.append(
            BoardRow(
                slug=row["model"],
                name=model.display_name if model else row["model"],
                organization=model.organization if model else "",
                license=model.license if model else "",
                status=model.status if model else Model.Status.RETIRED,
                rank=row["rank"],
                rank_lower=row["rank_lower"],
                rank_upper=row["rank_upper"],
                rank_change=(overall_rank[row["model"]] - row["rank"])
                if row["model"] in overall_rank and row["rank"] is not None
                else None,
                rating=row["rating"],
                ci_lower=row["ci_lower"],
                ci_upper=row["ci_upper"],
                votes=row["battles"],
                win_rate=row["win_rate"],
                component=row["component"],
                online_elo=online.rating if online else row["online_elo"],
                online_votes=online.battles if online else 0,
                updated_at=online.updated_at if online else None,
                provisional=row["provisional"],
            )
        )
    pending = []
    if category == OVERALL:
        rated = {row["model"] for row in stored}
        for slug, online in sorted(live.items(), key=lambda item: -item[1].rating):
            if slug in rated or slug not in models:
                continue
            model = models[slug]
            pending.append(
                BoardRow(
                    slug=slug,
                    name=model.display_name,
                    organization=model.organization,
                    license=model.license,
                    status=model.status,
                    rank=None,
                    rank_lower=None,
                    rank_upper=None,
                    rank_change=None,
                    rating=None,
                    ci_lower=None,
                    ci_upper=None,
                    votes=0,
                    win_rate=None,
                    component=0,
                    online_elo=online.rating,
                    online_votes=online.battles,
                    updated_at=online.updated_at,
                )
            )
    return ArenaBoard(
        version=version,
        snapshot=snapshot,
        category=category,
        category_label=CATEGORY_LABELS[category],
        min_votes=min_votes,
        tabs=tabs,
        rows=tuple(row for row in rows if not row.provisional),
        provisional=tuple(row for row in rows if row.provisional),
        pending=tuple(pending),
        hidden=len(stored) - len(shown),
        components=len({row.component for row in rows if not row.provisional}),
        style=style,
        interval=interval,
        rank_min_votes=rank_min_votes,
        style_coefficients=coefficients,
        style_votes=int((snapshot.settings.get("style") or {}).get("votes", 0)) if snapshot else 0,
        totals=vote_totals(),
    )
