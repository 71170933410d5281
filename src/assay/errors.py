"""The errors the SDK raises: one root, ``AssayError``, and its families."""

from assay.core.errors import (
    AssayError,
    Conflict,
    ConnectionFailed,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    PermissionDenied,
    Unauthenticated,
)

__all__ = [
    "AssayError",
    "Conflict",
    "ConnectionFailed",
    "InvalidInput",
    "NotFound",
    "PayloadTooLarge",
    "PermissionDenied",
    "Unauthenticated",
]
