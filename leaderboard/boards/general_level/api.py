"""REST endpoints of the General-Level board: read it (JSON or CSV), import results into it (staff)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from django.http import HttpRequest, HttpResponse, HttpResponseBase
from ninja import File, Router, Schema, UploadedFile
from ninja.decorators import decorate_view

from core.api import ErrorOut
from core.errors import InvalidInput
from core.guards import csrf_require, staff_require, upload_size_check
from core.http import Validators, cached_read, conditional, validators_found
from leaderboard.boards.general_level.selectors import (
    general_level_api_rows,
    general_level_board,
    general_level_csv,
    general_level_version,
)
from leaderboard.boards.general_level.services import general_level_import
from leaderboard.boards.general_level.versions import BOARD as VERSIONS

router = Router(tags=["general-level"])


class OverallOut(Schema):
    L2: float
    L3: float
    L4: float
    L5: float


class GroupOut(Schema):
    tasks: int
    supported: int
    won: int
    mean: float
    winning_mean: float


class ModalityOut(Schema):
    L2: float
    L3: float
    L4: float
    S_C2: float
    S_G2: float
    S_C: float
    S_G: float
    tasks: int
    supported: int
    won: int
    comprehension: GroupOut
    generation: GroupOut


class LanguageOut(Schema):
    S_L: float
    mean: float
    tasks: int
    supported: int
    won: int


class ModelLevelOut(Schema):
    rank: int
    key: str
    model: str
    organization: str
    arena_slug: str | None
    level: int
    overall: OverallOut
    modalities: dict[str, ModalityOut]
    language: LanguageOut


class BoardOut(Schema):
    generated_at: datetime
    version: str
    tasks: dict[str, int]
    models: list[ModelLevelOut]


class ReadOut(Schema):
    sheets: list[str]
    tasks: int
    models: int
    scores: int


class SkippedOut(Schema):
    kind: str
    where: str
    why: str


class WriteCountsOut(Schema):
    created: int
    updated: int
    unchanged: int


class WrittenOut(Schema):
    tasks: WriteCountsOut
    scores: WriteCountsOut


class ImportModelsOut(Schema):
    in_arena: dict[str, str]
    not_in_arena: list[str]
    linked: list[str]


class ImportOut(Schema):
    source: str
    read: ReadOut
    skipped_counts: dict[str, int]
    skipped: list[SkippedOut]
    written: WrittenOut
    models: ImportModelsOut


def _board_validators(request: HttpRequest) -> Validators:
    version = general_level_version()
    return Validators.of("general-level", version, request.GET.get("format", "json"), found=version)


_CSV_DOC = {
    "responses": {
        200: {
            "description": "The board; with format=csv one row per model: rank, model, key, level, "
            "overall_L2..overall_L5, then <modality>_L2/_L3/_L4 for image, video, audio and 3d.",
            "content": {"text/csv": {"schema": {"type": "string"}}},
        }
    }
}


@router.get(
    "/general-level",
    response={200: BoardOut, 304: None},
    summary="The General-Level board: every model's levels",
    description=(
        "Each model's Level-2/3/4 per modality (image, video, audio, 3d), overall Level-2 to Level-5 and the "
        "level it is placed at, best first, with S_C/S_G and task counts (arXiv 2505.04620). "
        "`format=csv` gives flat columns. Send the ETag back as If-None-Match: 304 while nothing changed."
    ),
    openapi_extra=_CSV_DOC,
)
@decorate_view(cached_read(*VERSIONS))
@decorate_view(conditional(_board_validators))
def general_level_get(
    request: HttpRequest, format: Literal["json", "csv"] = "json"
) -> HttpResponseBase | dict[str, Any]:
    board = general_level_board(version=validators_found(request))
    if format == "csv":
        csv_response = HttpResponse(general_level_csv(board=board), content_type="text/csv; charset=utf-8")
        csv_response["Content-Disposition"] = 'inline; filename="general-level.csv"'
        return csv_response
    return {
        "generated_at": board.generated_at,
        "version": board.version,
        "tasks": board.task_counts,
        "models": general_level_api_rows(board=board),
    }


@router.post(
    "/general-level/import",
    response={200: ImportOut, 400: ErrorOut, 403: ErrorOut, 413: ErrorOut, 415: ErrorOut},
    summary="Import General-Level tasks and scores (staff only)",
    description=(
        "Multipart field `file`: a General-Bench spreadsheet (.xlsx) or the JSON layout. All or nothing: a "
        "file with a problem changes nothing and the 400 names the task, model, sheet or row at fault. "
        "Needs a staff session and the X-CSRFToken header."
    ),
)
def general_level_import_post(request: HttpRequest, file: UploadedFile | None = File(None)) -> dict[str, Any]:
    staff_require(request=request, action="import General-Level results")
    csrf_require(request=request)
    if file is None:
        raise InvalidInput("Attach the spreadsheet or JSON file as the multipart field 'file'.")
    upload_size_check(size=file.size)
    result = general_level_import(data=file.read(), filename=file.name or "upload")
    return result.to_dict()
