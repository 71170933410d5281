"""``Idempotency-Key`` on creates: a retried create returns the first response, never a copy.

Every ``POST`` route that answers 201 (it makes a record) accepts the header, but for
``SECRET_ANSWERS`` (creating a user answers with its API key, which is not stored anywhere;
a repeat is refused as a duplicate name, so it cannot duplicate either). The first
request with a key claims it in the database (a row unique per user and key), runs, and
stores its 2xx response; a repeat of the key by the same user, with the same method, path,
query and body, gets that stored response (status and body byte for byte) and creates
nothing. The same key with another request is refused (422); a repeat that arrives while the
first is still running waits for it a few seconds, then gets a 409 "in progress". A failed
first request (4xx/5xx) releases its key, so a corrected retry may use it again. Keys are
per user and expire after 24 hours.

The claims live in the instance's database, so they hold across restarts and across servers
sharing one PostgreSQL database; two servers racing on one key meet on the unique
constraint. One gap is stated: if the server dies after the record's transaction commits and
before the response is stored, the key is released after ``STALE`` and a later retry creates
the record again.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import anyio
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from assay.core.errors import AssayError, Conflict, InvalidInput
from assay.db.models import IdempotencyKey, utcnow
from assay.services import users
from assay.services.context import Instance

HEADER = "idempotency-key"
REPLAYED = b"idempotency-replayed"
EXPIRY = timedelta(hours=24)
# A claim still unanswered after this long belongs to a request that died with its server.
STALE = timedelta(minutes=10)
WAIT_S = 5.0  # how long a repeat waits for the first request before answering 409
_PURGE_EVERY_S = 600.0
# Creates whose answer holds a secret, which is never written to the database: a new user's
# API key. The header is ignored there; a repeat is refused as a duplicate name instead.
SECRET_ANSWERS = frozenset({"/api/v1/users"})


@dataclass(frozen=True)
class Stored:
    status: int
    content_type: str | None
    body: bytes


class Busy(Exception):
    pass


class NotSignedIn(Exception):
    pass


def _valid_key(key: str) -> bool:
    return 1 <= len(key) <= 255 and all(0x21 <= ord(c) <= 0x7E for c in key)


def _fingerprint(scope: Scope, body: bytes) -> str:
    digest = hashlib.sha256()
    for part in (scope["method"].encode(), scope["path"].encode(), scope["query_string"], body):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


class Idempotency:
    """ASGI middleware guarding the routes that ``schema`` (the app's OpenAPI) says create."""

    def __init__(self, app: ASGIApp, schema: Callable[[], dict[str, Any]]) -> None:
        self.app = app
        self.schema = schema
        self._creates: re.Pattern[str] | None = None
        self._purged_at = 0.0

    def _is_create(self, scope: Scope) -> bool:
        if self._creates is None:
            # From the app's OpenAPI table: every POST whose success is 201 Created.
            paths = [
                re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(path))
                for path, operations in self.schema()["paths"].items()
                if "201" in operations.get("post", {}).get("responses", {})
                and path not in SECRET_ANSWERS
            ]
            self._creates = re.compile("|".join(f"(?:{p})" for p in paths) or "(?!)")
        return self._creates.fullmatch(scope["path"]) is not None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        key = Headers(scope=scope).get(HEADER)
        if key is None or not self._is_create(scope):
            await self.app(scope, receive, send)
            return
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        state: Instance = scope["app"].state.assay
        headers = Headers(scope=scope)
        if not _valid_key(key):
            if not await run_in_threadpool(_signed_in, state, headers):
                await self.app(scope, _replay(bytes(body), receive), send)  # its 401 first
                return
            bad = InvalidInput(
                "invalid Idempotency-Key: 1 to 255 printable ASCII characters without spaces"
            )
            await _error(send, bad)
            return
        fingerprint = _fingerprint(scope, bytes(body))
        purge = time.monotonic() - self._purged_at > _PURGE_EVERY_S
        if purge:
            self._purged_at = time.monotonic()
        deadline = time.monotonic() + WAIT_S
        while True:
            try:
                claim = await run_in_threadpool(
                    _claim, state, headers, key, fingerprint, scope, purge
                )
                break
            except NotSignedIn:  # the route itself answers 401
                await self.app(scope, _replay(bytes(body), receive), send)
                return
            except Busy:
                if time.monotonic() > deadline:
                    await _error(
                        send,
                        Conflict(
                            "a request with this Idempotency-Key is still in progress: "
                            "retry it in a moment",
                            details={"idempotency_key": key, "in_progress": True},
                        ),
                    )
                    return
                await anyio.sleep(0.1)
        if isinstance(claim, Stored):
            await _send(send, claim, replayed=True)
            return
        if claim is None:
            mismatch = InvalidInput(
                "this Idempotency-Key was already used with a different request "
                "(method, path or body): use a new key for a new request",
                details={"idempotency_key": key},
            )
            await _error(send, mismatch)
            return
        await self._run(scope, _replay(bytes(body), receive), send, state, claim)

    async def _run(
        self, scope: Scope, receive: Receive, send: Send, state: Instance, claim_id: str
    ) -> None:
        """Run the create, keep its response if it succeeded, then send it."""
        start: Message | None = None
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        try:
            await self.app(scope, receive, capture)
        except BaseException:
            with anyio.CancelScope(shield=True):  # released even when the request is cancelled
                await run_in_threadpool(_release, state, claim_id)
            raise
        if start is None:
            await run_in_threadpool(_release, state, claim_id)
            return
        body = b"".join(chunks)
        status = int(start["status"])
        if 200 <= status < 300:
            headers = Headers(raw=start.get("headers", []))
            stored = Stored(status, headers.get("content-type"), body)
            await run_in_threadpool(_complete, state, claim_id, stored)
        else:
            await run_in_threadpool(_release, state, claim_id)
        await send(start)
        await send({"type": "http.response.body", "body": body})


def _replay(body: bytes, receive: Receive) -> Receive:
    replayed = False

    async def again() -> Message:
        nonlocal replayed
        if replayed:
            return await receive()  # later calls wait for the disconnect
        replayed = True
        return {"type": "http.request", "body": body, "more_body": False}

    return again


def _user_id(state: Instance, session: Session, headers: Headers) -> str:
    """The caller's user id, by the same rules as the routes' authentication."""
    key = headers.get("authorization", "")
    api_key = key[7:].strip() if key.lower().startswith("bearer ") else headers.get("x-api-key")
    if api_key:
        user = users.authenticate(session, api_key)
        if user is not None:
            return user.id
    elif state.local_user is not None:
        user, _ = users.ensure_user(session, state.local_user, admin=True)
        return user.id
    raise NotSignedIn


def _signed_in(state: Instance, headers: Headers) -> bool:
    with state.db.session() as session:
        try:
            _user_id(state, session, headers)
        except NotSignedIn:
            return False
    return True


def _claim(
    state: Instance, headers: Headers, key: str, fingerprint: str, scope: Scope, purge: bool
) -> Stored | str | None:
    """Claim ``key`` for this request: its id when claimed, the stored response of an earlier
    identical request, None when the key was used with another request; raises Busy while
    the earlier request is still running, NotSignedIn for a request without a valid key."""
    for _ in range(5):
        try:
            with state.db.session() as session:  # one transaction: who, then the claim
                user_id = _user_id(state, session, headers)
                now = utcnow()
                if purge:
                    session.execute(
                        delete(IdempotencyKey).where(IdempotencyKey.created_at < now - EXPIRY)
                    )
                row = session.scalar(
                    select(IdempotencyKey).where(
                        IdempotencyKey.user_id == user_id, IdempotencyKey.key == key
                    )
                )
                if row is not None:
                    expired = row.created_at < now - EXPIRY
                    stale = row.status is None and row.created_at < now - STALE
                    if expired or stale:
                        session.delete(row)
                        session.flush()
                    elif row.fingerprint != fingerprint:
                        return None
                    elif row.status is None:
                        raise Busy
                    else:
                        return Stored(row.status, row.content_type, row.body or b"")
                claim = IdempotencyKey(
                    user_id=user_id,
                    key=key,
                    fingerprint=fingerprint,
                    method=scope["method"],
                    path=scope["path"][:2048],
                    created_at=now,
                )
                session.add(claim)
                session.flush()
                return claim.id
        except IntegrityError:
            continue  # another request claimed it first: look again
    raise Busy


def _complete(state: Instance, claim_id: str, stored: Stored) -> None:
    with state.db.session() as session:
        row = session.get(IdempotencyKey, claim_id)
        if row is not None:
            row.status = stored.status
            row.content_type = stored.content_type
            row.body = stored.body


def _release(state: Instance, claim_id: str) -> None:
    with state.db.session() as session:
        session.execute(delete(IdempotencyKey).where(IdempotencyKey.id == claim_id))


async def _send(send: Send, stored: Stored, *, replayed: bool) -> None:
    headers = [(b"content-length", str(len(stored.body)).encode())]
    if stored.content_type:
        headers.append((b"content-type", stored.content_type.encode("latin-1")))
    if replayed:
        headers.append((REPLAYED, b"true"))
    await send({"type": "http.response.start", "status": stored.status, "headers": headers})
    await send({"type": "http.response.body", "body": stored.body})


async def _error(send: Send, err: AssayError) -> None:
    body = json.dumps(err.to_body()).encode()
    await _send(send, Stored(err.http_status, "application/json", body), replayed=False)
