"""Errors raised for people: each carries the HTTP status and a plain sentence.

Every app raises these; the REST API answers them as `{"detail": "<the sentence>"}` with the status.
"""

from __future__ import annotations


class ServiceError(Exception):
    status_code = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(ServiceError):
    status_code = 400


class PayloadTooLarge(ServiceError):
    status_code = 413


class UnsupportedMedia(ServiceError):
    status_code = 415


class NotAllowed(ServiceError):
    status_code = 403


class NotFound(ServiceError):
    status_code = 404


class Conflict(ServiceError):
    status_code = 409


class Unavailable(ServiceError):
    status_code = 503


class TooManyRequests(ServiceError):
    """A limit reached: answered 429 with `Retry-After` (seconds) beside the sentence."""

    status_code = 429

    def __init__(self, message: str, *, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s
