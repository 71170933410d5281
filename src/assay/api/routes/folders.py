"""Folders: named groups of assets of one type, owned by a user."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from assay.api import convert
from assay.api import schemas as s
from assay.api.deps import context, rule
from assay.services import hub
from assay.services.context import Ctx

router = APIRouter(prefix="/folders", tags=["folders"])
Context = Depends(context, scope="function")


@router.post("", status_code=201, openapi_extra=rule("user"))
def create(body: s.FolderCreate, ctx: Ctx = Context) -> s.FolderPublic:
    return convert.folder(hub.create_folder(ctx, body.type, body.name), ctx.actor.name)


@router.get("", openapi_extra=rule("user"))
def list_(
    type: str | None = None, owner: str | None = None, ctx: Ctx = Context
) -> list[s.FolderPublic]:
    name = owner or ctx.actor.name
    return [convert.folder(f, name, n) for f, n in hub.list_folders(ctx, type, owner)]


@router.delete("/{type}/{name}", openapi_extra=rule("user"))
def delete(type: str, name: str, force: bool = False, ctx: Ctx = Context) -> s.Deleted:
    hub.delete_folder(ctx, type, name, force=force)
    return s.Deleted(deleted=f"{type}/{name}")
