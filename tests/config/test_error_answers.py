"""Error answers: our pages (400, 404, 500) for people, `{"detail": ...}` JSON under /api/, in every mode."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client

from core.middleware import SERVER_ERROR_DETAIL
from tests.config.urls import SECRET_MARKER

pytestmark = pytest.mark.urls("tests.config.urls")

# What Django's debug pages show and an error answer must never: settings, URL patterns, tracebacks.
LEAKS = (
    "DATABASE",
    "REDIS",
    "SECRET_KEY",
    "Traceback",
    "urlpatterns",
    "URLconf",
    "settings.py",
    SECRET_MARKER,
)


def assert_nothing_leaks(body: str) -> None:
    for word in LEAKS:
        assert word not in body, f"{word!r} leaked into the answer"


@pytest.fixture(params=[False, True], ids=["debug-off", "debug-on"])
def debug(request: pytest.FixtureRequest, settings: Any) -> Iterator[bool]:
    settings.DEBUG = request.param
    yield request.param


@pytest.fixture
def client() -> Client:
    # An exception in a view becomes the 500 answer a visitor gets, not a test error.
    return Client(raise_request_exception=False)


def test_a_foreign_host_gets_a_plain_400_page(client: Client, debug: bool) -> None:
    response = client.get("/", HTTP_HOST="evil.example")
    assert response.status_code == 400
    body = response.content.decode()
    assert "Bad request" in body
    assert_nothing_leaks(body)


def test_a_foreign_host_gets_a_json_400_under_the_api(client: Client, debug: bool) -> None:
    response = client.get("/api/v1/nope", HTTP_HOST="evil.example")
    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/json")
    assert set(response.json()) == {"detail"}
    assert_nothing_leaks(response.content.decode())


def test_an_unknown_page_gets_our_404_template(client: Client, settings: Any) -> None:
    settings.DEBUG = False
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert "404.html" in [template.name for template in response.templates]
    body = response.content.decode()
    assert "Page not found" in body
    assert "/static/css/site.css" in body  # the site's own layout
    assert_nothing_leaks(body)


def test_a_failing_page_gets_our_self_contained_500(client: Client, settings: Any) -> None:
    settings.DEBUG = False
    response = client.get("/test-fails/")
    assert response.status_code == 500
    body = response.content.decode()
    assert "Something went wrong on our side" in body
    assert "{%" not in body and "/static/" not in body
    assert_nothing_leaks(body)


def test_an_unknown_api_path_gets_json_404(client: Client, debug: bool) -> None:
    response = client.get("/api/v1/nope")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
    assert response.json() == {"detail": "There is no such API endpoint: /api/v1/nope"}


def test_a_wrong_method_gets_json_405_with_the_allowed_ones(client: Client, debug: bool) -> None:
    response = client.delete("/api/test/only-get")
    assert response.status_code == 405
    assert response["Content-Type"].startswith("application/json")
    assert response["Allow"] == "GET"
    assert response.json() == {"detail": "DELETE is not allowed here; use GET."}


def test_a_failing_api_endpoint_gets_json_500_without_a_traceback(
    client: Client, debug: bool, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="core.api"):
        response = client.get("/api/test/fails")
    assert response.status_code == 500
    assert response["Content-Type"].startswith("application/json")
    assert response.json() == {"detail": SERVER_ERROR_DETAIL}
    assert_nothing_leaks(response.content.decode())
    # The traceback goes to the log instead.
    logged = [record for record in caplog.records if record.name == "core.api"]
    assert logged and logged[0].exc_info is not None
    assert SECRET_MARKER in str(logged[0].exc_info[1])


def test_permission_denied_in_an_api_endpoint_gets_json_403(client: Client, debug: bool) -> None:
    response = client.get("/api/test/forbidden")
    assert response.status_code == 403
    assert set(response.json()) == {"detail"}
    assert_nothing_leaks(response.content.decode())


def test_the_public_read_endpoints_answer_the_cors_preflight(client: Client) -> None:
    response = client.options(
        "/api/v1/leaderboard",
        HTTP_ORIGIN="https://elsewhere.example",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="if-none-match",
    )
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "*"
    assert "GET" in response["Access-Control-Allow-Methods"]
    assert "POST" not in response["Access-Control-Allow-Methods"]
    assert "if-none-match" in response["Access-Control-Allow-Headers"]
    assert response["Access-Control-Max-Age"] == "86400"
    assert "Access-Control-Allow-Credentials" not in response


def test_endpoints_that_write_are_not_opened_to_other_origins(client: Client) -> None:
    response = client.options(
        "/api/v1/battles", HTTP_ORIGIN="https://elsewhere.example", HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST"
    )
    assert "Access-Control-Allow-Origin" not in response


def test_pages_get_their_css_and_js_with_debug_off(client: Client, settings: Any) -> None:
    settings.DEBUG = False
    for path, kind in (("/static/css/site.css", "text/css"), ("/static/arena/battle.js", "javascript")):
        response = client.get(path)
        assert response.status_code == 200, path
        assert kind in response["Content-Type"]
