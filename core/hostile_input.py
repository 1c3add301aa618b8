"""Input no view should ever see, refused before any work with a 4xx and a sentence.

- A body Django cannot read, or one over its limits (DATA_UPLOAD_MAX_MEMORY_SIZE,
  DATA_UPLOAD_MAX_NUMBER_FIELDS, DATA_UPLOAD_MAX_NUMBER_FILES): parsed here, before the session,
  the CSRF check or any view, so a garbage multipart body costs no more than its parsing.
- Text no field may hold: a NUL character (PostgreSQL cannot store one in text, and psycopg raises a
  DataError that would end as a 500) or, in JSON, half of a surrogate pair (it cannot be encoded
  to UTF-8 at all). Checked in the path, the query string, form fields and JSON bodies; uploaded
  files are bytes and are not.

The API answers `{"detail": ...}`; pages answer the site's 400 page (with 413 for a body too large).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.db import DataError
from django.http import HttpRequest, HttpResponseBase, UnreadablePostError
from django.http.multipartparser import MultiPartParserError
from django.urls import get_resolver, get_urlconf
from django.utils.deprecation import MiddlewareMixin

from core.middleware import api_error_response, api_request_is

logger = logging.getLogger(__name__)

_FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")
_BODY_METHODS = ("POST", "PUT", "PATCH", "DELETE")
DATABASE_REFUSED_DETAIL = (
    "A value in the request is out of range or holds characters that cannot be stored; "
    "please check what you sent."
)


# What Django raises while it reads a body or a query string that is malformed or over its limits.
BODY_ERRORS = (
    RequestDataTooBig,
    TooManyFieldsSent,
    TooManyFilesSent,
    MultiPartParserError,
    UnreadablePostError,
)


@dataclass(frozen=True)
class InputProblem:
    status: int
    detail: str


def body_error_problem(exc: BaseException) -> InputProblem | None:
    """What to answer for an error Django raises while it reads a request's body or query string."""
    if isinstance(exc, RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 0
        return InputProblem(
            413,
            f"The request is too large: it holds more than {limit / 1_000_000:.1f} MB "
            "besides any uploaded files.",
        )
    if isinstance(exc, TooManyFieldsSent):
        limit = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS or 0
        return InputProblem(400, f"The request has more than {limit:,} fields; no form here takes that many.")
    if isinstance(exc, TooManyFilesSent):
        limit = settings.DATA_UPLOAD_MAX_NUMBER_FILES or 0
        return InputProblem(400, f"The request has more than {limit:,} files; no form here takes that many.")
    if isinstance(exc, MultiPartParserError):
        return InputProblem(
            400, "The form data could not be read: the body is not well-formed multipart/form-data."
        )
    if isinstance(exc, UnreadablePostError):
        return InputProblem(400, "The request body could not be read in full; please send it again.")
    return None


def _nul_in(text: str) -> bool:
    return "\x00" in text


def _not_unicode(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _strings(data: Any) -> Iterator[str]:
    """Every string in parsed JSON, keys included; iterative, as JSON can nest deeper than the stack."""
    pending = [data]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            yield item
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)


def _json_problem(body: bytes) -> InputProblem | None:
    # A NUL or a lone surrogate can enter JSON text only as a \u escape (a raw control character is
    # not valid JSON): a body without one needs no second parse.
    if b"\\u" not in body:
        return None
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return None  # not JSON: the endpoint answers that itself
    for text in _strings(data):
        if _nul_in(text):
            return InputProblem(400, "The JSON body holds a NUL character (\\u0000), which no text here may.")
        if _not_unicode(text):
            return InputProblem(
                400, "The JSON body holds half of a surrogate pair (such as \\ud800), which is not text."
            )
    return None


def _nul_problem(request: HttpRequest) -> InputProblem | None:
    if _nul_in(request.path):
        return InputProblem(400, "The address holds a NUL character (%00), which no address here contains.")
    sources: list[tuple[str, Any]] = [("query parameter", request.GET)]
    if request.method == "POST" and request.content_type in _FORM_TYPES:
        sources.append(("form field", request.POST))
    for kind, data in sources:
        for name, values in data.lists():
            if _nul_in(name) or any(_nul_in(value) for value in values):
                shown = name.replace("\x00", "\\x00")
                return InputProblem(
                    400, f"The {kind} {shown!r} holds a NUL character (\\x00), which no text here may."
                )
    return None


def request_input_problem(*, request: HttpRequest) -> InputProblem | None:
    """Why `request` must be refused unread, or None. Reading its form body here is no extra work:
    Django keeps what it parsed for the view."""
    try:
        problem = _nul_problem(request)
        # django-ninja reads any body that is not a form as JSON, whatever its content type.
        if (
            problem is None
            and request.method in _BODY_METHODS
            and api_request_is(request)
            and request.content_type not in _FORM_TYPES
        ):
            problem = _json_problem(request.body)
    except BODY_ERRORS as exc:
        return body_error_problem(exc)
    return problem


def database_refused_problem(exc: BaseException) -> InputProblem | None:
    """The backstop for a value that slipped past the checks at the edge and that PostgreSQL refused
    (a number out of its range, a character it cannot store): the request's fault, not the site's."""
    if isinstance(exc, DataError):
        return InputProblem(400, DATABASE_REFUSED_DETAIL)
    return None


def input_refused_response(request: HttpRequest, problem: InputProblem) -> HttpResponseBase:
    if api_request_is(request):
        return api_error_response(request, problem.status, detail=problem.detail)
    handler: Callable[..., HttpResponseBase] = get_resolver(get_urlconf()).resolve_error_handler(400)
    response = handler(request, ValueError(problem.detail))
    response.status_code = problem.status
    return response


class HostileInputMiddleware(MiddlewareMixin):
    """Refuse the input above before the session, CSRF or any view sees the request; and answer a
    DataError a view raised (PostgreSQL refusing a value) as the client's 400, not a 500."""

    def process_request(self, request: HttpRequest) -> HttpResponseBase | None:
        problem = request_input_problem(request=request)
        if problem is None:
            return None
        logger.warning("Refused %s %r: %s", request.method, request.path, problem.detail)
        return input_refused_response(request, problem)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponseBase | None:
        problem = body_error_problem(exception) or database_refused_problem(exception)
        if problem is None:
            return None
        logger.warning("Refused %s %r: %s", request.method, request.path, exception, exc_info=exception)
        return input_refused_response(request, problem)
