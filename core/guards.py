"""Checks an endpoint makes before it acts: the CSRF token, staff rights, an upload's size."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from ninja.utils import check_csrf

from core.errors import NotAllowed, PayloadTooLarge


def csrf_require(*, request: HttpRequest) -> None:
    """Refuse a browser-session write without a valid CSRF token (django-ninja leaves it to us)."""
    if check_csrf(request) is not None:
        raise NotAllowed(
            "Your session's security token is missing or out of date. "
            "Fetch /api/v1/session and send its csrf_token as the X-CSRFToken header."
        )


def staff_require(*, request: HttpRequest, action: str) -> None:
    if not getattr(request.user, "is_staff", False):
        raise NotAllowed(f"Only staff can {action}; sign in at /admin/ with a staff account.")


def upload_size_check(*, size: int | None, what: str = "file") -> None:
    """Refuse an upload over ARENA_MAX_UPLOAD_BYTES, saying both sizes."""
    limit = settings.ARENA_MAX_UPLOAD_BYTES
    if size is not None and size > limit:
        raise PayloadTooLarge(
            f"The {what} is {size / 1_000_000:.1f} MB; the limit is {limit / 1_000_000:.0f} MB."
        )
