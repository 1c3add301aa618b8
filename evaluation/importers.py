"""Benchmark files in, `Item`s out: the VLMEvalKit TSV layout and POPE-style JSON lines.

An import is all or nothing. A malformed row (bad base64, a picture Pillow cannot read, an answer letter not
among the row's options, a missing column, a duplicate index) refuses the whole file with "row N: <reason>"
and no items, so a benchmark is never half there. The report says how many rows were read, which were skipped
and why, and the refusal if any. Row numbers count records with the header as row 1 (a spreadsheet's
numbering) for TSV, and lines from 1 for JSON lines.

Rows the formats legitimately leave out are skipped and listed: blank lines, and VLMEvalKit rows holding
several images (an `Item` holds one). A VLMEvalKit `image` of 64 characters or fewer is not a picture but the
`index` of the row holding it (MMBench stores each picture once for its circular variants; VLMEvalKit's own
reader applies the same 64-character rule); it is resolved to that row's picture, before or after it in the
file.

Pictures are kept as PNG, what an `Item` holds: a PNG as it is, any other format Pillow reads converted. A row
without a category takes the benchmark's name as its category, since every item needs one.

Files are read row by row (csv and json per line), never as one string.
"""

from __future__ import annotations

import ast
import base64
import binascii
import csv
import dataclasses
import io
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, NamedTuple

from PIL import Image, UnidentifiedImageError

from evaluation.items import PNG_SIGNATURE, Item

# Base64 pictures are long fields; csv's default limit (128 KiB) refuses ordinary photographs.
MAX_FIELD_CHARS = 256 * 1024 * 1024
# VLMEvalKit's rule: an image field this short is another row's index, not a picture.
IMAGE_REFERENCE_MAX_CHARS = 64

_REQUIRED_TSV_COLUMNS = ("index", "image", "question", "answer")
_OPTION_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_SUBCATEGORY_COLUMNS = ("l2-category", "l2_category")
_PNG_MODES = frozenset({"1", "L", "LA", "I", "I;16", "P", "RGB", "RGBA"})

Source = str | Path | IO[str]


class SkippedRow(NamedTuple):
    row: int
    reason: str


@dataclasses.dataclass(frozen=True)
class ImportReport:
    """`items` is empty whenever `refused` holds the sentence saying why the file was refused."""

    items: tuple[Item, ...]
    read: int
    skipped: tuple[SkippedRow, ...]
    refused: str | None

    def to_dict(self) -> dict[str, Any]:
        """The report without the items themselves (their pictures are bytes), for a page or an API answer."""
        return {
            "imported": len(self.items),
            "read": self.read,
            "skipped": [{"row": skip.row, "reason": skip.reason} for skip in self.skipped],
            "refused": self.refused,
        }


class _Refused(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def vlmevalkit_tsv_import(path_or_text: Source, *, benchmark: str) -> ImportReport:
    """Items from a VLMEvalKit TSV (MMBench, MMStar, SEED-Bench, ...).

    `path_or_text` is a path, a text stream, or the TSV text itself (a `str` holding a tab or a line break;
    any other `str` is a path). Columns: `index`, `image` (base64), `question`, `answer` are required; `hint`,
    the options `A`, `B`, ..., `category`, `l2-category` (or `l2_category`) are read when present; others
    (`split`, ...) are ignored. A row with options is a choice item whose answer must be one of its option
    letters; one without is a yes/no item when the answer is yes or no, else a free-text item.
    """
    state = _ReadState()
    try:
        with _opened(path_or_text, looks_like_text="\t") as stream:
            _tsv_read(stream, benchmark=benchmark, state=state)
    except _Refused as refusal:
        return ImportReport(items=(), read=state.read, skipped=tuple(state.skipped), refused=refusal.message)
    return ImportReport(items=tuple(state.items), read=state.read, skipped=tuple(state.skipped), refused=None)


def pope_jsonl_import(
    path_or_text: Source, *, benchmark: str, category: str = "", images_dir: Path | None = None
) -> ImportReport:
    """Yes/no items from POPE-style JSON lines: `question_id`, `image`, `text` (or `question`), `label`
    (or `answer`) ∈ yes/no.

    With `images_dir`, `image` names a file in that folder (POPE's COCO file names; a picture shared by
    several questions is read once); without it, `image` is the picture in base64. POPE keeps one sampling
    (random, popular, adversarial) per file, so the file's `category` is given by the caller.
    """
    state = _ReadState()
    try:
        with _opened(path_or_text, looks_like_text="{") as stream:
            _pope_read(stream, benchmark=benchmark, category=category, images_dir=images_dir, state=state)
    except _Refused as refusal:
        return ImportReport(items=(), read=state.read, skipped=tuple(state.skipped), refused=refusal.message)
    return ImportReport(items=tuple(state.items), read=state.read, skipped=tuple(state.skipped), refused=None)


class _ReadState:
    def __init__(self) -> None:
        self.read = 0
        self.skipped: list[SkippedRow] = []
        self.items: list[Item] = []


@contextmanager
def _opened(source: Source, *, looks_like_text: str) -> Iterator[IO[str]]:
    if isinstance(source, str) and (looks_like_text in source or "\n" in source):
        yield io.StringIO(source, newline="")
        return
    if not isinstance(source, str | Path):
        yield source
        return
    try:
        # utf-8-sig: files saved by spreadsheet programs start with a byte-order mark.
        stream = open(source, encoding="utf-8-sig", newline="")  # noqa: SIM115 (closed below)
    except OSError as error:
        raise _Refused(f"The file could not be opened: {error.strerror or error}.") from error
    with stream:
        yield stream


def _tsv_read(stream: IO[str], *, benchmark: str, state: _ReadState) -> None:
    if csv.field_size_limit() < MAX_FIELD_CHARS:
        csv.field_size_limit(MAX_FIELD_CHARS)
    reader = csv.reader(stream, delimiter="\t")
    rows = _TsvRows(benchmark=benchmark, state=state)
    row_number = 0
    try:
        header = [name.strip() for name in next(reader, [])]
        row_number = 1
        if not header:
            raise _Refused("The file is empty: it has no header row.")
        columns = _tsv_columns(header)
        for row_number, row in enumerate(reader, start=2):
            if not row or all(not cell.strip() for cell in row):
                state.skipped.append(SkippedRow(row_number, "blank line"))
                continue
            state.read += 1
            if len(row) != len(header):
                raise _Refused(
                    f"row {row_number}: it has {len(row)} field(s) but the header has {len(header)}."
                )
            rows.add(row_number, {name: row[position] for name, position in columns.items()})
    except csv.Error as error:
        # csv's own messages speak of its internals ("universal-newline mode"); say what is wrong in the file.
        problem = (
            f"a field is longer than {MAX_FIELD_CHARS} characters"
            if "field limit" in str(error)
            else "a quote or a line break is out of place"
        )
        raise _Refused(f"row {row_number + 1}: it is not valid TSV ({problem}).") from error
    except UnicodeDecodeError as error:
        raise _Refused(f"row {row_number + 1}: the file is not UTF-8 text.") from error
    rows.references_resolve()


def _tsv_columns(header: list[str]) -> dict[str, int]:
    if "" in header:
        raise _Refused(f"row 1: the header's column {header.index('') + 1} has no name.")
    duplicates = sorted({name for name in header if header.count(name) > 1})
    if duplicates:
        raise _Refused(f"row 1: the header names the column {duplicates[0]!r} twice.")
    missing = [name for name in _REQUIRED_TSV_COLUMNS if name not in header]
    if missing:
        raise _Refused(f"row 1: the header lacks the required column(s) {', '.join(missing)}.")
    return {name: position for position, name in enumerate(header)}


class _TsvRows:
    """Rows turned into items as they are read; an item whose picture is another row's waits for the end."""

    def __init__(self, *, benchmark: str, state: _ReadState) -> None:
        self.benchmark = benchmark
        self.state = state
        self.pictures: dict[str, bytes] = {}
        self.first_row: dict[str, int] = {}
        # (position in state.items, row number, the index whose picture it takes)
        self.references: list[tuple[int, int, str]] = []

    def add(self, row_number: int, row: dict[str, str]) -> None:
        index = row["index"].strip()
        if not index:
            raise _Refused(f"row {row_number}: the index is empty.")
        if index in self.first_row:
            raise _Refused(f"row {row_number}: the index {index} is already row {self.first_row[index]}'s.")
        self.first_row[index] = row_number
        image_field = row.pop("image").strip()
        if not image_field:
            raise _Refused(f"row {row_number}: the image is empty.")
        picture = None
        if len(image_field) <= IMAGE_REFERENCE_MAX_CHARS:
            self.references.append((len(self.state.items), row_number, image_field))
        else:
            if image_field.startswith("["):
                images = _image_list(image_field, row_number)
                if len(images) != 1:
                    reason = f"it holds {len(images)} images; an item holds one"
                    self.state.skipped.append(SkippedRow(row_number, reason))
                    return
                image_field = images[0]
            picture = self.pictures[index] = _picture_decode(image_field, row_number)
        self.state.items.append(
            _tsv_item(row, image=picture, benchmark=self.benchmark, row_number=row_number)
        )

    def references_resolve(self) -> None:
        for position, row_number, index in self.references:
            if index not in self.pictures:
                raise _Refused(
                    f"row {row_number}: the image refers to the row with index {index}, "
                    "and no row with that index holds a picture."
                )
            self.state.items[position] = dataclasses.replace(
                self.state.items[position], image=self.pictures[index]
            )


def _tsv_item(row: dict[str, str], *, image: bytes | None, benchmark: str, row_number: int) -> Item:
    question = row["question"].strip()
    if not question:
        raise _Refused(f"row {row_number}: the question is empty.")
    answer = row["answer"].strip()
    if not answer:
        raise _Refused(f"row {row_number}: the answer is empty.")
    filled = [letter for letter in _OPTION_LETTERS if row.get(letter, "").strip()]
    if filled != list(_OPTION_LETTERS[: len(filled)]):
        raise _Refused(
            f"row {row_number}: the options must run from A without a gap; it has {', '.join(filled)}."
        )
    options = tuple(row[letter].strip() for letter in filled)
    if options:
        answer = answer.upper()
        if answer not in filled:
            raise _Refused(
                f"row {row_number}: the answer {answer!r} is not among the options {filled[0]}-{filled[-1]}."
            )
        answer_type = "choice"
    elif answer.lower() in ("yes", "no"):
        answer, answer_type = answer.lower(), "yesno"
    else:
        answer_type = "text"
    subcategory = next((row[name].strip() for name in _SUBCATEGORY_COLUMNS if name in row), "")
    return _item(
        row_number,
        id=row["index"].strip(),
        benchmark=benchmark,
        category=row.get("category", "").strip() or benchmark,
        sub_category=subcategory,
        question=question,
        options=options,
        answer=answer,
        answer_type=answer_type,
        image=image,
        hint=row.get("hint", "").strip(),
    )


def _pope_read(
    stream: IO[str], *, benchmark: str, category: str, images_dir: Path | None, state: _ReadState
) -> None:
    first_row: dict[str, int] = {}
    pictures: dict[str, bytes] = {}
    row_number = 0
    try:
        for row_number, line in enumerate(stream, start=1):
            if not line.strip():
                state.skipped.append(SkippedRow(row_number, "blank line"))
                continue
            state.read += 1
            record = _json_object(line, row_number)
            item_id = _pope_id(record, row_number)
            if item_id in first_row:
                raise _Refused(
                    f"row {row_number}: the question_id {item_id} is already row {first_row[item_id]}'s."
                )
            first_row[item_id] = row_number
            question = _pope_text(record, ("text", "question"), row_number).strip()
            if not question:
                raise _Refused(f"row {row_number}: the question is empty.")
            label = _pope_text(record, ("label", "answer"), row_number).strip().lower()
            if label not in ("yes", "no"):
                raise _Refused(f"row {row_number}: the label must be yes or no, not {label!r}.")
            image_field = _pope_text(record, ("image",), row_number).strip()
            if images_dir is None:
                picture = _picture_decode(
                    image_field, row_number, hint="; if it names a file, give images_dir"
                )
            else:
                if image_field not in pictures:
                    pictures[image_field] = _picture_file(images_dir, image_field, row_number)
                picture = pictures[image_field]
            state.items.append(
                _item(
                    row_number,
                    id=item_id,
                    benchmark=benchmark,
                    category=category or benchmark,
                    sub_category="",
                    question=question,
                    options=(),
                    answer=label,
                    answer_type="yesno",
                    image=picture,
                    hint="",
                )
            )
    except UnicodeDecodeError as error:
        raise _Refused(f"row {row_number + 1}: the file is not UTF-8 text.") from error


def _json_object(line: str, row_number: int) -> dict[str, Any]:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as error:
        raise _Refused(f"row {row_number}: it is not JSON ({error.msg}).") from error
    if not isinstance(record, dict):
        raise _Refused(f"row {row_number}: it is not a JSON object.")
    return record


def _pope_id(record: dict[str, Any], row_number: int) -> str:
    value = record.get("question_id")
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).strip():
        raise _Refused(f"row {row_number}: the question_id is missing or not a whole number or a string.")
    return str(value).strip()


def _pope_text(record: dict[str, Any], names: tuple[str, ...], row_number: int) -> str:
    for name in names:
        if name in record:
            value = record[name]
            if not isinstance(value, str):
                raise _Refused(f"row {row_number}: the {name} is not a string.")
            return value
    raise _Refused(f"row {row_number}: the field {' or '.join(names)} is missing.")


def _image_list(field: str, row_number: int) -> list[str]:
    try:
        images = ast.literal_eval(field)
    except (ValueError, SyntaxError, MemoryError, RecursionError) as error:
        raise _Refused(f"row {row_number}: the image list cannot be read.") from error
    if not isinstance(images, list) or not all(isinstance(image, str) for image in images):
        raise _Refused(f"row {row_number}: the image list is not a list of base64 pictures.")
    return images


def _picture_decode(field: str, row_number: int, *, hint: str = "") -> bytes:
    try:
        picture = base64.b64decode(field, validate=True)
    except (binascii.Error, ValueError) as error:
        raise _Refused(f"row {row_number}: the image is not valid base64{hint}.") from error
    return _picture_png(picture, row_number)


def _picture_file(images_dir: Path, name: str, row_number: int) -> bytes:
    path = Path(name)
    if not name or path.is_absolute() or ".." in path.parts:
        raise _Refused(
            f"row {row_number}: the image name {name!r} is not a file name inside the image folder."
        )
    try:
        picture = (images_dir / path).read_bytes()
    except OSError as error:
        raise _Refused(
            f"row {row_number}: the image {name!r} could not be read from the image folder."
        ) from error
    return _picture_png(picture, row_number)


def _picture_png(picture: bytes, row_number: int) -> bytes:
    """The picture as PNG (what an `Item` holds): a PNG is checked and kept as it is, others converted."""
    try:
        with Image.open(io.BytesIO(picture)) as image:
            if picture.startswith(PNG_SIGNATURE):
                image.verify()
                return picture
            image.load()
            converted: Image.Image = image
            if image.mode not in _PNG_MODES:
                converted = image.convert("RGBA" if "A" in image.getbands() else "RGB")
            out = io.BytesIO()
            converted.save(out, format="PNG")
            return out.getvalue()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as error:
        raise _Refused(f"row {row_number}: the image is not a picture that can be read.") from error


def _item(row_number: int, **fields: Any) -> Item:
    try:
        return Item(**fields)
    except (ValueError, TypeError) as error:
        raise _Refused(f"row {row_number}: {error}") from error
