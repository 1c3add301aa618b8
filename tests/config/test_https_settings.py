"""The deployment switches in the settings: DJANGO_HTTPS (behind the TLS proxy: secure cookies, HSTS,
the proxy's X-Forwarded-Proto believed) and DATABASE_PGBOUNCER (transaction pooling: no server-side
cursors, no prepared statements, no startup options). Each is read in a fresh interpreter, as a
container reads it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

from tests.config.test_settings import ROOT

# Variables of the developer's shell or the suite that would change what is read here.
_CLEARED = (
    "DJANGO_SECURE",
    "DJANGO_HTTPS",
    "DJANGO_HSTS_SECONDS",
    "DJANGO_HSTS_INCLUDE_SUBDOMAINS",
    "DATABASE_PGBOUNCER",
)

_READ_SETTINGS = """
import json, os
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
from django.conf import settings
names = json.loads(os.environ["READ_NAMES"])
print(json.dumps({name: getattr(settings, name) for name in names}))
"""

# The whole ASGI app (the edge cache in front of Django and every middleware), driven in process by
# httpx as uvicorn would drive it, but without uvicorn's own proxy-header handling: what makes the
# request secure here is Django's SECURE_PROXY_SSL_HEADER alone.
_ASGI_REQUEST = """
import asyncio, json, os, sys
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
import httpx
from config.asgi import application

async def main():
    transport = httpx.ASGITransport(app=application, client=("203.0.113.7", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
        response = await client.get(sys.argv[1], headers=json.loads(sys.argv[2]))
    print(json.dumps({"status": response.status_code, "headers": dict(response.headers)}))

asyncio.run(main())
"""


def _env(**variables: str) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if name not in _CLEARED}
    env.setdefault("DJANGO_SECRET_KEY", "https-settings-under-test")
    env.update(variables)
    return env


def settings_in_subprocess(names: list[str], **variables: str) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, "-c", _READ_SETTINGS],
        cwd=ROOT,
        env=_env(READ_NAMES=json.dumps(names), **variables),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    values: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return values


def get_through_asgi(path: str, headers: dict[str, str], **variables: str) -> tuple[int, dict[str, str]]:
    result = subprocess.run(
        [sys.executable, "-c", _ASGI_REQUEST, path, json.dumps(headers)],
        cwd=ROOT,
        # Static files from the finders, so the answer needs neither collectstatic nor a database.
        env=_env(DJANGO_STATIC_HASHED="0", **variables),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    return int(answer["status"]), {str(k).lower(): str(v) for k, v in answer["headers"].items()}


HTTPS_NAMES = [
    "SECURE_PROXY_SSL_HEADER",
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_SSL_REDIRECT",
]


def test_https_behind_the_proxy_makes_cookies_secure_and_sends_a_year_of_hsts() -> None:
    values = settings_in_subprocess(HTTPS_NAMES, DJANGO_HTTPS="1")
    assert values == {
        "SECURE_PROXY_SSL_HEADER": ["HTTP_X_FORWARDED_PROTO", "https"],
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
        "SECURE_HSTS_SECONDS": 365 * 24 * 3600,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
        # The proxy redirects to https; Django redirecting too would loop behind plain-http proxies.
        "SECURE_SSL_REDIRECT": False,
    }


def test_without_https_plain_http_keeps_its_cookies_and_no_header_is_believed() -> None:
    values = settings_in_subprocess(HTTPS_NAMES)
    assert values == {
        "SECURE_PROXY_SSL_HEADER": None,
        "SESSION_COOKIE_SECURE": False,
        "CSRF_COOKIE_SECURE": False,
        "SECURE_HSTS_SECONDS": 0,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": False,
        "SECURE_SSL_REDIRECT": False,
    }


def test_hsts_age_and_subdomains_are_read_from_the_environment() -> None:
    values = settings_in_subprocess(
        HTTPS_NAMES, DJANGO_HTTPS="yes", DJANGO_HSTS_SECONDS="3600", DJANGO_HSTS_INCLUDE_SUBDOMAINS="0"
    )
    assert values["SECURE_HSTS_SECONDS"] == 3600
    assert values["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is False


def test_a_malformed_https_switch_is_an_error_naming_it() -> None:
    result = subprocess.run(
        [sys.executable, "-c", _READ_SETTINGS],
        cwd=ROOT,
        env=_env(READ_NAMES='["DEBUG"]', DJANGO_HTTPS="sometimes"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "DJANGO_HTTPS must be one of 1/0" in result.stderr


def test_security_middleware_is_installed() -> None:
    # HSTS and the secure-request redirect rules live in it; without it the settings above do nothing.
    [middleware] = settings_in_subprocess(["MIDDLEWARE"]).values()
    assert "django.middleware.security.SecurityMiddleware" in middleware


def test_a_request_the_proxy_marks_https_gets_hsts_through_the_asgi_app() -> None:
    status, headers = get_through_asgi(
        "/static/core/socket.js", {"X-Forwarded-Proto": "https"}, DJANGO_HTTPS="1"
    )
    assert status == 200
    assert headers["strict-transport-security"] == "max-age=31536000; includeSubDomains"


def test_no_hsts_over_plain_http_or_without_the_https_switch() -> None:
    # Browsers ignore HSTS over http, and Django sends it only on requests it believes secure.
    status, plain = get_through_asgi("/static/core/socket.js", {}, DJANGO_HTTPS="1")
    assert status == 200 and "strict-transport-security" not in plain
    # Without DJANGO_HTTPS a client's own X-Forwarded-Proto is not believed.
    status, spoofed = get_through_asgi("/static/core/socket.js", {"X-Forwarded-Proto": "https"})
    assert status == 200 and "strict-transport-security" not in spoofed


def test_pgbouncer_turns_off_server_side_cursors_prepared_statements_and_startup_options() -> None:
    [database] = settings_in_subprocess(
        ["DATABASES"], DATABASE_PGBOUNCER="1", DATABASE_STATEMENT_TIMEOUT_S="5"
    )["DATABASES"].values()
    assert database["DISABLE_SERVER_SIDE_CURSORS"] is True
    assert "prepare_threshold" in database["OPTIONS"] and database["OPTIONS"]["prepare_threshold"] is None
    # PgBouncer refuses a connection whose startup packet sets statement_timeout.
    assert "options" not in database["OPTIONS"]
    # Django's own pool still sits in front of PgBouncer.
    assert database["OPTIONS"]["pool"]["max_size"] >= 1


def test_without_pgbouncer_server_side_cursors_and_the_timeout_option_stay() -> None:
    [database] = settings_in_subprocess(["DATABASES"], DATABASE_STATEMENT_TIMEOUT_S="5")["DATABASES"].values()
    assert database["DISABLE_SERVER_SIDE_CURSORS"] is False
    assert database["OPTIONS"]["options"] == "-c statement_timeout=5000"
