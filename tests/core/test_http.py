"""core.http.conditional: ETag and Last-Modified validators, 304s, bad input left to the view."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.test import RequestFactory
from django.utils.http import http_date

from core.errors import InvalidInput
from core.http import Validators, conditional

CHANGED = datetime(2026, 11, 30, 12, 0, 0, tzinfo=UTC)
calls: list[str] = []


def _validators(request: HttpRequest) -> Validators:
    if request.GET.get("page") == "bad":
        raise InvalidInput("page must be a number")
    int(request.GET.get("n") or 0)  # a ValueError on garbage, as a real reader would raise
    return Validators.of("thing", request.GET.get("n", ""), last_modified=CHANGED)


@conditional(_validators)
def _view(request: HttpRequest) -> HttpResponse:
    calls.append(request.get_full_path())
    if request.GET.get("missing"):
        return JsonResponse({"detail": "There is no such thing."}, status=404)
    return JsonResponse({"n": request.GET.get("n")})


def _get(path: str = "/thing", **headers: str) -> HttpResponse:
    return _view(RequestFactory().get(path, headers=headers))


def test_a_read_carries_a_weak_etag_a_last_modified_and_no_cache():
    response = _get()
    assert response.status_code == 200
    assert response["ETag"].startswith('W/"') and response["Cache-Control"] == "no-cache"
    assert response["Last-Modified"] == http_date(CHANGED.timestamp())


def test_the_same_etag_back_gives_304_without_running_the_view():
    etag = _get()["ETag"]
    calls.clear()
    again = _get(**{"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b"" and not calls
    assert again["ETag"] == etag


def test_the_etag_compares_weakly_and_differs_with_what_it_depends_on():
    etag = _get()["ETag"]
    assert _get(**{"If-None-Match": etag.removeprefix("W/")}).status_code == 304
    assert _get("/thing?n=2", **{"If-None-Match": etag}).status_code == 200


def test_if_modified_since_counts_only_without_if_none_match():
    stamp = http_date(CHANGED.timestamp())
    assert _get(**{"If-Modified-Since": stamp}).status_code == 304
    earlier = http_date((CHANGED - timedelta(days=1)).timestamp())
    assert _get(**{"If-Modified-Since": earlier}).status_code == 200
    assert _get(**{"If-Modified-Since": stamp, "If-None-Match": 'W/"other"'}).status_code == 200


def test_bad_input_is_left_to_the_view_and_errors_carry_no_validators():
    assert _get("/thing?page=bad").status_code == 200
    assert _get("/thing?n=x").status_code == 200
    missing = _get("/thing?missing=1")
    assert missing.status_code == 404 and "ETag" not in missing


def test_writes_are_never_answered_from_the_validators():
    etag = _get()["ETag"]
    response = _view(RequestFactory().post("/thing", headers={"If-None-Match": etag}))
    assert response.status_code == 200
