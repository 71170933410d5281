"""Folders and assets, and the resolution of a ref to one asset and one commit."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, func, or_, select

from assay.core.errors import Conflict, InvalidInput, NotFound
from assay.core.names import TYPE_TITLES, check_name, check_type
from assay.core.refs import AssetRef, Rev
from assay.db.models import Asset, Branch, Commit, Evaluation, Folder, Job, Tag, User, Version
from assay.services import history, validation
from assay.services.context import Ctx


@dataclass(frozen=True)
class AssetInfo:
    """An asset with the names that make up its full ref."""

    asset: Asset
    folder: Folder
    owner: str

    @property
    def type(self) -> str:
        return self.folder.type

    @property
    def title(self) -> str:
        return f"{TYPE_TITLES[self.folder.type]} {self.asset.name}"

    @property
    def path(self) -> str:
        return f"{self.owner}/{self.folder.type}/{self.folder.name}/{self.asset.name}"


@dataclass(frozen=True)
class Resolved:
    """A ref resolved to a commit, with how it was reached."""

    info: AssetInfo
    commit: Commit
    branch: str | None
    rev: str

    @property
    def full_ref(self) -> str:
        return f"{self.info.path}:{self.rev}"


def _owner_id(ctx: Ctx, owner: str | None) -> str:
    """The namespace a ref without an owner means is the caller's own."""
    if owner is None or owner == ctx.actor.name:
        return ctx.actor.id
    user = ctx.session.scalar(select(User).where(User.name == owner))
    if user is None or not ctx.actor.can_see(user.id):
        raise NotFound(f"no user {owner!r} whose assets you can see")
    return user.id


# ---- folders -------------------------------------------------------------------------------


def create_folder(ctx: Ctx, type_: str, name: str) -> Folder:
    check_type(type_)
    check_name(name, "folder")
    exists = ctx.session.scalar(
        select(Folder).where(
            Folder.owner_id == ctx.actor.id, Folder.type == type_, Folder.name == name
        )
    )
    if exists is not None:
        raise Conflict(f"{TYPE_TITLES[type_]} Folder {name!r} already exists")
    folder = Folder(owner_id=ctx.actor.id, type=type_, name=name)
    ctx.session.add(folder)
    ctx.session.flush()
    return folder


def list_folders(ctx: Ctx, type_: str | None, owner: str | None = None) -> list[tuple[Folder, int]]:
    """Folders of ``owner`` (default: the caller; another user's only for an admin)."""
    if type_ is not None:
        check_type(type_)
    count = (
        select(func.count(Asset.id))
        .where(Asset.folder_id == Folder.id)
        .correlate(Folder)
        .scalar_subquery()
    )
    q = select(Folder, count).where(Folder.owner_id == _owner_id(ctx, owner))
    if type_:
        q = q.where(Folder.type == type_)
    rows = ctx.session.execute(q.order_by(Folder.type, Folder.name)).all()
    return [(f, n) for f, n in rows]


def get_folder(ctx: Ctx, type_: str, name: str, owner: str | None = None) -> Folder:
    check_type(type_)
    check_name(name, "folder")
    folder = ctx.session.scalar(
        select(Folder).where(
            Folder.owner_id == _owner_id(ctx, owner), Folder.type == type_, Folder.name == name
        )
    )
    if folder is None:
        raise NotFound(
            f"{TYPE_TITLES[type_]} Folder {name!r} does not exist; create it with "
            f"`assay create folder {type_}/{name}`"
        )
    return folder


def delete_folder(ctx: Ctx, type_: str, name: str, *, force: bool) -> Folder:
    folder = get_folder(ctx, type_, name)
    n = ctx.session.scalar(select(func.count(Asset.id)).where(Asset.folder_id == folder.id)) or 0
    if n and not force:
        raise Conflict(
            f"{TYPE_TITLES[type_]} Folder {name!r} holds {n} asset(s): delete them "
            "first or pass --force"
        )
    for asset in ctx.session.scalars(select(Asset).where(Asset.folder_id == folder.id)):
        _delete_asset_rows(ctx, asset)
    ctx.session.delete(folder)
    return folder


# ---- assets --------------------------------------------------------------------------------


def create_asset(
    ctx: Ctx, type_: str, folder_name: str, name: str, format_: str | None = None
) -> AssetInfo:
    folder = get_folder(ctx, type_, folder_name)
    check_name(name, TYPE_TITLES[type_].lower())
    if format_ is not None:
        validation.check_format(type_, format_)
    if (
        ctx.session.scalar(select(Asset).where(Asset.folder_id == folder.id, Asset.name == name))
        is not None
    ):
        raise Conflict(f"{TYPE_TITLES[type_]} {name!r} already exists in Folder {folder_name!r}")
    asset = Asset(folder_id=folder.id, name=name, format=format_)
    ctx.session.add(asset)
    ctx.session.flush()
    history.init_asset(ctx, asset)
    return AssetInfo(asset, folder, ctx.actor.name)


def list_assets(ctx: Ctx, type_: str, folder_name: str, owner: str | None = None) -> list[Asset]:
    folder = get_folder(ctx, type_, folder_name, owner)
    return list(
        ctx.session.scalars(select(Asset).where(Asset.folder_id == folder.id).order_by(Asset.name))
    )


def lookup(ctx: Ctx, ref: AssetRef) -> AssetInfo:
    """Find the one asset a ref names, taking the type from the ref when it has one."""
    owner_id = _owner_id(ctx, ref.owner)
    q = (
        select(Asset, Folder, User.name)
        .join(Folder, Asset.folder_id == Folder.id)
        .join(User, Folder.owner_id == User.id)
        .where(Folder.owner_id == owner_id, Folder.name == ref.folder, Asset.name == ref.asset)
    )
    if ref.type:
        q = q.where(Folder.type == ref.type)
    rows = ctx.session.execute(q).all()
    if not rows:
        kind = TYPE_TITLES[ref.type] if ref.type else "asset"
        raise NotFound(f"{kind} {ref.folder}/{ref.asset} does not exist")
    if len(rows) > 1:
        types = sorted(f.type for _, f, _ in rows)
        raise InvalidInput(
            f"{ref.folder}/{ref.asset} names a {' and a '.join(types)}: prefix the ref with its "
            f"type, e.g. {types[0]}/{ref.folder}/{ref.asset}"
        )
    asset, folder, owner = rows[0]
    return AssetInfo(asset, folder, owner)


def resolve(ctx: Ctx, ref: AssetRef) -> Resolved:
    return resolve_in(ctx, lookup(ctx, ref), ref.rev)


def delete_asset(ctx: Ctx, asset_id: str) -> AssetInfo:
    info = get_asset(ctx, asset_id)
    _delete_asset_rows(ctx, info.asset)
    return info


def _delete_asset_rows(ctx: Ctx, asset: Asset) -> None:
    used = ctx.session.execute(
        select(Job.name, Version.number)
        .join(Job, Job.id == Version.job_id)
        .where(
            or_(
                Version.model_asset_id == asset.id,
                Version.dataset_asset_id == asset.id,
                Version.code_asset_id == asset.id,
            )
        )
        .limit(1)
    ).first()
    if used is not None:  # a job's history must not vanish with the asset it measured
        raise Conflict(
            f"{asset.name} is used by job version {used[0]}:V{used[1]:04d}; delete "
            "those versions (or the job) first"
        )
    # Explicit order rather than relying on ON DELETE CASCADE of every dialect: evaluations
    # bound to the asset's commits first, then refs, then the commits themselves.
    ctx.session.execute(
        delete(Evaluation).where(
            or_(Evaluation.model_asset_id == asset.id, Evaluation.dataset_asset_id == asset.id)
        )
    )
    ctx.session.execute(delete(Branch).where(Branch.asset_id == asset.id))
    ctx.session.execute(delete(Tag).where(Tag.asset_id == asset.id))
    ctx.session.execute(delete(Commit).where(Commit.asset_id == asset.id))
    ctx.session.delete(asset)


def get_asset(ctx: Ctx, asset_id: str) -> AssetInfo:
    """An asset by id, or NotFound when it does not exist or the caller may not see it."""
    row = ctx.session.execute(
        select(Asset, Folder, User.name)
        .join(Folder, Asset.folder_id == Folder.id)
        .join(User, Folder.owner_id == User.id)
        .where(Asset.id == asset_id)
    ).first()
    if row is None or not ctx.actor.can_see(row[1].owner_id):
        raise NotFound(f"no asset with ID {asset_id!r}")
    return AssetInfo(row[0], row[1], row[2])


def resolve_in(ctx: Ctx, info: AssetInfo, rev: Rev) -> Resolved:
    commit, branch = history.resolve_rev(ctx, info, rev)
    shown = (
        f"branch/{branch}" if branch is not None else (str(rev) if rev.kind == "tag" else commit.id)
    )
    return Resolved(info, commit, branch, shown)
