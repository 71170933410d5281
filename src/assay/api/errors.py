"""Every failure leaves the API as JSON ``{"error": {"type", "message", "details"}}``."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, IntegrityError
from starlette.exceptions import HTTPException

from assay.core.errors import BY_STATUS, AssayError, Conflict, InvalidInput

log = logging.getLogger("assay.api")


def _describe(err: dict[str, Any]) -> str:
    where = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
    return f"{where}: {err.get('msg', 'invalid')}" if where else str(err.get("msg", "invalid"))


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

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error", exc_info=exc)
        body = AssayError("internal error; the server log has the details").to_body()
        return JSONResponse(body, status_code=500)
