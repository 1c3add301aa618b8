"""The arena board as people see it: the latest snapshot's ratings with the live online Elo beside them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from arena.models import Model
from leaderboard.boards.arena.categories import CATEGORIES, CATEGORY_LABELS, OVERALL, category_check
from leaderboard.boards.arena.online_elo import online_ratings_live
from leaderboard.boards.arena.selectors import rows_min_battles, snapshot_latest, snapshot_rows
from leaderboard.boards.arena.versions import arena_board_version
from leaderboard.models import RatingSnapshot


@dataclass(frozen=True)
class BoardRow:
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

    @property
    def retired(self) -> bool:
        return self.status == Model.Status.RETIRED

    @property
    def rank_change_abs(self) -> int:
        return abs(self.rank_change or 0)

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
    rows: tuple[BoardRow, ...]
    pending: tuple[BoardRow, ...]  # voted on since the snapshot, not rated yet (overall only)
    hidden: int  # rows below min_votes
    components: int

    @property
    def empty(self) -> bool:
        return not self.rows and not self.pending


def _metadata(*, slugs: list[str]) -> dict[str, Model]:
    return {model.slug: model for model in Model.objects.filter(slug__in=slugs)}


def arena_board(*, category: str = OVERALL, min_votes: int = 0) -> ArenaBoard:
    category_check(category=category)
    version = arena_board_version()
    snapshot = snapshot_latest()
    live = online_ratings_live()
    stored: list[dict[str, Any]] = []
    overall_rank: dict[str, int] = {}
    tabs: tuple[CategoryTab, ...] = ()
    if snapshot is not None:
        stored = snapshot_rows(snapshot=snapshot, category=category)
        if category != OVERALL:
            overall = rows_min_battles(
                rows=snapshot_rows(snapshot=snapshot, category=OVERALL), min_battles=min_votes
            )
            overall_rank = {row["model"]: row["rank"] for row in overall}
        tabs = tuple(
            CategoryTab(key, CATEGORY_LABELS[key], snapshot.category_votes.get(key, 0))
            for key in CATEGORIES
            if snapshot.category_votes.get(key)
        )
    shown = rows_min_battles(rows=stored, min_battles=min_votes)
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
                if row["model"] in overall_rank
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
        rows=tuple(rows),
        pending=tuple(pending),
        hidden=len(stored) - len(shown),
        components=len({row.component for row in rows}),
    )
