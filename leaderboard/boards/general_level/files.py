"""Reading a General-Level file (JSON layout or General-Bench spreadsheet) from bytes.

The CLI, the import command and the REST upload all come through here, so a file is judged
the same way wherever it arrives: the kind is told from the content (a spreadsheet is a zip
archive, a JSON document starts with `{`), the name's extension only breaks ties.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from core.errors import InvalidInput, UnsupportedMedia
from leaderboard.general_level import (
    GeneralLevelImport,
    GeneralLevelInputError,
    general_level_load_xlsx,
    general_level_parse_json,
)

FileKind = Literal["json", "xlsx"]

_ZIP_MAGIC = b"PK\x03\x04"


@dataclass(frozen=True)
class GeneralLevelFile:
    filename: str
    kind: FileKind
    imported: GeneralLevelImport
    # The JSON layout may cite where its numbers come from; a spreadsheet cannot.
    citation: str
    task_citations: tuple[str, ...]  # aligned with imported.tasks; "" where none is given


def _kind_detect(*, data: bytes, filename: str) -> FileKind:
    if data.startswith(_ZIP_MAGIC):
        return "xlsx"
    if data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{"):
        return "json"
    suffix = Path(filename).suffix.lower()
    if suffix == ".json":
        return "json"
    raise UnsupportedMedia(
        f"{filename} is neither a General-Bench spreadsheet (.xlsx) nor a General-Level JSON file (.json)."
    )


def _citation(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


def _json_read(*, data: bytes, filename: str) -> GeneralLevelFile:
    try:
        document = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise InvalidInput(f"{filename} is not valid JSON: {error}") from None
    imported = general_level_parse_json(document=document, origin=filename)
    raw_tasks = document.get("tasks", []) if isinstance(document, dict) else []
    task_citations = tuple(
        _citation(entry.get("source") or entry.get("citation")) if isinstance(entry, dict) else ""
        for entry in raw_tasks
    )
    return GeneralLevelFile(
        filename=filename,
        kind="json",
        imported=imported,
        citation=_citation(document.get("source") or document.get("citation")),
        task_citations=task_citations,
    )


def general_level_file_read(*, data: bytes, filename: str) -> GeneralLevelFile:
    """The tasks and scored models in a file; InvalidInput (400) or UnsupportedMedia (415) otherwise.

    Raises with the loader's own message, which names the task, model, sheet or row at fault.
    """
    kind = _kind_detect(data=data, filename=filename)
    try:
        if kind == "json":
            return _json_read(data=data, filename=filename)
        buffer = io.BytesIO(data)
        buffer.name = filename  # the loader names the file in its messages
        imported = general_level_load_xlsx(source=buffer)
    except GeneralLevelInputError as error:
        raise InvalidInput(str(error)) from None
    return GeneralLevelFile(
        filename=filename,
        kind=kind,
        imported=imported,
        citation="",
        task_citations=("",) * len(imported.tasks),
    )


def general_level_path_read(*, path: str | Path) -> GeneralLevelFile:
    """general_level_file_read for a file on disk; a missing file is InvalidInput too."""
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        raise InvalidInput(f"Cannot read {path}: {error.strerror or error}.") from None
    return general_level_file_read(data=data, filename=str(path))
