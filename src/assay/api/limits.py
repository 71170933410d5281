"""Bounded request bodies: JSON bodies are capped; only blob uploads may be large."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from assay.core.errors import AssayError, InvalidInput, PayloadTooLarge

_STREAMING_PREFIX = "/api/v1/blobs/"
MAX_HEADERS = 100
MAX_HEADER_BYTES = 32 * 1024


class BodyLimit:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and (
            len(scope["headers"]) > MAX_HEADERS
            or sum(len(k) + len(v) for k, v in scope["headers"]) > MAX_HEADER_BYTES
        ):  # the HTTP parser bounds one header's size, not their number
            too_many = InvalidInput(
                f"request headers are over the limit of {MAX_HEADERS} headers or "
                f"{MAX_HEADER_BYTES} bytes; send fewer or smaller headers"
            )
            await _refuse(send, too_many, status=431)
            return
        if scope["type"] != "http" or (
            scope["path"].startswith(_STREAMING_PREFIX)
            and scope["path"] != _STREAMING_PREFIX + "missing"
        ):
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        declared = headers.get(b"content-length", b"").decode("latin-1")
        if declared:
            if not declared.isdigit():
                bad = InvalidInput(f"invalid Content-Length {declared[:40]!r}")
                await _refuse(send, bad, status=400)
            elif int(declared) > self.max_bytes:
                await _refuse(send, _too_large(f"of {declared} bytes ", self.max_bytes))
            else:
                await self.app(scope, receive, send)  # the server holds it to that length
            return
        # No length declared (chunked): read the body up to the limit, then hand it on. The
        # refusal must be sent from here: raised inside the app, it would become a 400.
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            body += message.get("body", b"")
            if len(body) > self.max_bytes:
                await _refuse(send, _too_large("", self.max_bytes))
                return
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()  # later calls wait for the disconnect
            replayed = True
            return {"type": "http.request", "body": bytes(body), "more_body": False}

        await self.app(scope, replay, send)


def _too_large(what: str, limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"request body {what}is over the limit of {limit} bytes")


async def _refuse(send: Send, err: AssayError, status: int | None = None) -> None:
    body = json.dumps(err.to_body()).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status or err.http_status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
