"""Every failure leaves the API as JSON ``{"error": {"type", "message", "details"}}``."""

from __future__ import annotations

import errno
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from starlette.exceptions import HTTPException

from assay.core.errors import BY_STATUS, AssayError, Conflict, InvalidInput

log = logging.getLogger("assay.api")


def _describe(err: dict[str, Any]) -> str:
    where = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
    return f"{where}: {err.get('msg', 'invalid')}" if where else str(err.get("msg", "invalid"))


def _unavailable(exc: BaseException) -> tuple[int, str, str] | None:
    """(status, message, type) for a resource that ran out or is briefly unavailable: the
    request changed nothing (blobs are written to a temporary file and renamed; database
    writes roll back), so the client may retry once there is room or the lock is gone."""
    text = str(exc).lower()
    if (isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)) or (
        isinstance(exc, OperationalError) and "database or disk is full" in text
    ):
        return 507, "the server's storage is full; nothing was written", "InsufficientStorage"
    if isinstance(exc, OperationalError) and "database is locked" in text:
        return 503, "the database is busy; nothing was written, retry", "Unavailable"
    return None


def install(app: FastAPI) -> None:
    @app.exception_handler(AssayError)
    async def _assay(_: Request, exc: AssayError) -> JSONResponse:
        return JSONResponse(exc.to_body(), status_code=exc.http_status)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = list(exc.errors())
        message = "; ".join(_describe(e) for e in errors[:5]) or "invalid request"
        body = InvalidInput(f"invalid request: {message}").to_body()
        return JSONResponse(body, status_code=InvalidInput.http_status)

    @app.exception_handler(HTTPException)
    async def _http(_: Request, exc: HTTPException) -> JSONResponse:
        family = BY_STATUS.get(exc.status_code, AssayError)
        body = family(str(exc.detail)).to_body()
        return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(IntegrityError)
    async def _integrity(_: Request, exc: IntegrityError) -> JSONResponse:
        # A backstop: services check first, so this means two writers raced.
        body = Conflict("the change conflicts with existing data; look again and retry").to_body()
        return JSONResponse(body, status_code=Conflict.http_status)

    @app.exception_handler(DataError)
    async def _data(_: Request, exc: DataError) -> JSONResponse:
        body = InvalidInput("a value is out of range for storage").to_body()
        return JSONResponse(body, status_code=InvalidInput.http_status)

    @app.exception_handler(OSError)
    @app.exception_handler(OperationalError)
    async def _resource(request: Request, exc: Exception) -> JSONResponse:
        unavailable = _unavailable(exc)
        if unavailable is None:
            return await _unexpected(request, exc)
        log.warning("%s: %s", unavailable[1], exc)  # a full disk, a database locked too long
        body = AssayError(unavailable[1]).to_body()
        body["error"]["type"] = unavailable[2]
        return JSONResponse(body, status_code=unavailable[0], headers={"Retry-After": "5"})

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error", exc_info=exc)
        body = AssayError("internal error; the server log has the details").to_body()
        return JSONResponse(body, status_code=500)
