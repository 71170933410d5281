"""Bounded request bodies: JSON bodies are capped; only blob uploads may be large."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from assay.core.errors import AssayError, InvalidInput, PayloadTooLarge

_STREAMING_PREFIX = "/api/v1/blobs/"


class BodyLimit:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or (
            scope["path"].startswith(_STREAMING_PREFIX)
            and scope["path"] != _STREAMING_PREFIX + "missing"
        ):
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        declared = headers.get(b"content-length", b"").decode("latin-1")
        if declared and (not declared.isdigit() or int(declared) > self.max_bytes):
            await _refuse(send, declared, self.max_bytes)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_bytes:
                raise PayloadTooLarge(f"request body is larger than {self.max_bytes} bytes")
            return message

        await self.app(scope, counted, send)


async def _refuse(send: Send, declared: str, limit: int) -> None:
    err: AssayError
    if declared.isdigit():
        err = PayloadTooLarge(f"request body of {declared} bytes is over the limit of {limit}")
    else:
        err = InvalidInput(f"invalid Content-Length {declared[:40]!r}")
    status = 413 if declared.isdigit() else 400
    body = json.dumps(err.to_body()).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
