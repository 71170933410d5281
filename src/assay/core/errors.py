"""One error root for the whole product.

Every failure a user can cause is an :class:`AssayError` of one *family*. The REST API maps each
family to exactly one HTTP status (``http_status``), the SDK maps the status and the ``type`` in
the JSON body back to the same class, and the CLI prints the message on one line with no
traceback. Add a family here, never an ad-hoc ``HTTPException`` in a route.
"""

from __future__ import annotations

from typing import Any, ClassVar


class AssayError(Exception):
    """Root of every error Assay reports to a user."""

    http_status: ClassVar[int] = 500
    exit_code: ClassVar[int] = 1

    def __init__(self, message: str, *, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}

    def to_body(self) -> dict[str, Any]:
        return {
            "error": {"type": type(self).__name__, "message": self.message, "details": self.details}
        }


class InvalidInput(AssayError):
    """The request is malformed: a bad name, path, metric or value."""

    http_status = 422
    exit_code = 2


class NotFound(AssayError):
    """The thing does not exist, or the caller may not know that it does."""

    http_status = 404
    exit_code = 3


class Conflict(AssayError):
    """The request clashes with the current state: a duplicate name, a moved branch head."""

    http_status = 409
    exit_code = 4


class Unauthenticated(AssayError):
    """No valid API key was presented."""

    http_status = 401
    exit_code = 5


class PermissionDenied(AssayError):
    """The caller is known but the action is reserved to someone else (an admin)."""

    http_status = 403
    exit_code = 6


class PayloadTooLarge(AssayError):
    """An upload or body is larger than the server accepts."""

    http_status = 413
    exit_code = 2


class ConnectionFailed(AssayError):
    """The client could not reach the server (raised by the SDK only)."""

    http_status = 503
    exit_code = 7


FAMILIES: dict[str, type[AssayError]] = {
    cls.__name__: cls
    for cls in (
        InvalidInput,
        NotFound,
        Conflict,
        Unauthenticated,
        PermissionDenied,
        PayloadTooLarge,
        ConnectionFailed,
    )
}
BY_STATUS: dict[int, type[AssayError]] = {cls.http_status: cls for cls in FAMILIES.values()}
BY_STATUS[400] = InvalidInput
