"""Runtimes: versioned environments (requirements + Python) that job versions run in."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from assay.api import schemas as s
from assay.api.deps import context, rule
from assay.db.models import Runtime
from assay.services import runtimes
from assay.services.context import Ctx

router = APIRouter(prefix="/runtimes", tags=["runtimes"])
Context = Depends(context, scope="function")


@router.post("", status_code=201, openapi_extra=rule("user"))
def create(body: s.RuntimeCreate, ctx: Ctx = Context) -> dict[str, Any]:
    """Add a version of the runtime (created with its first); the same contents as its
    latest version return that version (``created`` false)."""
    version, created = runtimes.create(ctx, body.name, body.requirements, body.python)
    runtime = ctx.session.get(Runtime, version.runtime_id)
    assert runtime is not None
    return {**runtimes.public(runtime, version), "created": created}


@router.get("", openapi_extra=rule("user"))
def list_all(ctx: Ctx = Context) -> list[dict[str, Any]]:
    return runtimes.list_(ctx)


@router.delete("/{name}", openapi_extra=rule("user"))
def delete(name: str, ctx: Ctx = Context) -> dict[str, str]:
    runtimes.delete(ctx, name)
    return {"deleted": name}
