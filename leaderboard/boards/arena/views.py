"""The arena board pages: the board, its live fragment, and the charts."""

from __future__ import annotations

from typing import Any, Final

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string

from arena.versions import MODELS
from core.csp import plotly_styles
from core.errors import InvalidInput
from core.http import Validators, cached_read, conditional, validators_found
from leaderboard.boards.arena.board import ArenaBoard, arena_board
from leaderboard.boards.arena.categories import CATEGORIES, CATEGORY_LABELS, OVERALL
from leaderboard.boards.arena.charts import arena_charts
from leaderboard.boards.arena.outliers import FLAGGED, board_without_flagged
from leaderboard.boards.arena.selectors import snapshot_latest
from leaderboard.boards.arena.services import BOARD
from leaderboard.boards.arena.versions import BOARD as VERSIONS
from leaderboard.boards.arena.versions import SNAPSHOT, arena_board_version


def _board_params(request: HttpRequest) -> tuple[str, int]:
    category = request.GET.get("category") or OVERALL
    if category not in CATEGORIES:
        raise Http404(f"There is no category {category!r}.")
    try:
        min_votes = max(0, int(request.GET.get("min_votes") or 0))
    except ValueError:
        min_votes = 0
    return category, min_votes


def _board_of(request: HttpRequest) -> ArenaBoard:
    category, min_votes = _board_params(request)
    # Style control is on unless switched off, as on LMArena's board.
    style = request.GET.get("style") != "off"
    try:
        return arena_board(
            category=category, min_votes=min_votes, style=style, interval=request.GET.get("intervals") or None
        )
    except InvalidInput as error:
        raise Http404(error.message) from None


def _board_context(board: ArenaBoard) -> dict[str, Any]:
    # What every link of the board keeps, the category aside (the tabs change it).
    kept = (f"&min_votes={board.min_votes}" if board.min_votes else "") + (
        "" if board.style else "&style=off"
    )
    if board.interval != settings.LEADERBOARD_INTERVALS:
        kept += f"&intervals={board.interval}"
    query = f"?category={board.category}{kept}"

    def link(*, style: bool, interval: str) -> str:
        parts = [f"category={board.category}"]
        if board.min_votes:
            parts.append(f"min_votes={board.min_votes}")
        parts.append(f"style={'on' if style else 'off'}")
        parts.append(f"intervals={interval}")
        return "?" + "&".join(parts)

    switches = {
        "style_on": link(style=True, interval=board.interval),
        "style_off": link(style=False, interval=board.interval),
        "bootstrap": link(style=board.style, interval="bootstrap"),
        "sandwich": link(style=board.style, interval="sandwich"),
    }
    return {
        "board": board,
        "board_name": BOARD,
        "query": query,
        "kept": kept,
        "switches": switches,
        "default_interval": settings.LEADERBOARD_INTERVALS,
    }


@cached_read(*VERSIONS, anonymous_only=True)
def arena_board_page(request: HttpRequest) -> HttpResponse:
    return render(request, "leaderboard/elo.html", _board_context(_board_of(request)))


@cached_read(SNAPSHOT, FLAGGED, MODELS, anonymous_only=True)
def arena_board_without_flagged_page(request: HttpRequest) -> HttpResponse:
    """The ranking without the flagged outlier voters' votes (README "Outlier voters")."""
    category, _ = _board_params(request)
    without = board_without_flagged(category=category)
    return render(request, "leaderboard/arena_without_flagged.html", {"without": without})


def _fragment_validators(request: HttpRequest) -> Validators:
    # live.js sends back the version it shows (X-Board-Version) as If-None-Match.
    version = arena_board_version()
    return Validators(etag=version, found=version)


# Every open page refetches after every board event: each version is rendered once, not once per
# viewer. (The version is read before the board, so at worst a newer board is kept under an older
# version, and the next event fetches again.)
@cached_read(*VERSIONS)
@conditional(_fragment_validators)
def arena_board_fragment(request: HttpRequest) -> HttpResponse:
    """The board alone, for the page's live refresh; 304 while the page already shows this version."""
    version: str = validators_found(request) or arena_board_version()
    board = _board_of(request)
    response = HttpResponse(render_to_string("leaderboard/arena_board.html", _board_context(board), request))
    response["X-Board-Version"] = version
    return response


_MATRIX_SECTIONS: Final = (
    {
        "key": "win_rate",
        "id": "chart-win-rate",
        "title": "Win rate",
        "hint": "Decisive battles won by the row model against the column model; ties left out.",
        "label": "Win rate heatmap",
    },
    {
        "key": "predicted_win_rate",
        "id": "chart-predicted",
        "title": "Predicted win rate",
        "hint": "What the ratings predict for each pair.",
        "label": "Predicted win rate heatmap",
    },
    {
        "key": "battle_counts",
        "id": "chart-counts",
        "title": "Battle counts",
        "hint": "Battles between each pair, ties included.",
        "label": "Battle count heatmap",
    },
)


# The one page whose policy allows inline styles: plotly.js needs them (core.csp, SECURITY.md).
@plotly_styles
@cached_read(SNAPSHOT, MODELS, anonymous_only=True)
def arena_charts_page(request: HttpRequest) -> HttpResponse:
    category, _ = _board_params(request)
    # As on the board: style control is on unless switched off.
    style = request.GET.get("style") != "off"
    snapshot = snapshot_latest()
    charts = arena_charts(snapshot=snapshot, category=category, style=style) if snapshot is not None else None
    tabs = []
    if snapshot is not None:
        tabs = [(key, CATEGORY_LABELS[key]) for key in CATEGORIES if snapshot.category_votes.get(key)]
    return render(
        request,
        "leaderboard/arena_charts.html",
        {
            "snapshot": snapshot,
            "category": category,
            "category_label": CATEGORY_LABELS[category],
            "tabs": tabs,
            "charts": charts,
            "figures": charts.figures if charts is not None else {},
            "matrix_sections": [
                {
                    **section,
                    "table": charts.matrices[section["key"]],
                    "pictures": charts.pictures.get(section["key"], ()),
                }
                for section in _MATRIX_SECTIONS
                if section["key"] in charts.matrices
            ]
            if charts is not None
            else [],
            "style": style,
            # What the tabs and the board link keep; the switches change it.
            "kept": "" if style else "&style=off",
            "switches": {
                "style_on": f"?category={category}&style=on",
                "style_off": f"?category={category}&style=off",
            },
        },
    )
