"""The REST API's error shape (every error is `{"detail": "<a sentence for people>"}`) and its docs page."""

from __future__ import annotations

import json
import logging
from typing import Any

from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.db import OperationalError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from ninja import NinjaAPI, Schema
from ninja.errors import HttpError, ValidationError
from ninja.openapi.docs import Swagger

from core.errors import ServiceError, TooManyRequests
from core.middleware import SERVER_ERROR_DETAIL, database_unavailable_response

logger = logging.getLogger(__name__)


class ErrorOut(Schema):
    detail: str


def _field_name(location: object) -> str:
    parts = (
        [str(part) for part in location if part not in ("body", "query", "path", "form", "payload")]
        if isinstance(location, (list, tuple))
        else [str(location)]
    )
    return ".".join(parts) or "request"


def api_errors_install(*, api: NinjaAPI) -> None:
    """Answer every error the API's endpoints raise in the one shape."""

    @api.exception_handler(ServiceError)
    def _service_error(request: HttpRequest, exc: ServiceError) -> HttpResponse:
        response = api.create_response(request, {"detail": exc.message}, status=exc.status_code)
        if isinstance(exc, TooManyRequests):
            response["Retry-After"] = str(exc.retry_after_s)
        return response

    @api.exception_handler(ValidationError)
    def _validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
        problems = [
            f"{_field_name(error.get('loc', ()))}: {error.get('msg', 'invalid')}" for error in exc.errors
        ]
        detail = "The request is not valid — " + "; ".join(problems)
        return api.create_response(request, {"detail": detail, "errors": exc.errors}, status=422)

    @api.exception_handler(HttpError)
    def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        return api.create_response(request, {"detail": str(exc)}, status=exc.status_code)

    # django-ninja's own catch-all re-raises (Django's HTML 500 page) or, with DEBUG on, answers the
    # traceback as plain text. Here Django's own exceptions keep the status Django gives them; anything
    # else is logged with its traceback and answered as a sentence that gives nothing away.
    @api.exception_handler(Exception)
    def _unexpected_error(request: HttpRequest, exc: Exception) -> HttpResponse:
        if isinstance(exc, PermissionDenied):
            return api.create_response(request, {"detail": "You may not do this."}, status=403)
        if isinstance(exc, OperationalError):
            return database_unavailable_response(request, exc)
        if isinstance(exc, SuspiciousOperation):
            logger.warning("Refused a suspicious request to %s: %s", request.path, exc)
            return api.create_response(request, {"detail": "The request could not be accepted."}, status=400)
        logger.exception("Unexpected error in %s %s", request.method, request.path)
        return api.create_response(request, {"detail": SERVER_ERROR_DETAIL}, status=500)


class OfflineSwagger(Swagger):
    """django-ninja's Swagger UI from our own static files, with ninja not an installed app, inside the
    site's page (its header, `lang`, viewport and dark mode; templates/api_docs.html).

    (ninja serves its bundled files only when "ninja" is in INSTALLED_APPS, else it links a CDN,
    which an offline site cannot reach; the settings add its template and static folders instead.)
    """

    template = "api_docs.html"

    def render_page(self, request: HttpRequest, api: NinjaAPI, **kwargs: Any) -> HttpResponse:
        self.settings["url"] = self.get_openapi_url(api, kwargs)
        # Deep links put a link inside each operation's toggle button: a control inside a control.
        self.settings["deepLinking"] = False
        context = {"swagger_settings": json.dumps(self.settings, indent=1), "api": api, "add_csrf": False}
        return render(request, self.template, context)
