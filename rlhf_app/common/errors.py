"""Domain errors raised by services and mapped to HTTP answers by one handler."""
from __future__ import annotations

from typing import Any


class DomainError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}


class NotFound(DomainError):
    status = 404
    code = "not_found"


class PermissionDenied(DomainError):
    status = 403
    code = "forbidden"


class Conflict(DomainError):
    status = 409
    code = "conflict"


class ValidationError(DomainError):
    """Bad input; ``errors`` maps each field (or ``file:line``) to a message naming the problem."""

    status = 422
    code = "invalid"

    def __init__(self, errors: dict[str, str], message: str = "The input is not valid.") -> None:
        super().__init__(message, {"fields": errors})
        self.errors = errors
