"""Hostile input (the probe cases of a security review): each is a 4xx with a sentence, never a 500.

The API answers `{"detail": "<a sentence>"}`, pages the site's 400 page; no traceback reaches a client.
"""

from __future__ import annotations

from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import AsyncClient, Client

from arena.models import Battle, Turn
from tests.factories import battle_make, voter_client

pytestmark = pytest.mark.django_db


def assert_refused(response: Any, status: int, *words: str) -> str:
    """A JSON `{"detail": ...}` answer with `status`, whose sentence holds each of `words`."""
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"detail"}
    detail = str(body["detail"])
    assert "Traceback" not in detail
    for word in words:
        assert word in detail
    return detail


def assert_page_refused(response: Any, status: int = 400) -> None:
    assert response.status_code == status
    assert response["Content-Type"].startswith("text/html")
    body = response.content.decode()
    assert "Bad request" in body and "Traceback" not in body


def _multipart(parts: list[tuple[str, str]], boundary: str = "hostile") -> bytes:
    lines = []
    for name, value in parts:
        lines += [f"--{boundary}", f'Content-Disposition: form-data; name="{name}"', "", value]
    return "\r\n".join([*lines, f"--{boundary}--", ""]).encode()


# --- NUL characters ------------------------------------------------------------------------------------


def test_a_nul_in_a_battle_prompt_is_refused_before_any_battle_starts():
    client, token = voter_client()

    response = client.post("/api/v1/battles", {"prompt": "hello\x00world"}, headers={"X-CSRFToken": token})

    assert_refused(response, 400, "'prompt'", "NUL")
    assert not Battle.objects.exists()


def test_a_nul_in_a_follow_up_is_refused_and_adds_no_turn():
    client, token = voter_client()
    battle = battle_make(creator_id=client.session["arena_voter_id"])

    response = client.post(
        f"/api/v1/battles/{battle.pk}/turns", {"prompt": "and\x00then?"}, headers={"X-CSRFToken": token}
    )

    assert_refused(response, 400, "'prompt'", "NUL")
    assert Turn.objects.filter(battle=battle).count() == 1


def test_a_nul_in_a_json_body_is_refused():
    client, token = voter_client()
    battle = battle_make(creator_id=client.session["arena_voter_id"])

    response = client.post(
        f"/api/v1/battles/{battle.pk}/vote",
        data=b'{"winner": "model_a\\u0000"}',
        content_type="application/json",
        headers={"X-CSRFToken": token},
    )

    assert_refused(response, 400, "NUL")


def test_half_a_surrogate_pair_in_a_json_body_is_refused():
    response = Client().post("/api/v1/tokens", data=b'{"label": "\\ud800"}', content_type="application/json")

    assert_refused(response, 400, "surrogate")


@pytest.mark.parametrize("path", ["/api/v1/models/%00", "/api/v1/attachments/%00"])
def test_a_nul_in_an_api_address_is_refused(path):
    assert_refused(Client().get(path), 400, "NUL")


def test_a_nul_in_a_query_parameter_is_refused_naming_it():
    assert_refused(Client().get("/api/v1/leaderboard?category=over%00all"), 400, "'category'", "NUL")


def test_a_nul_in_a_page_form_gets_the_400_page():
    response = Client().post("/accounts/login/", {"login": "me\x00@example.com", "password": "secret"})

    assert_page_refused(response)


def test_a_nul_in_a_page_address_gets_the_400_page():
    assert_page_refused(Client().get("/models/%00/"))


# --- bodies that cannot be read, or are over Django's limits -------------------------------------------


def test_garbage_multipart_is_refused_before_the_csrf_check_and_any_query(django_assert_num_queries):
    client = Client(enforce_csrf_checks=True)

    with django_assert_num_queries(0):
        response = client.generic(
            "POST", "/api/v1/battles", b"\x00\xffgarbage", content_type="multipart/form-data"
        )

    assert_refused(response, 400, "multipart/form-data")


def test_multipart_with_oversized_part_headers_is_refused():
    body = (
        b'--b\r\nContent-Disposition: form-data; name="prompt"\r\nX-Filler: '
        + b"x" * 20_000
        + b"\r\n\r\nhi\r\n--b--\r\n"
    )

    response = Client().generic(
        "POST", "/api/v1/battles", body, content_type="multipart/form-data; boundary=b"
    )

    assert_refused(response, 400, "multipart/form-data")


def test_garbage_multipart_is_refused_under_asgi_too():
    async def post() -> Any:
        return await AsyncClient().generic(
            "POST", "/api/v1/battles", b"garbage", content_type="multipart/form-data"
        )

    assert_refused(async_to_sync(post)(), 400, "multipart/form-data")


def test_a_form_field_over_the_upload_limit_is_a_413(settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    client, token = voter_client()

    response = client.post("/api/v1/battles", {"prompt": "x" * 20_000}, headers={"X-CSRFToken": token})

    assert_refused(response, 413, "too large", "0.0 MB")


def test_a_json_body_over_the_upload_limit_is_a_413(settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    body = b'{"label": "' + b"x" * 20_000 + b'"}'

    response = Client().post("/api/v1/tokens", data=body, content_type="application/json")

    assert_refused(response, 413, "too large")


def test_1001_form_fields_are_refused():
    client, token = voter_client()
    fields = {f"field{number}": "x" for number in range(1001)}

    response = client.post("/api/v1/battles", fields, headers={"X-CSRFToken": token})

    assert_refused(response, 400, "more than 1,000 fields")


def test_1001_query_parameters_are_refused():
    query = "&".join(f"p{number}=1" for number in range(1001))

    assert_refused(Client().get(f"/api/v1/leaderboard?{query}"), 400, "more than 1,000 fields")


def test_101_files_are_refused():
    client, token = voter_client()
    files = {f"image{number}": SimpleUploadedFile(f"{number}.png", b"png") for number in range(101)}

    response = client.post("/api/v1/battles", files, headers={"X-CSRFToken": token})

    assert_refused(response, 400, "more than 100 files")


def test_101_files_on_a_page_get_the_400_page():
    files = {f"file{number}": SimpleUploadedFile(f"{number}.txt", b"x") for number in range(101)}

    assert_page_refused(Client().post("/submit/", files))


# --- numbers and ids out of range ----------------------------------------------------------------------


def test_a_snapshot_page_past_bigint_is_a_422():
    response = Client().get("/api/v1/leaderboard/snapshots?page=9223372036854775807")

    assert response.status_code == 422
    assert "page" in response.json()["detail"]


def test_an_export_since_past_any_date_is_a_400():
    assert_refused(Client().get("/api/v1/battles/export?since=1e400"), 400, "since")


def test_a_battle_id_that_is_not_a_uuid_is_a_json_404():
    assert_refused(Client().get("/api/v1/battles/not-a-uuid"), 404)


@pytest.mark.urls("tests.core.urls_hostile")
def test_a_value_postgresql_refuses_in_an_endpoint_is_a_400_not_a_500():
    assert_refused(
        Client(raise_request_exception=False).get("/api/hostile/out-of-range"), 400, "out of range"
    )


@pytest.mark.urls("tests.core.urls_hostile")
def test_a_value_postgresql_refuses_in_a_page_gets_the_400_page():
    assert_page_refused(Client(raise_request_exception=False).get("/hostile/out-of-range/"))
