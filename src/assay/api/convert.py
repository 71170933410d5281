"""ORM rows and service results -> response schemas."""

from __future__ import annotations

from assay.api import schemas as s
from assay.db.models import Branch, Commit, Folder, Tag
from assay.services.hub import AssetInfo, Resolved


def folder(f: Folder, owner: str, assets: int = 0) -> s.FolderPublic:
    return s.FolderPublic(
        type=f.type, name=f.name, owner=owner, assets=assets, created_at=f.created_at
    )


def asset(info: AssetInfo) -> s.AssetPublic:
    return s.AssetPublic(
        id=info.asset.id,
        type=info.type,
        folder=info.folder.name,
        name=info.asset.name,
        owner=info.owner,
        path=info.path,
        format=info.asset.format,
        created_at=info.asset.created_at,
    )


def commit(c: Commit) -> s.CommitPublic:
    return s.CommitPublic(
        id=c.id,
        parent=c.parent_id,
        message=c.message,
        author=c.author,
        created_at=c.created_at,
        file_count=c.file_count,
        total_size=c.total_size,
    )


def branch(b: Branch) -> s.RefPointer:
    return s.RefPointer(name=b.name, commit=b.commit_id, updated_at=b.updated_at)


def tag(t: Tag) -> s.RefPointer:
    return s.RefPointer(name=t.name, commit=t.commit_id, updated_at=t.created_at)


def resolved(r: Resolved) -> s.ResolvedPublic:
    return s.ResolvedPublic(
        asset=asset(r.info), commit=commit(r.commit), branch=r.branch, rev=r.rev, ref=r.full_ref
    )
