"""Moving files in and out of commits: hash locally, upload what the server lacks, commit;
and the reverse for downloads. Everything streams in 1 MiB chunks."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Protocol
from urllib.parse import quote

from assay.core.errors import InvalidInput
from assay.core.names import check_path
from assay.sdk.client import Client, file_digest


class ProgressHooks(Protocol):
    """What a progress display implements (the CLI's is Rich; the SDK's default is silent)."""

    def begin(self, description: str, total: int) -> None: ...
    def advance(self, n: int) -> None: ...
    def end(self) -> None: ...


class _Silent:
    def begin(self, description: str, total: int) -> None:
        pass

    def advance(self, n: int) -> None:
        pass

    def end(self) -> None:
        pass


@dataclass(frozen=True)
class LocalFile:
    local: Path
    path: str  # where it goes inside the asset


def _asset_path(arg: str, local: Path) -> str:
    """A relative argument keeps its relative path; an absolute one its base name."""
    if os.path.isabs(arg):
        return local.name
    norm = os.path.normpath(arg)
    if norm == ".":
        return ""
    if norm.startswith(".."):
        raise InvalidInput(
            f"{arg!r} lies outside the current directory: cd to its parent "
            "directory or give an absolute path"
        )
    return PurePosixPath(*Path(norm).parts).as_posix()


def collect(args: list[str]) -> list[LocalFile]:
    """Expand files and directories into (local file, path in asset) pairs.

    Only regular files are read. Inside a directory, a link must stay inside it: a symbolic
    link to, or a hard link shared with, a file elsewhere is refused rather than uploaded
    (a directory someone else prepared must not carry your ``~/.ssh`` into a commit). A
    file named on the command line may be a symbolic link: naming it is consent."""
    out: dict[str, LocalFile] = {}
    for arg in args:
        local = Path(arg)
        if not local.exists():
            raise InvalidInput(f"cannot add {arg!r}: no such file or directory")
        base = _asset_path(arg, local.resolve() if os.path.isabs(arg) else local)
        if local.is_dir():
            found: list[tuple[Path, str]] = []
            for root, dirs, files in os.walk(local):
                dirs.sort()
                for name in dirs:
                    _inside(Path(root) / name, local)
                for name in sorted(files):
                    f = Path(root) / name
                    _inside(f, local)
                    rel = f.relative_to(local).as_posix()
                    found.append((f, f"{base}/{rel}" if base else rel))
            _no_outside_hard_links([f for f, _ in found], local)
            for f, path in found:
                out[path] = LocalFile(f, check_path(path))
        elif local.is_file():
            if not base:
                raise InvalidInput(f"cannot add {arg!r}: not a regular file")
            out[base] = LocalFile(local, check_path(base))
        else:
            raise InvalidInput(
                f"cannot add {arg!r}: not a regular file or directory (a device, FIFO or "
                "socket is never read)"
            )
    return list(out.values())


def _inside(path: Path, tree: Path) -> None:
    """A directory entry Assay may read: a regular file or directory, or a link that stays
    inside ``tree``."""
    info = path.lstat()
    if stat.S_ISLNK(info.st_mode):
        target = path.resolve()
        if not target.is_relative_to(tree.resolve()):
            raise InvalidInput(
                f"cannot add {path}: it is a symbolic link to {target}, outside {tree}; "
                "copy the file into the directory, or add it by its own path"
            )
        if not target.exists():
            raise InvalidInput(f"cannot add {path}: it is a symbolic link to nothing")
        info = target.stat()
    if not (stat.S_ISREG(info.st_mode) or stat.S_ISDIR(info.st_mode)):
        raise InvalidInput(
            f"cannot add {path}: not a regular file (a device, FIFO or socket is never read)"
        )


def _no_outside_hard_links(files: list[Path], tree: Path) -> None:
    """A file with more names than the tree holds shares its content with a file outside."""
    names: dict[tuple[int, int], int] = {}
    infos = [(f, f.stat()) for f in files if not f.is_symlink()]
    for _f, info in infos:
        names[info.st_dev, info.st_ino] = names.get((info.st_dev, info.st_ino), 0) + 1
    for f, info in infos:
        if info.st_nlink > names[info.st_dev, info.st_ino]:
            raise InvalidInput(
                f"cannot add {f}: it is a hard link to a file outside {tree} (it has "
                f"{info.st_nlink} names); copy it to give it a name of its own"
            )


def commit(
    client: Client,
    asset_id: str,
    branch: str,
    message: str,
    add: list[str],
    delete: list[str],
    progress: ProgressHooks | None = None,
) -> dict[str, Any]:
    hooks = progress or _Silent()
    parent = client.get(f"/assets/{asset_id}/resolve", rev=f"branch/{branch}")["commit"]["id"]
    files = collect(add)
    entries: list[dict[str, Any]] = []
    hooks.begin("hashing", sum(f.local.stat().st_size for f in files))
    sizes: dict[str, tuple[LocalFile, int]] = {}
    for f in files:
        sha, size = file_digest(f.local, hooks.advance)
        entries.append({"path": f.path, "sha256": sha, "size": size})
        sizes[sha] = (f, size)
    hooks.end()
    missing = client.post("/blobs/missing", {"hashes": sorted(sizes)})["missing"] if sizes else []
    hooks.begin("uploading", sum(sizes[h][1] for h in missing))
    for sha in missing:
        f, size = sizes[sha]
        client.upload(f.local, sha, size, hooks.advance)
    hooks.end()
    result: dict[str, Any] = client.post(
        f"/assets/{asset_id}/commits",
        {
            "branch": branch,
            "message": message,
            "add": entries,
            "delete": delete,
            "parent": parent,
        },
    )
    return result


def download(
    client: Client, asset_id: str, rev: str, out_dir: Path, progress: ProgressHooks | None = None
) -> list[Path]:
    hooks = progress or _Silent()
    listing = client.get(f"/assets/{asset_id}/files", rev=rev)
    root = out_dir.resolve()
    written: list[Path] = []
    hooks.begin("downloading", sum(int(e["size"]) for e in listing))
    for entry in listing:
        target = (root / check_path(entry["path"])).resolve()
        if root not in target.parents:  # defence in depth: the server checks paths too
            raise InvalidInput(f"refusing to write {entry['path']!r} outside {root}")
        target.parent.mkdir(parents=True, exist_ok=True)
        sha = client.download(
            f"/assets/{asset_id}/files/{quote(entry['path'])}", target, {"rev": rev}, hooks.advance
        )
        if sha != entry["sha256"]:
            target.unlink(missing_ok=True)
            raise InvalidInput(f"{entry['path']} arrived corrupted (SHA-256 mismatch)")
        written.append(target)
    hooks.end()
    return written
