"""Branches, tags and commits of one asset.

A commit is immutable and content-addressed: its id is the SHA-256 of a canonical JSON
document holding the asset id, the parent commit, the SHA-256 of the file manifest, the
message, the author and the time. The manifest (path -> file hash and size, sorted by path) is
itself a blob in storage. A branch is a movable pointer, moved only by compare-and-set on its
current head, so two concurrent commits never lose each other (see ``create_commit``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import select, update

from assay.core.errors import Conflict, InvalidInput, NotFound
from assay.core.names import check_name, check_path
from assay.core.refs import Rev
from assay.db.models import Asset, Blob, BlobGrant, Branch, Commit, Tag, utcnow
from assay.services.context import Ctx
from assay.storage.blobs import BlobStore, check_sha256

if TYPE_CHECKING:
    from assay.services.hub import AssetInfo

MAIN = "main"
MAX_CAS_ATTEMPTS = 20


@dataclass(frozen=True)
class FileEntry:
    path: str
    sha256: str
    size: int


Manifest = dict[str, FileEntry]


def _canonical(doc: object) -> bytes:
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def read_manifest(ctx: Ctx, commit: Commit) -> Manifest:
    return load_manifest(ctx.store, commit.manifest_sha256)


def load_manifest(store: BlobStore, manifest_sha256: str) -> Manifest:
    raw = json.loads(store.read_bytes(manifest_sha256))
    return {p: FileEntry(p, sha, size) for p, sha, size in raw["files"]}


def _write_commit(
    ctx: Ctx, asset_id: str, parent: str | None, files: Manifest, message: str
) -> Commit:
    entries = [[e.path, e.sha256, e.size] for e in sorted(files.values(), key=lambda e: e.path)]
    manifest_sha = ctx.store.put_bytes(_canonical({"files": entries}))
    now = utcnow()
    header = {
        "asset": asset_id,
        "parent": parent,
        "manifest": manifest_sha,
        "message": message,
        "author": ctx.actor.name,
        "time": now.isoformat(),
    }
    commit = Commit(
        id=hashlib.sha256(_canonical(header)).hexdigest(),
        asset_id=asset_id,
        parent_id=parent,
        message=message,
        author=ctx.actor.name,
        created_at=now,
        manifest_sha256=manifest_sha,
        file_count=len(files),
        total_size=sum(e.size for e in files.values()),
    )
    ctx.session.add(commit)
    ctx.session.flush()
    return commit


def init_asset(ctx: Ctx, asset: Asset) -> Commit:
    """Every asset starts with an empty initial commit on ``main``."""
    commit = _write_commit(ctx, asset.id, None, {}, "Initial commit")
    ctx.session.add(Branch(asset_id=asset.id, name=MAIN, commit_id=commit.id))
    ctx.session.flush()
    return commit


# ---- resolving revisions -------------------------------------------------------------------


def _branch(ctx: Ctx, asset_id: str, name: str) -> Branch | None:
    return ctx.session.get(Branch, (asset_id, name))


def _names(ctx: Ctx, model: type[Branch] | type[Tag], asset_id: str) -> list[str]:
    return list(
        ctx.session.scalars(
            select(model.name).where(model.asset_id == asset_id).order_by(model.name)
        )
    )


def _commit_by_prefix(ctx: Ctx, info: AssetInfo, prefix: str) -> Commit | None:
    rows = list(
        ctx.session.scalars(
            select(Commit)
            .where(Commit.asset_id == info.asset.id, Commit.id.startswith(prefix, autoescape=True))
            .order_by(Commit.id)
            .limit(6)
        )
    )
    if len(rows) > 1:
        shown = ", ".join(c.id[:12] for c in rows[:5]) + (", ..." if len(rows) > 5 else "")
        raise InvalidInput(
            f"commit prefix {prefix!r} of {info.title} is ambiguous: it matches {shown}; "
            "give more characters"
        )
    return rows[0] if rows else None


def resolve_rev(ctx: Ctx, info: AssetInfo, rev: Rev) -> tuple[Commit, str | None]:
    """Return the commit a revision names and the branch it was reached through, if any."""
    asset_id = info.asset.id
    if rev.kind in ("branch", "bare"):
        branch = _branch(ctx, asset_id, rev.value)
        if branch is not None:
            commit = ctx.session.get(Commit, branch.commit_id)
            assert commit is not None
            return commit, branch.name
    if rev.kind == "tag":
        tag = ctx.session.get(Tag, (asset_id, rev.value))
        if tag is not None:
            commit = ctx.session.get(Commit, tag.commit_id)
            assert commit is not None
            return commit, None
    if rev.could_be_commit:
        commit = _commit_by_prefix(ctx, info, rev.value)
        if commit is not None:
            return commit, None
    what = {"branch": "branch", "tag": "tag", "bare": "branch or commit"}[rev.kind]
    branches = ", ".join(_names(ctx, Branch, asset_id)) or "none"
    tags = ", ".join(_names(ctx, Tag, asset_id)) or "none"
    raise NotFound(f"{info.title} has no {what} {rev.value!r} (branches: {branches}; tags: {tags})")


# ---- branches and tags ---------------------------------------------------------------------


def create_branch(ctx: Ctx, info: AssetInfo, name: str, source: Rev) -> Branch:
    check_name(name, "branch")
    if _branch(ctx, info.asset.id, name) is not None:
        raise Conflict(f"{info.title} already has a branch {name!r}")
    commit, _ = resolve_rev(ctx, info, source)
    branch = Branch(asset_id=info.asset.id, name=name, commit_id=commit.id)
    ctx.session.add(branch)
    ctx.session.flush()
    return branch


def delete_branch(ctx: Ctx, info: AssetInfo, name: str) -> None:
    if name == MAIN:
        raise InvalidInput(f"the branch 'main' of {info.title} cannot be deleted")
    branch = _branch(ctx, info.asset.id, check_name(name, "branch"))
    if branch is None:
        raise NotFound(f"{info.title} has no branch {name!r}")
    ctx.session.delete(branch)


def list_branches(ctx: Ctx, info: AssetInfo) -> list[Branch]:
    return list(
        ctx.session.scalars(
            select(Branch).where(Branch.asset_id == info.asset.id).order_by(Branch.name)
        )
    )


def create_tag(ctx: Ctx, info: AssetInfo, name: str, source: Rev) -> Tag:
    check_name(name, "tag")
    if ctx.session.get(Tag, (info.asset.id, name)) is not None:
        raise Conflict(f"{info.title} already has a tag {name!r}")
    commit, _ = resolve_rev(ctx, info, source)
    tag = Tag(asset_id=info.asset.id, name=name, commit_id=commit.id)
    ctx.session.add(tag)
    ctx.session.flush()
    return tag


def delete_tag(ctx: Ctx, info: AssetInfo, name: str) -> None:
    tag = ctx.session.get(Tag, (info.asset.id, check_name(name, "tag")))
    if tag is None:
        raise NotFound(f"{info.title} has no tag {name!r}")
    ctx.session.delete(tag)


def list_tags(ctx: Ctx, info: AssetInfo) -> list[Tag]:
    return list(
        ctx.session.scalars(select(Tag).where(Tag.asset_id == info.asset.id).order_by(Tag.name))
    )


def tags_by_commit(ctx: Ctx, commit_ids: Iterable[str]) -> dict[str, list[str]]:
    """Tags pointing at each of the commits, in one query."""
    ids = set(commit_ids)
    out: dict[str, list[str]] = {c: [] for c in ids}
    if ids:
        for cid, name in ctx.session.execute(
            select(Tag.commit_id, Tag.name).where(Tag.commit_id.in_(ids)).order_by(Tag.name)
        ):
            out[cid].append(name)
    return out


# ---- commits -------------------------------------------------------------------------------


def history_of(ctx: Ctx, info: AssetInfo, head: Commit) -> list[Commit]:
    """Commits reachable from ``head``, newest first (one query for the asset's commits)."""
    by_id = {
        c.id: c for c in ctx.session.scalars(select(Commit).where(Commit.asset_id == info.asset.id))
    }
    out: list[Commit] = []
    cur: Commit | None = head
    while cur is not None:
        out.append(cur)
        cur = by_id.get(cur.parent_id) if cur.parent_id else None
    return out


class _HeadMoved(Exception):
    pass


def _diff_paths(old: Manifest, new: Manifest) -> set[str]:
    return {p for p in old.keys() | new.keys() if old.get(p) != new.get(p)}


def _apply(base: Manifest, add: list[FileEntry], delete: list[str]) -> Manifest:
    files = dict(base)
    for path in delete:
        if path in files:
            del files[path]
            continue
        under = [p for p in files if p.startswith(path.rstrip("/") + "/")]
        if not under:
            raise NotFound(f"cannot delete {path!r}: no such file or directory in the branch")
        for p in under:
            del files[p]
    for entry in add:
        files[entry.path] = entry
    _check_tree(files)
    return files


def _check_tree(files: Manifest) -> None:
    """Refuse trees that cannot be written to a disk: 'a' beside 'a/b', or names equal but
    for case (they collide on macOS and Windows)."""
    dirs = {"/".join(p.split("/")[:i]) for p in files for i in range(1, p.count("/") + 1)}
    clash = sorted(dirs & files.keys())
    if clash:
        raise InvalidInput(f"{clash[0]!r} would be both a file and a directory")
    seen: dict[str, str] = {}
    for p in sorted(files.keys() | dirs):
        other = seen.setdefault(p.lower(), p)
        if other != p:
            raise InvalidInput(f"paths {other!r} and {p!r} differ only by case")


def _check_changes(ctx: Ctx, add: list[FileEntry], delete: list[str]) -> None:
    if not add and not delete:
        raise InvalidInput("nothing to commit: add or delete at least one path")
    seen: set[str] = set()
    for entry in add:
        check_path(entry.path)
        check_sha256(entry.sha256)
        if entry.path in seen:
            raise InvalidInput(f"path {entry.path!r} is added twice")
        seen.add(entry.path)
    for path in delete:
        check_path(path.rstrip("/") or path)
        if path in seen:
            raise InvalidInput(f"path {path!r} is both added and deleted")
    hashes = {e.sha256 for e in add}
    if hashes:
        held = dict(
            ctx.session.execute(
                select(Blob.sha256, Blob.size)
                .join(BlobGrant, BlobGrant.sha256 == Blob.sha256)
                .where(BlobGrant.user_id == ctx.actor.id, Blob.sha256.in_(hashes))
            ).all()
        )
        for entry in add:
            if entry.sha256 not in held:
                raise InvalidInput(
                    f"content of {entry.path!r} ({entry.sha256[:12]}…) was not "
                    "uploaded by you: upload it before committing"
                )
            if held[entry.sha256] != entry.size:
                raise InvalidInput(
                    f"size of {entry.path!r} is {held[entry.sha256]}, not {entry.size}"
                )


def create_commit(
    ctx: Ctx,
    info: AssetInfo,
    branch_name: str,
    message: str,
    add: list[FileEntry],
    delete: list[str],
    parent: str | None,
) -> Commit:
    """Commit ``add`` and ``delete`` on top of the branch head.

    ``parent`` is the head the client saw. If the branch moved since, the change is rebased
    onto the new head when none of its paths were touched in between, and refused with a
    Conflict otherwise. The branch moves by compare-and-set on its head; a lost race retries.
    """
    message = message.strip()
    if not message:
        raise InvalidInput("a commit needs a message (-m)")
    if len(message) > 4000:
        raise InvalidInput("commit message is longer than 4000 characters")
    _check_changes(ctx, add, delete)
    ours = {e.path for e in add} | set(delete)
    for _ in range(MAX_CAS_ATTEMPTS):
        try:
            with ctx.session.begin_nested():
                return _commit_once(ctx, info, branch_name, message, add, delete, parent, ours)
        except _HeadMoved:
            continue
    raise Conflict(f"branch {branch_name!r} of {info.title} kept moving; try again")


def _commit_once(
    ctx: Ctx,
    info: AssetInfo,
    branch_name: str,
    message: str,
    add: list[FileEntry],
    delete: list[str],
    parent: str | None,
    ours: set[str],
) -> Commit:
    branch = _branch(ctx, info.asset.id, branch_name)
    if branch is None:
        raise NotFound(f"{info.title} has no branch {branch_name!r}")
    ctx.session.refresh(branch)
    head = ctx.session.get(Commit, branch.commit_id)
    assert head is not None
    base = read_manifest(ctx, head)
    if parent is not None and parent != head.id:
        seen = ctx.session.get(Commit, parent)
        if seen is None or seen.asset_id != info.asset.id:
            raise NotFound(f"{info.title} has no commit {parent!r}")
        moved = _diff_paths(read_manifest(ctx, seen), base)
        overlap = sorted(
            p for p in moved if any(p == o or p.startswith(o.rstrip("/") + "/") for o in ours)
        )
        if overlap:
            raise Conflict(
                f"branch {branch_name!r} moved to {head.id[:8]} since {parent[:8]} and that "
                f"change touched {overlap[0]!r} too; download the branch again and redo your "
                "change"
            )
    files = _apply(base, add, delete)
    if files == base:
        raise InvalidInput("nothing to commit: the files are identical to the branch head")
    if info.asset.format is not None:
        from assay.services.validation import validate

        validate(ctx.store, info.asset.format, {p: e.sha256 for p, e in files.items()})
    commit = _write_commit(ctx, info.asset.id, head.id, files, message)
    moved_rows = ctx.session.execute(
        update(Branch)
        .where(
            Branch.asset_id == info.asset.id,
            Branch.name == branch_name,
            Branch.commit_id == head.id,
        )
        .values(commit_id=commit.id, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if moved_rows.rowcount != 1:  # type: ignore[attr-defined]
        raise _HeadMoved
    return commit
