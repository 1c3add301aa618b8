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
from ninja.openapi.schema import OpenAPISchema
from ninja.types import DictStrAny

from core.errors import ServiceError, TooManyRequests
from core.hostile_input import body_error_problem, database_refused_problem
from core.middleware import SERVER_ERROR_DETAIL, database_unavailable_response

logger = logging.getLogger(__name__)


class ErrorOut(Schema):
    detail: str


class ValidationErrorOut(ErrorOut):
    """A 422: the sentence, and each problem as pydantic reports it (`loc`, `msg`, `type`)."""

    errors: list[dict[str, Any]]


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
        # A body read only here (a PATCH's multipart), or a value PostgreSQL refused that the checks at
        # the edge (core.hostile_input, the schemas) let through: the request's fault, said as such.
        problem = body_error_problem(exc) or database_refused_problem(exc)
        if problem is not None:
            logger.warning("Refused %s %r: %s", request.method, request.path, exc, exc_info=exc)
            return api.create_response(request, {"detail": problem.detail}, status=problem.status)
        if isinstance(exc, SuspiciousOperation):
            logger.warning("Refused a suspicious request to %s: %s", request.path, exc)
            return api.create_response(request, {"detail": "The request could not be accepted."}, status=400)
        logger.exception("Unexpected error in %s %s", request.method, request.path)
        return api.create_response(request, {"detail": SERVER_ERROR_DETAIL}, status=500)


_ERROR_REF = "#/components/schemas/{model}"
# The answers any operation can give besides its own, so that clients (and the schema tests) know them.
_ANY_OPERATION = {
    400: "Bad Request: the request was refused unread (a NUL character in its text, a malformed body)",
    503: "Service Unavailable: the database did not answer in time; try again in a moment",
}
_WITH_INPUT = {422: "Unprocessable Content: a parameter or field is not valid (each problem in `errors`)"}
_WITH_BODY = {413: "Content Too Large: the body is over the size the site reads"}


def _error_response(description: str, model: type[Schema]) -> DictStrAny:
    schema = {"$ref": _ERROR_REF.format(model=model.__name__)}
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _form_nulls_drop(operation: DictStrAny, models: DictStrAny) -> None:
    """A multipart field is sent or left out; it cannot be null. Say so: django-ninja writes an optional
    `UploadedFile | None` as "a file or null", and a client reading that may send the file as a plain
    field (no filename), which Django does not read as a file."""
    form = (
        operation.get("requestBody", {}).get("content", {}).get("multipart/form-data", {}).get("schema", {})
    )
    if "$ref" in form:
        form = models.get(form["$ref"].rsplit("/", 1)[-1], {})
    for name, field in form.get("properties", {}).items():
        choices = [choice for choice in field.get("anyOf", ()) if choice != {"type": "null"}]
        if "anyOf" in field and len(choices) == 1:
            rest = {key: value for key, value in field.items() if key != "anyOf"}
            form["properties"][name] = {**choices[0], **rest}


class DocumentedAPI(NinjaAPI):
    """django-ninja whose OpenAPI schema lists, on every operation, the errors the whole API can answer
    (core.hostile_input, ninja's validation, a database that is down) beside those the operation
    declares itself."""

    def get_openapi_schema(
        self, *, path_prefix: str | None = None, path_params: DictStrAny | None = None
    ) -> OpenAPISchema:
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        models = schema.setdefault("components", {}).setdefault("schemas", {})
        for model in (ErrorOut, ValidationErrorOut):
            models.setdefault(model.__name__, model.model_json_schema(ref_template=_ERROR_REF))
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                _form_nulls_drop(operation, models)
                responses = operation.setdefault("responses", {})
                common: dict[int, tuple[str, type[Schema]]] = {
                    status: (text, ErrorOut) for status, text in _ANY_OPERATION.items()
                }
                if operation.get("parameters") or operation.get("requestBody"):
                    common |= {status: (text, ValidationErrorOut) for status, text in _WITH_INPUT.items()}
                if operation.get("requestBody"):
                    common |= {status: (text, ErrorOut) for status, text in _WITH_BODY.items()}
                for status, (text, shape) in common.items():
                    if status not in responses and str(status) not in responses:
                        responses[status] = _error_response(text, shape)
        return schema


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
