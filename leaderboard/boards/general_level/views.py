"""The General-Level pages: the board, its live fragment, and a model's worked example."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from core.errors import NotFound
from core.http import Validators, cached_read, conditional, validators_found
from leaderboard.boards.general_level.selectors import (
    BOARD,
    MODALITY_LABELS,
    GeneralLevelBoard,
    general_level_board,
    general_level_entry_get,
    general_level_example,
    general_level_level_boards,
    general_level_modality_boards,
    general_level_version,
)
from leaderboard.boards.general_level.versions import BOARD as VERSIONS
from leaderboard.general_level import ModalityExample, ModalityScore, NormalisedTask


@dataclass(frozen=True)
class TaskRow:
    task: NormalisedTask
    raw: str  # as published, e.g. "34.6", not "34.6000"


@dataclass(frozen=True)
class ModalityView:
    example: ModalityExample
    label: str
    score: ModalityScore
    rows: tuple[TaskRow, ...]


def _task_rows(tasks: tuple[NormalisedTask, ...]) -> tuple[TaskRow, ...]:
    return tuple(TaskRow(task=task, raw="—" if task.raw is None else f"{task.raw:g}") for task in tasks)


def _board_context(board: GeneralLevelBoard) -> dict[str, Any]:
    return {
        "board": board,
        "board_name": BOARD,
        "level_boards": general_level_level_boards(board=board),
        "modality_boards": general_level_modality_boards(board=board),
    }


@cached_read(*VERSIONS, anonymous_only=True)
def general_level_page(request: HttpRequest) -> HttpResponse:
    # The import instructions are for staff only. A signed-in user's page is never cached (anonymous_only),
    # so only this rendering carries them; the shared fragment never does.
    context = {**_board_context(general_level_board()), "import_help": request.user.is_staff}
    return render(request, "leaderboard/general_level.html", context)


def _fragment_validators(request: HttpRequest) -> Validators:
    # live.js sends back the version it shows (X-Board-Version) as If-None-Match.
    version = general_level_version()
    return Validators(etag=version, found=version)


@cached_read(*VERSIONS)
@conditional(_fragment_validators)
def general_level_fragment(request: HttpRequest) -> HttpResponse:
    """The board alone, for the page's live refresh; 304 while the page already shows this version."""
    version: str = validators_found(request) or general_level_version()
    response = render(
        request, "leaderboard/general_level_board.html", _board_context(general_level_board(version=version))
    )
    response["X-Board-Version"] = version
    return response


@cached_read(*VERSIONS, anonymous_only=True)
def general_level_model_page(request: HttpRequest, key: str) -> HttpResponse:
    board = general_level_board()
    try:
        entry = general_level_entry_get(board=board, key=key)
    except NotFound as error:
        raise Http404(error.message) from None
    example = general_level_example(entry=entry)
    modalities = [
        ModalityView(
            example=modality,
            label=MODALITY_LABELS[modality.modality],
            score=score,
            rows=_task_rows(modality.tasks),
        )
        for modality, score in zip(example.modalities, entry.report.modalities, strict=True)
    ]
    return render(
        request,
        "leaderboard/general_level_model.html",
        {
            "board": board,
            "entry": entry,
            "report": entry.report,
            "example": example,
            "modalities": [m for m in modalities if m.example.tasks],
            "empty_modalities": [m.label for m in modalities if not m.example.tasks],
            "language_rows": _task_rows(example.language.tasks),
        },
    )
