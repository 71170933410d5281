"""File contents, uploaded by hash before a commit names them."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool

from assay.api import schemas as s
from assay.api.deps import caller, context, rule
from assay.core.errors import PayloadTooLarge
from assay.services import blobs
from assay.services.context import Actor, Ctx, Instance

router = APIRouter(prefix="/blobs", tags=["blobs"])
Context = Depends(context, scope="function")


@router.post("/missing", openapi_extra=rule("user"))
def missing(body: s.BlobQuery, ctx: Ctx = Context) -> s.BlobMissing:
    return s.BlobMissing(missing=blobs.missing(ctx, body.hashes))


@router.put("/{sha256}", openapi_extra=rule("user"))
async def upload(sha256: str, request: Request, actor: Actor = Depends(caller)) -> s.BlobStored:
    """Stream the body into storage; it must hash to ``sha256`` or nothing is kept."""
    state: Instance = request.app.state.assay
    limit = state.settings.max_upload_bytes
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"file is larger than the server's limit of {limit} bytes")
    size = await blobs.receive(state.store, limit, sha256, request.stream())

    def record() -> None:
        with state.db.session() as session:
            blobs.record(Ctx(session, actor, state.store, state.settings), sha256, size)

    await run_in_threadpool(record)
    return s.BlobStored(sha256=sha256, size=size)
