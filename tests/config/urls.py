"""The site's URLs plus test-only ones that fail on purpose, with the site's error handlers."""

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.urls import path
from ninja import NinjaAPI

from config.urls import handler400, handler404, handler500
from config.urls import urlpatterns as site_urlpatterns
from core.api import api_errors_install

SECRET_MARKER = "kaboom-secret-marker-7f3a"

test_api = NinjaAPI(title="errors under test", urls_namespace="config-tests")
api_errors_install(api=test_api)


@test_api.get("/fails")
def api_fails(request: HttpRequest) -> dict[str, str]:
    raise RuntimeError(SECRET_MARKER)


@test_api.get("/forbidden")
def api_forbidden(request: HttpRequest) -> dict[str, str]:
    raise PermissionDenied(SECRET_MARKER)


@test_api.get("/only-get")
def api_only_get(request: HttpRequest) -> dict[str, str]:
    return {"ok": "yes"}


def page_fails(request: HttpRequest) -> HttpResponse:
    raise RuntimeError(SECRET_MARKER)


urlpatterns = [
    path("api/test/", test_api.urls),
    path("test-fails/", page_fails),
    *site_urlpatterns,
]

__all__ = ["handler400", "handler404", "handler500", "urlpatterns"]
