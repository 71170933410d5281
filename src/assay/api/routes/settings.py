"""The caller's own console settings (column layouts and the like), by key."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Depends

from assay.api import schemas as s
from assay.api.deps import context, rule
from assay.db.models import UserSetting
from assay.services import settings
from assay.services.context import Ctx

router = APIRouter(prefix="/me/settings", tags=["settings"])
Context = Depends(context, scope="function")


def _public(row: UserSetting) -> dict[str, Any]:
    return {
        "key": row.key,
        "value": row.value,
        "updatedAt": row.updated_at.isoformat().replace("+00:00", "Z"),
    }


@router.get("", openapi_extra=rule("user"))
def list_(ctx: Ctx = Context) -> list[dict[str, Any]]:
    return [_public(r) for r in settings.keys(ctx)]


@router.get("/{key}", openapi_extra=rule("user"))
def get(key: str, ctx: Ctx = Context) -> dict[str, Any]:
    return _public(settings.get(ctx, key))


@router.put("/{key}", openapi_extra=rule("user"))
def put(key: str, value: Any = Body(...), ctx: Ctx = Context) -> dict[str, Any]:
    """Store a JSON object (at most 16 KiB, 8 levels deep) under ``key``, replacing it."""
    return _public(settings.put(ctx, key, value))


@router.delete("/{key}", openapi_extra=rule("user"))
def delete(key: str, ctx: Ctx = Context) -> s.Deleted:
    return s.Deleted(deleted=settings.delete(ctx, key))
