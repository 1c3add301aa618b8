"""REST: GET /api/v1/general-level (JSON, CSV, ETag) and the staff-only import upload."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from leaderboard.boards.general_level.services import general_level_import
from leaderboard.models import Task, TaskScore

pytestmark = pytest.mark.django_db

DOCUMENT: dict[str, Any] = {
    "tasks": [
        {"name": "VQA", "modality": "image", "group": "comprehension", "metric": "ACC", "sota": 50},
        {"name": "T2I", "modality": "image", "group": "generation", "metric": "ACC", "sota": 30},
        {"name": "QA", "modality": "nlp", "group": None, "metric": "ACC", "sota": 60},
    ],
    "models": {"Alpha": {"scores": [60, 35, 70]}, "Beta": {"scores": [40, None, None]}},
}


def _seed(document: dict[str, Any] = DOCUMENT) -> None:
    general_level_import(data=json.dumps(document).encode(), filename="seed.json")


def _upload(name: str, data: bytes) -> dict[str, SimpleUploadedFile]:
    return {"file": SimpleUploadedFile(name, data)}


def _staff_client(*, is_staff: bool = True) -> tuple[Client, str]:
    user = get_user_model().objects.create_user(username=f"user-{is_staff}", password="x", is_staff=is_staff)
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    token = client.get("/api/v1/session").json()["csrf_token"]
    return client, token


def test_json_board_has_every_models_report_and_when_it_was_computed():
    _seed()
    response = Client().get("/api/v1/general-level")
    assert response.status_code == 200
    body = response.json()
    assert body["generated_at"] and body["version"]
    assert body["tasks"]["image"] == 2 and body["tasks"]["nlp"] == 1
    alpha, beta = body["models"]
    assert (alpha["model"], alpha["rank"], alpha["level"], alpha["key"]) == ("Alpha", 1, 5, "alpha")
    assert set(alpha["overall"]) == {"L2", "L3", "L4", "L5"}
    image = alpha["modalities"]["image"]
    assert image["L2"] == pytest.approx(47.5) and image["S_C"] == 60 and image["won"] == 2
    assert alpha["language"]["S_L"] == 70
    assert (beta["model"], beta["level"], beta["arena_slug"]) == ("Beta", 2, None)


def test_csv_board_has_flat_columns():
    _seed()
    response = Client().get("/api/v1/general-level", {"format": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert list(rows[0])[:8] == [
        "rank",
        "model",
        "key",
        "level",
        "overall_L2",
        "overall_L3",
        "overall_L4",
        "overall_L5",
    ]
    assert {"image_L2", "image_L3", "image_L4", "3d_L4"} <= set(rows[0])
    assert (rows[0]["model"], rows[0]["level"]) == ("Alpha", "5")
    assert float(rows[0]["image_L2"]) == pytest.approx(47.5)


def test_etag_answers_304_until_the_board_changes():
    _seed()
    client = Client()
    first = client.get("/api/v1/general-level")
    etag = first["ETag"]
    assert etag and first["Cache-Control"] == "no-cache"
    again = client.get("/api/v1/general-level", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again["ETag"] == etag
    csv_etag = client.get("/api/v1/general-level", {"format": "csv"})["ETag"]
    assert csv_etag != etag

    _seed({**DOCUMENT, "models": {"Alpha": {"scores": [61, 35, 70]}}})
    changed = client.get("/api/v1/general-level", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed["ETag"] != etag


def test_empty_board_is_an_empty_list():
    body = Client().get("/api/v1/general-level").json()
    assert body["models"] == []


def test_openapi_documents_both_endpoints():
    schema = Client().get("/api/v1/openapi.json").json()
    board = schema["paths"]["/api/v1/general-level"]["get"]
    assert board["summary"].startswith("The General-Level board")
    assert {"application/json", "text/csv"} <= set(board["responses"]["200"]["content"])
    assert "/api/v1/general-level/import" in schema["paths"]


def test_staff_import_through_rest_returns_the_report():
    client, token = _staff_client()
    response = client.post(
        "/api/v1/general-level/import",
        data=_upload("seed.json", json.dumps(DOCUMENT).encode()),
        headers={"X-CSRFToken": token},
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["source"] == "seed.json"
    assert body["read"]["models"] == 2 and body["written"]["scores"]["created"] == 6
    assert TaskScore.objects.count() == 6


@pytest.mark.parametrize("who", ["anonymous", "not staff"])
def test_only_staff_may_import(who: str):
    if who == "anonymous":
        client, token = Client(enforce_csrf_checks=True), ""
    else:
        client, token = _staff_client(is_staff=False)
    response = client.post(
        "/api/v1/general-level/import",
        data=_upload("seed.json", json.dumps(DOCUMENT).encode()),
        headers={"X-CSRFToken": token},
    )
    assert response.status_code == 403
    assert response.json()["detail"].startswith("Only staff can import")
    assert Task.objects.count() == 0


def test_import_needs_the_csrf_token():
    client, _ = _staff_client()
    response = client.post(
        "/api/v1/general-level/import", data=_upload("seed.json", json.dumps(DOCUMENT).encode())
    )
    assert response.status_code == 403
    assert "security token" in response.json()["detail"]
    assert Task.objects.count() == 0


@pytest.mark.parametrize(
    ("name", "data", "status", "detail"),
    [
        ("bad.json", b'{"tasks": 3}', 400, "bad.json: 'tasks' must be a non-empty list"),
        ("bench.xlsx", b"PK\x03\x04junk", 400, "is not an Excel .xlsx spreadsheet"),
        ("cat.png", b"\x89PNG\r\n", 415, "neither a General-Bench spreadsheet"),
    ],
)
def test_bad_uploads_get_a_sentence_and_change_nothing(name: str, data: bytes, status: int, detail: str):
    _seed()
    before = list(TaskScore.objects.order_by("pk").values_list("score", "updated_at"))
    client, token = _staff_client()
    response = client.post(
        "/api/v1/general-level/import", data=_upload(name, data), headers={"X-CSRFToken": token}
    )
    assert response.status_code == status
    assert detail in response.json()["detail"]
    assert list(TaskScore.objects.order_by("pk").values_list("score", "updated_at")) == before


def test_missing_file_is_a_400():
    client, token = _staff_client()
    response = client.post("/api/v1/general-level/import", headers={"X-CSRFToken": token})
    assert response.status_code == 400
    assert "multipart field 'file'" in response.json()["detail"]


def test_oversized_upload_is_a_413(settings):
    settings.ARENA_MAX_UPLOAD_BYTES = 10
    client, token = _staff_client()
    response = client.post(
        "/api/v1/general-level/import",
        data=_upload("seed.json", json.dumps(DOCUMENT).encode()),
        headers={"X-CSRFToken": token},
    )
    assert response.status_code == 413
