"""Folders, assets, branches, tags, commits and files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from assay import hub
from assay.cli import render
from assay.cli.app import OUTPUT_HELP, app, create, delete, ls
from assay.core.errors import InvalidInput
from assay.core.names import ASSET_TYPES, check_name
from assay.core.refs import parse_folder, parse_ref
from assay.sdk.objects import Asset

Output = Annotated[str, typer.Option("--output", "-o", help=OUTPUT_HELP)]


def _asset(ref: str, type_: str | None = None) -> Asset:
    return hub.get_asset(ref, type_)


def _split_new(ref: str, what: str) -> tuple[str, str]:
    """``FOLDER/ASSET:NAME`` (or ``:{what}/NAME``) -> (asset ref, NAME)."""
    asset_ref, sep, name = ref.partition(":")
    if not sep:
        raise InvalidInput(
            f"give the {what} name after a colon, e.g. image-classification/mnist-cnn-keras:v1"
        )
    name = name.removeprefix(f"{what}/")
    parse_ref(asset_ref)
    return asset_ref, check_name(name, what)


# ---- folders -------------------------------------------------------------------------------


@create.command("folder")
def create_folder(
    name: Annotated[str, typer.Argument(help="TYPE/NAME, e.g. model/image-classification")],
    output: Output = "table",
) -> None:
    """Create a folder of models, datasets or code."""
    render.check_output(output)
    type_, folder = parse_folder(name)
    if type_ is None:
        raise InvalidInput(f"give the folder's type: model/{name}, dataset/{name} or code/{name}")
    f = hub.create_folder(type_=type_, name=folder)
    if output == "json":
        render.as_json({"type": f.type, "name": f.name, "owner": f.owner})


@ls.command("folder")
def ls_folder(
    type_: Annotated[
        str | None, typer.Argument(metavar="[TYPE]", help="model, dataset or code")
    ] = None,
    output: Output = "table",
) -> None:
    """List your folders."""
    render.check_output(output)
    rows = hub.client().get("/folders", type=type_)
    if output == "json":
        render.as_json(rows)
    else:
        render.table(
            rows,
            [("TYPE", "type"), ("NAME", "name"), ("ASSETS", "assets"), ("CREATED", "createdAt")],
        )


@delete.command("folder")
def delete_folder(
    name: Annotated[str, typer.Argument(help="TYPE/NAME")],
    force: Annotated[
        bool, typer.Option("--force", help="also delete the assets inside it")
    ] = False,
) -> None:
    """Delete a folder (refused when it holds assets, unless --force)."""
    type_, folder = parse_folder(name)
    if type_ is None:
        raise InvalidInput("give the folder's type, e.g. model/image-classification")
    hub.delete_folder(type_=type_, name=folder, force=force)


# ---- assets: `create model|dataset|code`, `ls model|...`, `delete model|...` ---------------


def _register_asset_commands(type_: str) -> None:
    @create.command(type_, help=f"Create a {type_} in a folder: FOLDER/NAME.")
    def _create(
        ref: Annotated[str, typer.Argument(help="FOLDER/NAME")],
        format_: Annotated[
            str | None,
            typer.Option(
                "--format",
                help="datasets: a task format (e.g. image-classification) every commit "
                "is validated in",
            ),
        ] = None,
        output: Output = "table",
    ) -> None:
        render.check_output(output)
        parsed = parse_ref(ref, type_hint=type_)
        if parsed.explicit_rev or parsed.owner:
            raise InvalidInput(f"give the new {type_} as FOLDER/NAME")
        folder = hub.get_folder(type_=type_, name=parsed.folder)
        asset = folder.create_asset(name=parsed.asset, format=format_)
        if output == "json":
            render.as_json(hub.client().get(f"/assets/{asset.id}"))

    @ls.command(type_, help=f"List the {type_}s of a folder.")
    def _ls(
        folder: Annotated[str, typer.Argument(help="FOLDER")], output: Output = "table"
    ) -> None:
        render.check_output(output)
        _, name = parse_folder(folder, type_hint=type_)
        rows = hub.client().get("/assets", type=type_, folder=name)
        if output == "json":
            render.as_json(rows)
        else:
            render.table(rows, [("NAME", "name"), ("REF", "path"), ("CREATED", "createdAt")])

    @delete.command(type_, help=f"Delete a {type_} with its history and evaluations.")
    def _delete(ref: Annotated[str, typer.Argument(help="FOLDER/NAME")]) -> None:
        _asset(ref, type_).delete()


for _type in ASSET_TYPES:
    _register_asset_commands(_type)


# ---- branches and tags ---------------------------------------------------------------------


@create.command("branch")
def create_branch(
    ref: Annotated[str, typer.Argument(help="FOLDER/ASSET:NEW_BRANCH")],
    source: Annotated[str, typer.Option("--from", help="revision to start from")] = "main",
    output: Output = "table",
) -> None:
    """Create a branch (from main unless --from)."""
    render.check_output(output)
    asset_ref, name = _split_new(ref, "branch")
    branch = _asset(asset_ref).create_branch(name=name, source=source)
    if output == "json":
        render.as_json({"name": name, "commit": branch.commit})


@create.command("tag")
def create_tag(
    ref: Annotated[str, typer.Argument(help="FOLDER/ASSET:NEW_TAG")],
    at: Annotated[str, typer.Option("--ref", help="revision to tag")] = "main",
    output: Output = "table",
) -> None:
    """Create a tag pinning a commit."""
    render.check_output(output)
    asset_ref, name = _split_new(ref, "tag")
    tag = _asset(asset_ref).create_tag(name=name, ref=at)
    if output == "json":
        render.as_json({"name": name, "commit": tag.commit})


@delete.command("branch")
def delete_branch(ref: Annotated[str, typer.Argument(help="FOLDER/ASSET:BRANCH")]) -> None:
    """Delete a branch (never main). Its commits stay."""
    asset_ref, name = _split_new(ref, "branch")
    _asset(asset_ref).delete_branch(name)


@delete.command("tag")
def delete_tag(ref: Annotated[str, typer.Argument(help="FOLDER/ASSET:TAG")]) -> None:
    """Delete a tag."""
    asset_ref, name = _split_new(ref, "tag")
    _asset(asset_ref).delete_tag(name)


@ls.command("branch")
def ls_branch(
    ref: Annotated[str, typer.Argument(help="FOLDER/ASSET")], output: Output = "table"
) -> None:
    """List an asset's branches and their head commits."""
    _ls_pointers(_asset(ref).list_branches(), output)


@ls.command("tag")
def ls_tag(
    ref: Annotated[str, typer.Argument(help="FOLDER/ASSET")], output: Output = "table"
) -> None:
    """List an asset's tags and the commits they pin."""
    _ls_pointers(_asset(ref).list_tags(), output)


def _ls_pointers(rows: list[dict[str, object]], output: str) -> None:
    if render.check_output(output) == "json":
        render.as_json(rows)
    else:
        render.table(rows, [("NAME", "name"), ("COMMIT", "commit"), ("UPDATED", "updatedAt")])


# ---- commits and files ---------------------------------------------------------------------


def _rev(ref: str) -> tuple[Asset, str]:
    parsed = parse_ref(ref)
    return _asset(ref.rsplit(":", 1)[0] if parsed.explicit_rev else ref), str(parsed.rev)


@ls.command("commit")
def ls_commit(
    ref: Annotated[str, typer.Argument(help="FOLDER/ASSET[:REV]")], output: Output = "table"
) -> None:
    """List the history of a revision, newest first."""
    asset, rev = _rev(ref)
    rows = asset.list_commits(rev)
    if render.check_output(output) == "json":
        render.as_json(rows)
    else:
        render.table(
            rows,
            [
                ("COMMIT", "id"),
                ("MESSAGE", "message"),
                ("AUTHOR", "author"),
                ("FILES", "fileCount"),
                ("SIZE", "totalSize"),
                ("CREATED", "createdAt"),
            ],
        )


@ls.command("file")
def ls_file(
    ref: Annotated[str, typer.Argument(help="FOLDER/ASSET[:REV]")], output: Output = "table"
) -> None:
    """List the files of a revision."""
    asset, rev = _rev(ref)
    rows = asset.list_files(rev)
    if render.check_output(output) == "json":
        render.as_json(rows)
    else:
        render.table(rows, [("PATH", "path"), ("SIZE", "size"), ("SHA256", "sha256")])


@app.command("commit")
def commit(
    ref: Annotated[str, typer.Argument(help="FOLDER/ASSET[:BRANCH]")],
    message: Annotated[str, typer.Option("--message", "-m", help="commit message")],
    add: Annotated[
        list[str] | None,
        typer.Option("--add", "-a", help="file or directory to add or replace (repeatable)"),
    ] = None,
    remove: Annotated[
        list[str] | None,
        typer.Option("--delete", "-d", help="path in the asset to delete (repeatable)"),
    ] = None,
    output: Output = "table",
) -> None:
    """Add, replace and delete files in one new commit on a branch."""
    render.check_output(output)
    parsed = parse_ref(ref)
    if parsed.rev.kind == "tag":
        raise InvalidInput("a tag cannot move: commit to a branch, FOLDER/ASSET:BRANCH")
    asset = _asset(ref.rsplit(":", 1)[0] if parsed.explicit_rev else ref)
    result = asset.create_commit(
        message=message,
        add=add or [],
        delete=remove or [],
        branch=parsed.rev.value,
        progress=render.RichProgress(),
    )
    if output == "json":
        render.as_json(result)
    else:
        render.out.print(
            f"{result['id']}  {result['fileCount']} files, {result['totalSize']} bytes"
        )


@app.command("download")
def download(
    ref: Annotated[str, typer.Argument(help="FOLDER/ASSET[:REV]")],
    output_dir: Annotated[
        Path, typer.Option("--output", "-o", help="directory to write to")
    ] = Path("."),
) -> None:
    """Write a revision's files into a directory."""
    asset, rev = _rev(ref)
    written = asset.download(output_dir, rev, progress=render.RichProgress())
    render.err.print(f"Downloaded {len(written)} file(s) of {asset.title} to {output_dir}")
