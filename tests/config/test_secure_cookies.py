"""Cookies and HSTS under DJANGO_SECURE (production, behind the TLS proxy) and without it (`make run`
over plain http), read in a fresh interpreter as a container reads them; DJANGO_HTTPS, the older name,
still works. The CSRF cookie itself is checked as the whole ASGI app sets it (on the sign-in form, which
needs no database; the session cookie is set by the same Django code from the settings above)."""

from __future__ import annotations

import pytest

from tests.config.test_https_settings import get_through_asgi, settings_in_subprocess

COOKIE_NAMES = [
    "DJANGO_SECURE",
    "SESSION_COOKIE_SECURE",
    "SESSION_COOKIE_HTTPONLY",
    "SESSION_COOKIE_SAMESITE",
    "CSRF_COOKIE_SECURE",
    "CSRF_COOKIE_HTTPONLY",
    "CSRF_COOKIE_SAMESITE",
    "SECURE_HSTS_SECONDS",
    "SECURE_PROXY_SSL_HEADER",
    "X_FRAME_OPTIONS",
    "ACCOUNT_DEFAULT_HTTP_PROTOCOL",
]


@pytest.mark.parametrize("switch", ["DJANGO_SECURE", "DJANGO_HTTPS"])
def test_secure_makes_both_cookies_secure_httponly_and_lax_with_hsts(switch: str) -> None:
    values = settings_in_subprocess(COOKIE_NAMES, **{switch: "1"})
    assert values == {
        "DJANGO_SECURE": True,
        "SESSION_COOKIE_SECURE": True,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "CSRF_COOKIE_SECURE": True,
        "CSRF_COOKIE_HTTPONLY": True,
        "CSRF_COOKIE_SAMESITE": "Lax",
        "SECURE_HSTS_SECONDS": 365 * 24 * 3600,
        "SECURE_PROXY_SSL_HEADER": ["HTTP_X_FORWARDED_PROTO", "https"],
        "X_FRAME_OPTIONS": "DENY",
        "ACCOUNT_DEFAULT_HTTP_PROTOCOL": "https",
    }


def test_without_secure_cookies_still_hide_from_scripts_and_other_sites_but_travel_over_http() -> None:
    values = settings_in_subprocess(COOKIE_NAMES)
    assert values == {
        "DJANGO_SECURE": False,
        "SESSION_COOKIE_SECURE": False,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "CSRF_COOKIE_SECURE": False,
        "CSRF_COOKIE_HTTPONLY": True,
        "CSRF_COOKIE_SAMESITE": "Lax",
        "SECURE_HSTS_SECONDS": 0,
        "SECURE_PROXY_SSL_HEADER": None,
        "X_FRAME_OPTIONS": "DENY",
        "ACCOUNT_DEFAULT_HTTP_PROTOCOL": "http",
    }


def test_the_new_name_wins_over_the_old_one() -> None:
    assert settings_in_subprocess(["DJANGO_SECURE"], DJANGO_SECURE="0", DJANGO_HTTPS="1") == {
        "DJANGO_SECURE": False
    }


def test_behind_the_proxy_the_site_sets_a_secure_httponly_lax_csrf_cookie_and_hsts() -> None:
    status, headers = get_through_asgi("/accounts/login/", {"X-Forwarded-Proto": "https"}, DJANGO_SECURE="1")
    assert status == 200
    assert headers["strict-transport-security"] == "max-age=31536000; includeSubDomains"
    cookie = headers["set-cookie"]
    assert cookie.startswith("csrftoken=")
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")[1:]}
    assert {"secure", "httponly", "samesite"} <= attributes, cookie
    assert "samesite=lax" in cookie.lower(), cookie
    assert headers["x-frame-options"] == "DENY"
    assert "upgrade-insecure-requests" in headers["content-security-policy"]


def test_over_plain_http_without_the_switch_the_cookie_is_not_secure_and_there_is_no_hsts() -> None:
    status, headers = get_through_asgi("/accounts/login/", {})
    assert status == 200
    assert "strict-transport-security" not in headers
    cookie = headers["set-cookie"].lower()
    assert cookie.startswith("csrftoken=") and "httponly" in cookie and "secure" not in cookie
    assert "upgrade-insecure-requests" not in headers["content-security-policy"]
