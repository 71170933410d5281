"""Storage locations given instead of a registered model or dataset (seed 000's "storage
location" source).

A location is a classic hole: other platforms shipped arbitrary file reads through exactly
this field. So: the path is resolved (symlinks, ``..``) before it is checked; on a server it
must lie under a root the admin allowed (``ASSAY_STORAGE_ROOTS``, empty by default); in
embedded mode the user may read their own files. The worker checks again when it reads, and
refuses files whose real path leaves the location.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

from assay.core.errors import InvalidInput, NotFound, PermissionDenied


def _local_path(location: str) -> str:
    if not isinstance(location, str) or not location or "\x00" in location:
        raise InvalidInput("a storage location must be a non-empty path or file:// URL")
    parsed = urlparse(location)
    if parsed.scheme in ("", "file"):
        path = parsed.path if parsed.scheme == "file" else location
        if parsed.scheme == "file" and parsed.netloc not in ("", "localhost"):
            raise InvalidInput(f"file URL {location!r} names a host; use file:///path")
        return path
    raise InvalidInput(
        f"storage location {location!r}: only local directories and file:// "
        "URLs are supported by this server"
    )


def check(location: str, roots: list[str], *, embedded: bool) -> Path:
    """The real directory a location names, if the caller may read it."""
    real = Path(os.path.realpath(_local_path(location)))
    allowed = [Path(os.path.realpath(r)) for r in roots if r]
    if not embedded and not any(real == r or r in real.parents for r in allowed):
        raise PermissionDenied(
            f"storage location {location!r} is not under a root this server allows; ask an "
            "admin to add one (ASSAY_STORAGE_ROOTS) or register the files as an asset"
        )
    if not real.is_dir():
        raise NotFound(f"storage location {location!r} is not an existing directory")
    return real


def files(root: Path) -> Iterator[tuple[str, Path]]:
    """(relative path, real file) under ``root``, refusing anything whose real path leaves it."""
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            p = Path(dirpath) / name
            real = Path(os.path.realpath(p))
            if root not in real.parents:
                raise PermissionDenied(
                    f"{p.relative_to(root)} in the storage location points outside it"
                )
            if real.is_file():
                yield p.relative_to(root).as_posix(), real


def content_hash(root: Path) -> str:
    """SHA-256 over the sorted (path, file SHA-256, size) of every file in the location."""
    entries = []
    for rel, real in files(root):
        digest = hashlib.sha256()
        with open(real, "rb") as f:
            while chunk := f.read(1024 * 1024):
                digest.update(chunk)
        entries.append([rel, digest.hexdigest(), real.stat().st_size])
    return hashlib.sha256(json.dumps(entries, separators=(",", ":")).encode()).hexdigest()
