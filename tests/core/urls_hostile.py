"""The site's URLs plus two that hand PostgreSQL a value it refuses, as a missed check at the edge would."""

from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.urls import path

from config.urls import handler400, handler404, handler500
from config.urls import urlpatterns as site_urlpatterns
from core.api import DocumentedAPI, api_errors_install

test_api = DocumentedAPI(title="hostile input under test", urls_namespace="hostile-tests")
api_errors_install(api=test_api)


def _out_of_range() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT %s::smallint", [10**6])


@test_api.get("/out-of-range")
def api_out_of_range(request: HttpRequest) -> dict[str, str]:
    _out_of_range()
    return {"ok": "never"}


def page_out_of_range(request: HttpRequest) -> HttpResponse:
    _out_of_range()
    return HttpResponse("never")


urlpatterns = [
    path("api/hostile/", test_api.urls),
    path("hostile/out-of-range/", page_out_of_range),
    *site_urlpatterns,
]

__all__ = ["handler400", "handler404", "handler500", "urlpatterns"]
