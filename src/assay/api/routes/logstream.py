"""A task's log as server-sent events: new text as it is written, until the version ended.

``GET /api/v1/jobs/{name}/versions/{version}/logs/stream?task=N&offset=K`` answers
``text/event-stream``. Each ``data:`` event is a JSON chunk ``{"data", "nextOffset"}`` with
``id: nextOffset``, so a client resumes with ``Last-Event-ID`` (or ``offset``); a comment
line every :data:`HEARTBEAT` seconds keeps proxies from closing a quiet stream; ``event: end``
follows once the version is final and the whole log was sent. Unknown jobs, versions and
tasks are the usual JSON 4xx before the stream starts.

No database session is held while it waits: each check opens its own (one short read
transaction), since on SQLite a long-lived one would block the scheduler's writes.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from assay.api.deps import caller, rule
from assay.core.errors import NotFound
from assay.services import jobs
from assay.services.context import Actor, Ctx, Instance
from assay.services.jobs_public import logs_chunk

router = APIRouter(prefix="/jobs", tags=["jobs"])

POLL = 0.5  # seconds between checks while nothing new was written
HEARTBEAT = 15.0  # seconds of silence before a comment line goes out


def _read(state: Instance, actor: Actor, name: str, version: str, task: int, offset: int) -> Any:
    """One check in its own short transaction: the next chunk from ``offset``."""
    with state.db.session() as session:
        ctx = Ctx(session, actor, state.store, state.settings, state.local_user is not None)
        _, v = jobs.get_version(ctx, name, version)
        if task not in {t.index for t in jobs.list_tasks(ctx, v)}:
            raise NotFound(f"{name}:{version} has no task {task}")
        return logs_chunk(ctx, v, task, offset)


def _event(chunk: dict[str, Any], kind: str | None = None) -> str:
    body = json.dumps({"data": chunk["data"], "nextOffset": chunk["nextOffset"]})
    head = f"event: {kind}\n" if kind else ""
    return f"{head}id: {chunk['nextOffset']}\ndata: {body}\n\n"


def _resume_offset(request: Request, offset: int) -> int:
    last = request.headers.get("last-event-id", "").strip()
    return int(last) if last.isdigit() and len(last) < 19 else offset


async def events(
    first: dict[str, Any],
    read: Callable[[int], Awaitable[dict[str, Any]]],
    disconnected: Callable[[], Awaitable[bool]],
) -> AsyncIterator[str]:
    """The event stream from a first chunk: ``read(offset)`` is one check (each in its own
    transaction); ends after ``event: end``, when the client has gone, or when the version
    was deleted (``event: error``)."""
    chunk = first
    quiet_since = time.monotonic()
    yield "retry: 2000\n\n"
    while True:
        if chunk["data"]:
            yield _event(chunk)
            quiet_since = time.monotonic()
        if chunk["complete"]:
            yield _event({"data": "", "nextOffset": chunk["nextOffset"]}, "end")
            return
        if not chunk["data"]:
            if time.monotonic() - quiet_since >= HEARTBEAT:
                yield ": keep-alive\n\n"
                quiet_since = time.monotonic()
            await asyncio.sleep(POLL)
        if await disconnected():
            return
        try:
            chunk = await read(chunk["nextOffset"])
        except NotFound as e:  # deleted while followed
            yield f"event: error\ndata: {json.dumps({'message': str(e)})}\n\n"
            return


@router.get(
    "/{name}/versions/{version}/logs/stream",
    openapi_extra=rule("user"),
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def stream(
    name: str,
    version: str,
    request: Request,
    task: int = Query(default=0, ge=0),
    offset: int = Query(default=0, ge=0),
    actor: Actor = Depends(caller),
) -> StreamingResponse:
    """Follow a task's log live (server-sent events); resume from ``Last-Event-ID``."""
    state: Instance = request.app.state.assay
    start = _resume_offset(request, offset)
    # Errors (no such job, version or task; another user's job) before the stream starts.
    first = await run_in_threadpool(_read, state, actor, name, version, task, start)

    return StreamingResponse(
        events(
            first,
            lambda at: run_in_threadpool(_read, state, actor, name, version, task, at),
            request.is_disconnected,
        ),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
