"""Assets and their history: branches, tags, commits and files."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import quote

from fastapi import APIRouter, Depends
from fastapi.responses import StreamingResponse

from assay.api import convert
from assay.api import schemas as s
from assay.api.deps import context, rule
from assay.core.errors import NotFound
from assay.core.names import check_path
from assay.core.refs import parse_ref, parse_rev
from assay.services import history, hub
from assay.services.context import Ctx

router = APIRouter(prefix="/assets", tags=["assets"])
Context = Depends(context, scope="function")


@router.post("", status_code=201, openapi_extra=rule("user"))
def create(body: s.AssetCreate, ctx: Ctx = Context) -> s.AssetPublic:
    return convert.asset(hub.create_asset(ctx, body.type, body.folder, body.name, body.format))


@router.get("", openapi_extra=rule("user"))
def list_(
    type: str, folder: str, owner: str | None = None, ctx: Ctx = Context
) -> list[s.AssetPublic]:
    f = hub.get_folder(ctx, type, folder, owner)
    name = owner or ctx.actor.name
    return [
        convert.asset(hub.AssetInfo(a, f, name)) for a in hub.list_assets(ctx, type, folder, owner)
    ]


@router.get("/lookup", openapi_extra=rule("user"))
def lookup(ref: str, type: str | None = None, ctx: Ctx = Context) -> s.ResolvedPublic:
    """Resolve a ref string (SPEC §1 syntax) to its asset and commit."""
    return convert.resolved(hub.resolve(ctx, parse_ref(ref, type_hint=type)))


@router.get("/{asset_id}", openapi_extra=rule("user"))
def get(asset_id: str, ctx: Ctx = Context) -> s.AssetPublic:
    return convert.asset(hub.get_asset(ctx, asset_id))


@router.delete("/{asset_id}", openapi_extra=rule("user"))
def delete(asset_id: str, ctx: Ctx = Context) -> s.Deleted:
    return s.Deleted(deleted=hub.delete_asset(ctx, asset_id).path)


@router.get("/{asset_id}/resolve", openapi_extra=rule("user"))
def resolve(asset_id: str, rev: str = "main", ctx: Ctx = Context) -> s.ResolvedPublic:
    return convert.resolved(hub.resolve_in(ctx, hub.get_asset(ctx, asset_id), parse_rev(rev)))


# ---- branches and tags ---------------------------------------------------------------------


@router.get("/{asset_id}/branches", openapi_extra=rule("user"))
def list_branches(asset_id: str, ctx: Ctx = Context) -> list[s.RefPointer]:
    return [convert.branch(b) for b in history.list_branches(ctx, hub.get_asset(ctx, asset_id))]


@router.post("/{asset_id}/branches", status_code=201, openapi_extra=rule("user"))
def create_branch(asset_id: str, body: s.BranchCreate, ctx: Ctx = Context) -> s.RefPointer:
    info = hub.get_asset(ctx, asset_id)
    return convert.branch(history.create_branch(ctx, info, body.name, parse_rev(body.source)))


@router.delete("/{asset_id}/branches/{name}", openapi_extra=rule("user"))
def delete_branch(asset_id: str, name: str, ctx: Ctx = Context) -> s.Deleted:
    history.delete_branch(ctx, hub.get_asset(ctx, asset_id), name)
    return s.Deleted(deleted=name)


@router.get("/{asset_id}/tags", openapi_extra=rule("user"))
def list_tags(asset_id: str, ctx: Ctx = Context) -> list[s.RefPointer]:
    return [convert.tag(t) for t in history.list_tags(ctx, hub.get_asset(ctx, asset_id))]


@router.post("/{asset_id}/tags", status_code=201, openapi_extra=rule("user"))
def create_tag(asset_id: str, body: s.TagCreate, ctx: Ctx = Context) -> s.RefPointer:
    info = hub.get_asset(ctx, asset_id)
    return convert.tag(history.create_tag(ctx, info, body.name, parse_rev(body.ref)))


@router.delete("/{asset_id}/tags/{name}", openapi_extra=rule("user"))
def delete_tag(asset_id: str, name: str, ctx: Ctx = Context) -> s.Deleted:
    history.delete_tag(ctx, hub.get_asset(ctx, asset_id), name)
    return s.Deleted(deleted=name)


# ---- commits and files ---------------------------------------------------------------------


@router.get("/{asset_id}/commits", openapi_extra=rule("user"))
def list_commits(asset_id: str, rev: str = "main", ctx: Ctx = Context) -> list[s.CommitPublic]:
    r = hub.resolve_in(ctx, hub.get_asset(ctx, asset_id), parse_rev(rev))
    return [convert.commit(c) for c in history.history_of(ctx, r.info, r.commit)]


@router.post("/{asset_id}/commits", status_code=201, openapi_extra=rule("user"))
def create_commit(asset_id: str, body: s.CommitCreate, ctx: Ctx = Context) -> s.CommitPublic:
    info = hub.get_asset(ctx, asset_id)
    add = [history.FileEntry(e.path, e.sha256, e.size) for e in body.add]
    commit = history.create_commit(
        ctx, info, body.branch, body.message, add, body.delete, body.parent
    )
    return convert.commit(commit)


@router.get("/{asset_id}/files", openapi_extra=rule("user"))
def list_files(asset_id: str, rev: str = "main", ctx: Ctx = Context) -> list[s.FileEntryModel]:
    r = hub.resolve_in(ctx, hub.get_asset(ctx, asset_id), parse_rev(rev))
    files = history.read_manifest(ctx, r.commit)
    return [
        s.FileEntryModel(path=e.path, sha256=e.sha256, size=e.size)
        for e in sorted(files.values(), key=lambda e: e.path)
    ]


@router.get(
    "/{asset_id}/files/{path:path}", openapi_extra=rule("user"), response_class=StreamingResponse
)
def download(asset_id: str, path: str, rev: str = "main", ctx: Ctx = Context) -> StreamingResponse:
    """One file's bytes, always as an attachment: never rendered from our origin."""
    r = hub.resolve_in(ctx, hub.get_asset(ctx, asset_id), parse_rev(rev))
    entry = history.read_manifest(ctx, r.commit).get(check_path(path))
    if entry is None:
        raise NotFound(f"commit {r.commit.id[:8]} of {r.info.title} has no file {path!r}")
    chunks: Iterator[bytes] = ctx.store.iter_chunks(entry.sha256)
    name = quote(path.rsplit("/", 1)[-1])
    return StreamingResponse(
        chunks,
        media_type="application/octet-stream",
        headers={
            "Content-Length": str(entry.size),
            "Content-Disposition": f"attachment; filename*=UTF-8''{name}",
            "X-Content-Type-Options": "nosniff",
            "ETag": f'"{entry.sha256}"',
        },
    )
