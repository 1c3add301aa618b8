import base64
import csv
import io
import json

import numpy as np
import pytest
from PIL import Image

from evaluation.importers import SkippedRow, pope_jsonl_import, vlmevalkit_tsv_import

HEADER = [
    "index",
    "question",
    "hint",
    "A",
    "B",
    "C",
    "D",
    "answer",
    "category",
    "l2-category",
    "split",
    "image",
]


def _picture(color=(200, 30, 30), size=4, fmt="PNG") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (size, size), color).save(out, format=fmt)
    return out.getvalue()


def _b64(picture: bytes) -> str:
    return base64.b64encode(picture).decode("ascii")


RED, BLUE = _picture(), _picture((20, 20, 220))


def _row(index, *, image, answer="B", options=("cat", "dog", "fox", ""), question="What is shown?", **extra):
    row = {
        "index": str(index),
        "question": question,
        "hint": "Look closely.",
        **dict(zip("ABCD", options, strict=True)),
        "answer": answer,
        "category": "coarse perception",
        "l2-category": "object",
        "split": "dev",
        "image": image,
    }
    row.update(extra)
    return row


def _tsv(rows, header=HEADER) -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter="\t", lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([row.get(name, "") for name in header] if isinstance(row, dict) else row)
    return out.getvalue()


def _refusal(text, row):
    report = vlmevalkit_tsv_import(text, benchmark="mmbench")
    assert report.items == ()
    assert report.refused.startswith(f"row {row}: "), report.refused
    return report.refused


GOOD = [
    _row(1, image=_b64(RED)),
    _row(2, image="1", question="What colour is it?", options=("red", "blue", "", ""), answer="a"),
    _row(3, image=_b64(BLUE), options=("", "", "", ""), answer="Yes", question="Is it blue?"),
    _row(4, image=_b64(BLUE), options=("", "", "", ""), answer="a fox", question="Name it."),
]


def test_a_vlmevalkit_tsv_becomes_items():
    report = vlmevalkit_tsv_import(_tsv(GOOD), benchmark="mmbench")
    assert report.refused is None
    assert (report.read, report.skipped) == (4, ())
    first, second, yes_no, free = report.items
    assert (first.id, first.benchmark, first.options, first.answer, first.answer_type) == (
        "1",
        "mmbench",
        ("cat", "dog", "fox"),
        "B",
        "choice",
    )
    assert (first.category, first.sub_category, first.hint, first.image) == (
        "coarse perception",
        "object",
        "Look closely.",
        RED,
    )
    assert (second.options, second.answer) == (("red", "blue"), "A")
    assert (yes_no.answer, yes_no.answer_type, yes_no.options) == ("yes", "yesno", ())
    assert (free.answer, free.answer_type) == ("a fox", "text")


def test_an_image_naming_another_rows_index_takes_that_rows_picture():
    report = vlmevalkit_tsv_import(_tsv(GOOD), benchmark="mmbench")
    assert report.items[1].image == RED


def test_a_reference_to_a_later_row_is_resolved_too():
    rows = [_row(7, image="8"), _row(8, image=_b64(BLUE))]
    report = vlmevalkit_tsv_import(_tsv(rows), benchmark="mmbench")
    assert [item.image for item in report.items] == [BLUE, BLUE]


def test_a_file_is_read_from_a_path(tmp_path):
    path = tmp_path / "MMStar.tsv"
    path.write_text(_tsv(GOOD), encoding="utf-8")
    assert len(vlmevalkit_tsv_import(path, benchmark="mmstar").items) == 4
    assert len(vlmevalkit_tsv_import(str(path), benchmark="mmstar").items) == 4


def test_a_missing_file_is_refused_with_a_sentence(tmp_path):
    report = vlmevalkit_tsv_import(tmp_path / "nope.tsv", benchmark="mmstar")
    assert report.items == ()
    assert report.refused.startswith("The file could not be opened")


def test_a_jpeg_picture_is_kept_as_png():
    jpeg = _picture(fmt="JPEG", size=8)
    report = vlmevalkit_tsv_import(_tsv([_row(1, image=_b64(jpeg))]), benchmark="seed")
    image = report.items[0].image
    assert image.startswith(b"\x89PNG")
    with Image.open(io.BytesIO(image)) as opened:
        assert opened.size == (8, 8)


def test_a_picture_bigger_than_csvs_default_field_limit_is_read():
    noise = np.random.default_rng(0).integers(0, 256, size=(256, 256, 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(noise).save(out, format="PNG")
    assert len(_b64(out.getvalue())) > 131072
    report = vlmevalkit_tsv_import(_tsv([_row(1, image=_b64(out.getvalue()))]), benchmark="seed")
    assert report.refused is None
    assert report.items[0].image == out.getvalue()


def test_blank_lines_and_multi_image_rows_are_skipped_and_reported():
    rows = [GOOD[0], [], _row(2, image=str([_b64(RED), _b64(BLUE)])), _row(3, image=str([_b64(BLUE)]))]
    report = vlmevalkit_tsv_import(_tsv(rows), benchmark="mmbench")
    assert report.refused is None
    assert [item.id for item in report.items] == ["1", "3"]
    assert report.items[1].image == BLUE
    assert report.skipped == (
        SkippedRow(3, "blank line"),
        SkippedRow(4, "it holds 2 images; an item holds one"),
    )
    assert report.read == 3


def test_columns_besides_the_required_ones_are_optional():
    header = ["index", "question", "answer", "image"]
    report = vlmevalkit_tsv_import(_tsv([["1", "Is it red?", "yes", _b64(RED)]], header), benchmark="b")
    (item,) = report.items
    assert (item.category, item.sub_category, item.hint, item.answer_type) == ("b", "", "", "yesno")


def test_a_missing_required_column_is_refused_at_the_header():
    header = [name for name in HEADER if name != "answer"]
    assert "answer" in _refusal(_tsv(GOOD, header), 1)


def test_bad_base64_is_refused_with_its_row():
    rows = [GOOD[0], _row(2, image="!" * 80)]
    assert _refusal(_tsv(rows), 3) == "row 3: the image is not valid base64."


def test_base64_that_is_no_picture_is_refused():
    rows = [_row(1, image=_b64(b"just some text, long enough to not be an index reference" * 2))]
    assert "not a picture" in _refusal(_tsv(rows), 2)


def test_an_answer_letter_not_among_the_options_is_refused():
    rows = [GOOD[0], GOOD[2], _row(5, image=_b64(RED), answer="D")]
    assert _refusal(_tsv(rows), 4) == "row 4: the answer 'D' is not among the options A-C."


def test_a_duplicate_index_is_refused():
    rows = [GOOD[0], _row(1, image=_b64(BLUE))]
    assert _refusal(_tsv(rows), 3) == "row 3: the index 1 is already row 2's."


def test_a_reference_to_no_picture_is_refused():
    rows = [GOOD[0], _row(2, image="99")]
    assert "index 99" in _refusal(_tsv(rows), 3)


def test_a_row_with_the_wrong_number_of_fields_is_refused():
    rows = [GOOD[0], ["2", "What?"]]
    assert "2 field(s)" in _refusal(_tsv(rows), 3)


def test_a_stray_carriage_return_is_refused_as_invalid_tsv():
    stream = io.StringIO(_tsv(GOOD).replace("What colour", "What\rcolour"))
    report = vlmevalkit_tsv_import(stream, benchmark="mmbench")
    assert report.items == ()
    assert report.refused == "row 3: it is not valid TSV (a quote or a line break is out of place)."


def test_options_with_a_gap_are_refused():
    rows = [_row(1, image=_b64(RED), options=("cat", "", "fox", ""), answer="A")]
    assert "without a gap" in _refusal(_tsv(rows), 2)


def test_an_item_the_item_type_refuses_refuses_the_file_with_its_row():
    rows = [GOOD[0], _row(2, image=_b64(RED), options=("cat", "Cat", "", ""), answer="A")]
    assert "say the same" in _refusal(_tsv(rows), 3)


def test_an_empty_file_is_refused():
    report = vlmevalkit_tsv_import(io.StringIO(""), benchmark="b")
    assert report.items == ()
    assert report.refused == "The file is empty: it has no header row."


def _pope_lines(*records) -> str:
    return "".join(json.dumps(record) + "\n" for record in records)


POPE = [
    {"question_id": 1, "image": "COCO_val2014_1.jpg", "text": "Is there a dog in the image?", "label": "yes"},
    {"question_id": 2, "image": "COCO_val2014_1.jpg", "text": "Is there a cat in the image?", "label": "No"},
]


@pytest.fixture
def coco(tmp_path):
    (tmp_path / "COCO_val2014_1.jpg").write_bytes(_picture(fmt="JPEG", size=8))
    return tmp_path


def test_pope_lines_become_yes_no_items_with_pictures_from_the_folder(coco):
    report = pope_jsonl_import(_pope_lines(*POPE), benchmark="pope", category="adversarial", images_dir=coco)
    assert report.refused is None
    assert report.read == 2
    first, second = report.items
    assert (first.id, first.answer, first.answer_type, first.category) == ("1", "yes", "yesno", "adversarial")
    assert second.answer == "no"
    assert first.image.startswith(b"\x89PNG")
    assert first.image is second.image


def test_pope_pictures_in_base64_need_no_folder():
    record = {**POPE[0], "image": _b64(RED)}
    report = pope_jsonl_import(_pope_lines(record) + "\n", benchmark="pope")
    assert report.items[0].image == RED
    assert report.items[0].category == "pope"
    assert report.skipped == (SkippedRow(2, "blank line"),)


def test_a_pope_file_name_without_a_folder_is_refused_with_a_hint():
    report = pope_jsonl_import(_pope_lines(*POPE), benchmark="pope")
    assert report.refused == "row 1: the image is not valid base64; if it names a file, give images_dir."


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        ({**POPE[1], "label": "maybe"}, "row 2: the label must be yes or no, not 'maybe'."),
        ({**POPE[1], "question_id": 1}, "row 2: the question_id 1 is already row 1's."),
        (
            {**POPE[1], "image": "missing.jpg"},
            "row 2: the image 'missing.jpg' could not be read from the image folder.",
        ),
        (
            {**POPE[1], "image": "../secret.jpg"},
            "row 2: the image name '../secret.jpg' is not a file name inside",
        ),
        (
            {"question_id": 2, "image": "COCO_val2014_1.jpg", "label": "yes"},
            "row 2: the field text or question",
        ),
    ],
)
def test_a_bad_pope_line_refuses_the_file(coco, record, reason):
    report = pope_jsonl_import(_pope_lines(POPE[0], record), benchmark="pope", images_dir=coco)
    assert report.items == ()
    assert report.refused.startswith(reason)


def test_a_pope_line_that_is_not_json_is_refused(coco):
    report = pope_jsonl_import(_pope_lines(POPE[0]) + "{not json\n", benchmark="pope", images_dir=coco)
    assert report.items == ()
    assert report.refused.startswith("row 2: it is not JSON")
    assert report.read == 2


def test_the_report_has_a_json_form_without_the_pictures():
    report = vlmevalkit_tsv_import(_tsv([*GOOD, []]), benchmark="mmbench")
    assert json.loads(json.dumps(report.to_dict())) == {
        "imported": 4,
        "read": 4,
        "skipped": [{"row": 6, "reason": "blank line"}],
        "refused": None,
    }
