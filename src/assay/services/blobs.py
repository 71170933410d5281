"""Uploading file contents before a commit names them."""

from __future__ import annotations

from collections.abc import AsyncIterator

from sqlalchemy import select

from assay.db.models import Blob, BlobGrant
from assay.services.context import Ctx
from assay.storage.blobs import BlobStore, check_sha256


def missing(ctx: Ctx, hashes: list[str]) -> list[str]:
    """The hashes the caller must still upload: unknown ones, and ones they never proved to
    hold (so a hash alone never grants access to someone else's file)."""
    wanted = {check_sha256(h) for h in hashes}
    held = set(
        ctx.session.scalars(
            select(BlobGrant.sha256).where(
                BlobGrant.user_id == ctx.actor.id, BlobGrant.sha256.in_(wanted)
            )
        )
    )
    return sorted(wanted - held)


async def receive(
    store: BlobStore, max_bytes: int, sha256: str, chunks: AsyncIterator[bytes]
) -> int:
    """Stream an upload into storage, checking it hashes to ``sha256``; return its size.

    Runs outside any database transaction: only ``record`` touches the database."""
    check_sha256(sha256)
    _, size = await store.put_stream(chunks, max_bytes=max_bytes, expected_sha256=sha256)
    return size


def record(ctx: Ctx, sha256: str, size: int) -> None:
    """Remember the blob and that the caller holds it (idempotent)."""
    if ctx.session.get(Blob, sha256) is None:
        ctx.session.add(Blob(sha256=sha256, size=size))
        ctx.session.flush()
    if ctx.session.get(BlobGrant, (ctx.actor.id, sha256)) is None:
        ctx.session.add(BlobGrant(user_id=ctx.actor.id, sha256=sha256))
