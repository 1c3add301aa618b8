"""Errors the arena raises for people: each carries the HTTP status and a plain message."""

from __future__ import annotations


class ArenaError(Exception):
    status_code = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(ArenaError):
    status_code = 400


class PayloadTooLarge(ArenaError):
    status_code = 413


class UnsupportedMedia(ArenaError):
    status_code = 415


class NotAllowed(ArenaError):
    status_code = 403


class NotFound(ArenaError):
    status_code = 404


class Conflict(ArenaError):
    status_code = 409


class Unavailable(ArenaError):
    status_code = 503
