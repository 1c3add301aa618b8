"""REST endpoints of the arena ratings: the leaderboard (JSON/CSV), its snapshots, a model, the votes.

All are read-only, open to any origin (CORS, by django-cors-headers), and carry an ETag and a
Last-Modified (`core.http.conditional`): send them back as If-None-Match / If-Modified-Since to get
a 304 while nothing changed.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Annotated, Any, Literal

from django.core.handlers.asgi import ASGIRequest
from django.http import HttpRequest, HttpResponse, HttpResponseBase, StreamingHttpResponse
from django.utils.cache import patch_vary_headers
from ninja import Query, Router, Schema
from ninja.decorators import decorate_view
from pydantic import WithJsonSchema

from arena.models import Exclusion
from arena.versions import MODELS
from core.api import ErrorOut
from core.http import Validators, cached_read, conditional, validators_found
from leaderboard.boards.arena.board import board_interval_check
from leaderboard.boards.arena.categories import CATEGORIES, OVERALL, category_check
from leaderboard.boards.arena.export import (
    INCLUDE_PATTERN,
    SINCE_PATTERN,
    battles_export_lines,
    battles_export_lines_async,
    battles_export_validators,
    export_includes_parse,
    leaderboard_csv,
    leaderboard_export,
    leaderboard_validators,
    model_ratings_get,
    model_ratings_payload,
    since_parse,
    snapshot_item,
    snapshots_validators,
)
from leaderboard.boards.arena.outliers import FLAGGED, board_without_flagged
from leaderboard.boards.arena.selectors import snapshot_get, snapshots_page
from leaderboard.boards.arena.versions import BOARD as VERSIONS
from leaderboard.boards.arena.versions import SNAPSHOT, VOTES
from leaderboard.boards.arena.votes import votes_changed
from leaderboard.boards.model.selectors import model_rating_items

router = Router(tags=["ratings"])

_PAGE_SIZE_MAX = 100
_PAGE_MAX = 1_000_000  # beyond any real board; a huge page number would overflow PostgreSQL's OFFSET
_HISTORY_MAX = 1000

# The parameters that export.py and categories.py read themselves, told to clients in the schema from the
# same names and patterns those read: a value the schema admits is taken, any other is a 400 in a sentence.
Category = Annotated[str, WithJsonSchema({"type": "string", "enum": list(CATEGORIES)})]
Since = Annotated[
    str,
    WithJsonSchema(
        {
            "type": "string",
            "pattern": SINCE_PATTERN,
            "description": "Seconds since the epoch (digits, such as 1708387200.5) or an ISO 8601 date or "
            "time (such as 2024-02-20 or 2024-02-20T09:30:00Z; UTC when it names no zone).",
        }
    ),
]
Include = Annotated[
    str,
    WithJsonSchema(
        {
            "type": "string",
            "pattern": INCLUDE_PATTERN,
            "description": "Staff only: comma-separated names of the extra columns.",
        }
    ),
]


class SnapshotRefOut(Schema):
    version: int
    created_at: datetime
    votes: int


class IntervalsOut(Schema):
    bootstrap: list[float | None]
    sandwich: list[float | None]


class LeaderboardRowOut(Schema):
    rank: int | None
    rank_lower: int | None
    rank_upper: int | None
    model: str
    name: str
    organization: str
    license: str
    rating: float | None
    ci_lower: float | None
    ci_upper: float | None
    online_elo: float | None
    battles: int
    win_rate: float | None
    provisional: bool
    intervals: IntervalsOut


class VoteTotalsOut(Schema):
    counted: int
    excluded: int
    excluded_by_reason: dict[str, int]


class LeaderboardOut(Schema):
    snapshot: SnapshotRefOut | None
    category: str
    min_battles: int
    style: bool
    interval: str
    min_votes: int
    votes: VoteTotalsOut
    rows: list[LeaderboardRowOut]


class LeaderboardWithoutFlaggedOut(Schema):
    category: str
    interval: str
    min_votes: int
    flagged_voters: int
    votes_left_out: int
    votes: int
    rows: list[LeaderboardRowOut]


class SnapshotOut(Schema):
    version: int
    created_at: datetime
    votes: int
    last_vote_at: datetime | None
    categories: dict[str, int]
    settings: dict[str, Any]
    compute_seconds: float


class SnapshotPageOut(Schema):
    count: int
    page: int
    page_size: int
    pages: int
    next: str | None
    previous: str | None
    items: list[SnapshotOut]


class CategoryRatingOut(Schema):
    rank: int | None
    rank_lower: int | None
    rank_upper: int | None
    rating: float | None
    ci_lower: float | None
    ci_upper: float | None
    online_elo: float | None
    battles: int
    win_rate: float | None
    provisional: bool


class ModelInfoOut(Schema):
    slug: str
    name: str
    organization: str
    license: str
    modalities: list[str]
    status: str


class OnlineEloOut(Schema):
    rating: float
    votes: int
    updated_at: datetime


class HistoryPointOut(Schema):
    version: int
    created_at: datetime
    rating: float | None
    ci_lower: float | None
    ci_upper: float | None
    rank: int
    battles: int


class HistoryOut(Schema):
    category: str
    limit: int
    points: list[HistoryPointOut]


class ModelRatingsOut(Schema):
    model: ModelInfoOut
    snapshot: SnapshotRefOut | None
    ratings: dict[str, CategoryRatingOut]
    style_ratings: dict[str, CategoryRatingOut]
    online_elo: OnlineEloOut | None
    history: HistoryOut


def _leaderboard_validators(request: HttpRequest) -> Validators:
    query = request.GET
    version = query.get("snapshot")
    snapshot = snapshot_get(version=int(version) if version else None)
    validators = leaderboard_validators(
        snapshot=snapshot,
        category=query.get("category", OVERALL),
        min_battles=int(query.get("min_battles") or 0),
        fmt=query.get("format", "json"),
        style=query.get("style") != "off",
        interval=board_interval_check(interval=query.get("intervals") or None),
        votes=votes_changed(),
    )
    return replace(validators, found=snapshot)


def _snapshots_validators(request: HttpRequest) -> Validators:
    return snapshots_validators(
        page=int(request.GET.get("page") or 1), page_size=int(request.GET.get("page_size") or 20)
    )


def _model_validators(request: HttpRequest, slug: str) -> Validators:
    ratings = model_ratings_get(slug=slug)
    validators = ratings.validators(
        category=request.GET.get("category", OVERALL), limit=int(request.GET.get("history") or 200)
    )
    return replace(validators, found=ratings)


def _battles_export_validators(request: HttpRequest) -> Validators:
    includes = export_includes_parse(value=request.GET.get("include"), user=request.user)
    return battles_export_validators(since=since_parse(request.GET.get("since")), includes=includes)


_CSV_DOC = {
    "responses": {
        200: {
            "description": (
                "The rows; format=csv: the same columns, with `intervals` as bootstrap_lower, "
                "bootstrap_upper, sandwich_lower, sandwich_upper after ci_upper, then snapshot and "
                "snapshot_created_at."
            ),
            "content": {"text/csv": {"schema": {"type": "string"}}},
        }
    }
}


@router.get(
    "/leaderboard",
    response={200: LeaderboardOut, 304: None, 400: ErrorOut, 404: ErrorOut},
    summary="The arena leaderboard: ratings, 95% intervals and ranks of one category",
    description=(
        "Rows of a rating snapshot (the latest, or `snapshot=<version>`), best first: `rank` is 1 plus the "
        "number of models whose 95% interval lies entirely above (`rank_lower`..`rank_upper`: every rank the "
        "intervals allow); `model` is the slug. `min_battles` keeps the models with at least that many "
        "battles in the category and ranks them again among themselves. A model with fewer than the site's "
        "`min_votes` battles in the category is `provisional`: listed after the ranked ones with `rank` "
        "null. `style=on` (the default) gives the style-controlled ratings (answer length and markdown "
        "taken out), `style=off` the plain ones. `intervals=bootstrap|sandwich` picks the kind in "
        "`ci_lower`/`ci_upper` (and the ranks); `intervals` holds both. `format=csv` gives the same "
        "columns, with `intervals` flattened into `bootstrap_lower`, `bootstrap_upper`, `sandwich_lower`, "
        "`sandwich_upper`. Models that never met (directly or through others) are rated on "
        "separate scales. `votes` (JSON only) is live, whatever the snapshot: the votes the board counts "
        "(`counted`), the stored votes it leaves out (`excluded`: failed or identifying answers, bans, "
        "caps, votes cast too fast, moderators' invalidations) and how many have each reason "
        "(`excluded_by_reason`, by code: " + ", ".join(f"`{code}`" for code in Exclusion.values) + "; a vote "
        "may have several). "
        "ETag / Last-Modified: 304 while unchanged."
    ),
    openapi_extra=_CSV_DOC,
)
@decorate_view(cached_read(SNAPSHOT, VOTES))
@decorate_view(conditional(_leaderboard_validators))
def leaderboard_get(
    request: HttpRequest,
    category: Category = OVERALL,
    min_battles: int = Query(0, ge=0),
    snapshot: int | None = Query(None, ge=1),
    format: Literal["json", "csv"] = "json",
    style: Literal["on", "off"] = "on",
    intervals: Literal["bootstrap", "sandwich"] | None = None,
) -> HttpResponseBase | dict[str, Any]:
    category_check(category=category)
    found = validators_found(request) or snapshot_get(version=snapshot)
    export = leaderboard_export(
        snapshot=found,
        category=category,
        min_battles=min_battles,
        style=style == "on",
        interval=board_interval_check(interval=intervals),
    )
    if format == "csv":
        csv_response = HttpResponse(leaderboard_csv(export=export), content_type="text/csv; charset=utf-8")
        csv_response["Content-Disposition"] = f'inline; filename="arena-leaderboard-{category}.csv"'
        return csv_response
    return export.to_dict()


@router.get(
    "/leaderboard/without-flagged",
    response={200: LeaderboardWithoutFlaggedOut, 400: ErrorOut},
    summary="The arena ranking without the votes of flagged outlier voters",
    description=(
        "The category's ranking from the counted votes minus those of the voters in the moderators' queue "
        'of outlier voters (flagged, not reviewed yet; README "Outlier voters"), whose votes otherwise '
        "stay counted until a moderator acts. Plain Bradley-Terry ratings (no style control) with sandwich "
        "95% intervals (`intervals.bootstrap` is null), ranked as `/leaderboard` ranks them. "
        "`flagged_voters` and `votes_left_out` say what was taken out. Recomputed once per rating snapshot "
        "or change of the queue."
    ),
)
@decorate_view(cached_read(SNAPSHOT, FLAGGED, MODELS))
def leaderboard_without_flagged_get(request: HttpRequest, category: Category = OVERALL) -> dict[str, Any]:
    return board_without_flagged(category=category)


@router.get(
    "/leaderboard/snapshots",
    response={200: SnapshotPageOut, 304: None, 422: ErrorOut},
    summary="Rating snapshots, newest first (paginated)",
    description=(
        "Each snapshot's version, time, counted votes, votes per category and the settings it was computed "
        "with. `page` (from 1) and `page_size` (up to 100); `next` / `previous` link the neighbouring pages."
    ),
)
@decorate_view(cached_read(SNAPSHOT))
@decorate_view(conditional(_snapshots_validators))
def snapshots_get(
    request: HttpRequest,
    page: int = Query(1, ge=1, le=_PAGE_MAX),
    page_size: int = Query(20, ge=1, le=_PAGE_SIZE_MAX),
) -> dict[str, Any]:
    count, items = snapshots_page(page=page, page_size=page_size)
    pages = max(1, -(-count // page_size))
    base = request.path

    def link(number: int) -> str | None:
        return f"{base}?page={number}&page_size={page_size}" if 1 <= number <= pages else None

    return {
        "count": count,
        "page": page,
        "page_size": page_size,
        "pages": pages,
        "next": link(page + 1),
        "previous": link(page - 1) if page <= pages else link(pages),
        "items": [snapshot_item(item) for item in items],
    }


@router.get(
    "/models/{slug}",
    response={200: ModelRatingsOut, 304: None, 400: ErrorOut, 404: ErrorOut},
    summary="A model: its ratings per category and its rating history",
    description=(
        "Any model with votes, retired and imported ones included (`GET /models` lists the active ones). "
        "`ratings`: the latest snapshot's row per category; `style_ratings`: the same with style control "
        "(answer length and markdown taken out; empty for a snapshot from before style control, and a "
        "model outside the style fit's sample is `provisional` with `rating` null); `online_elo`: the live "
        "rating; `history`: the model's row in each of the latest `history` snapshots of `category`, "
        "oldest first. Its page: `/models/{slug}/`."
    ),
)
@decorate_view(cached_read(*VERSIONS))
@decorate_view(conditional(_model_validators))
def model_get(
    request: HttpRequest,
    slug: str,
    category: Category = OVERALL,
    history: int = Query(200, ge=1, le=_HISTORY_MAX),
) -> dict[str, Any]:
    category_check(category=category)
    ratings = validators_found(request) or model_ratings_get(slug=slug)
    payload = model_ratings_payload(found=ratings, category=category, limit=history)
    payload["style_ratings"] = (
        model_rating_items(snapshot=ratings.snapshot, slug=ratings.model.slug, style=True)
        if ratings.snapshot is not None
        else {}
    )
    return payload


_JSONL_DOC = {
    "responses": {
        200: {
            "description": (
                "One JSON object per line: model_a, model_b (slugs), winner, tstamp (seconds), anony, "
                "categories."
            ),
            "content": {"application/x-ndjson": {"schema": {"type": "string"}}},
        }
    }
}


@router.get(
    "/battles/export",
    response={200: None, 304: None, 400: ErrorOut, 403: ErrorOut},
    summary="Every counted vote, in the common arena battle format (JSON lines)",
    description=(
        "The votes the leaderboard counts (valid ones; only anonymous ones unless the site counts all), "
        "streamed in vote-time order: `model_a`, `model_b` (slugs), `winner`, `tstamp` (seconds since the "
        "epoch), `anony`, `categories`. No voter or IP is included, and no vote of a battle a moderator hid. "
        "`since` (seconds or ISO 8601) keeps the votes after it. The file can be read back by "
        "`compute_ratings` and `import_battles`. Staff only (403 for anyone else): `include`, "
        "comma-separated, adds `voter_id`, `ip_hash` (salted hash), `hidden` (hidden battles' votes, "
        "with a `hidden` flag) or `excluded` (stored votes that are not counted, with their `exclusions`)."
    ),
    openapi_extra=_JSONL_DOC,
)
@decorate_view(conditional(_battles_export_validators))
def battles_export(
    request: HttpRequest,
    format: Literal["jsonl"] = "jsonl",
    since: Since = Query(None),
    include: Include = Query(None),
) -> HttpResponseBase:
    after = since_parse(since)
    includes = export_includes_parse(value=include, user=request.user)
    # Under ASGI a synchronous iterator would be read whole before sending; give it an async one.
    lines = (
        battles_export_lines_async(since=after, includes=includes)
        if isinstance(request, ASGIRequest)
        else battles_export_lines(since=after, includes=includes)
    )
    streamed = StreamingHttpResponse(lines, content_type="application/x-ndjson; charset=utf-8")
    streamed["Content-Disposition"] = 'inline; filename="arena-battles.jsonl"'
    if includes:
        # Staff's own copy: a shared cache must not hand it to anyone else.
        patch_vary_headers(streamed, ("Cookie", "Authorization"))
    return streamed
