"""Dataset formats of the built-in evaluators, validated with errors naming file and line."""

from __future__ import annotations

import json
import os
from pathlib import Path

from assay.core.errors import InvalidInput

INDEX = ".assay-files.json"


class Files:
    """The files of a dataset, read-only: a plain directory, or a directory holding only an
    index (``.assay-files.json``: path -> local file) that the worker writes for built-in
    evaluators, so a shard opens just the files of its slice instead of having every file of
    the commit linked or copied first."""

    def __init__(self, root: Path) -> None:
        self.root = root
        index = root / INDEX
        self._index: dict[str, str] | None = (
            json.loads(index.read_text()) if index.is_file() else None
        )

    def paths(self) -> list[str]:
        """Every file's path relative to the root, sorted."""
        if self._index is not None:
            return sorted(self._index)
        out = []
        for dirpath, _dirs, names in os.walk(self.root):
            for name in names:
                out.append((Path(dirpath) / name).relative_to(self.root).as_posix())
        return sorted(p for p in out if p != INDEX)

    def get(self, relative: str) -> Path | None:
        if (
            not relative
            or relative.startswith("/")
            or "\x00" in relative
            or ".." in relative.split("/")  # a Path per call cost 0.2 s a 20,000-image shard
        ):
            return None  # inputs may be links into the blob store: the check is lexical
        if self._index is not None:
            found = self._index.get(relative)
            return Path(found) if found is not None else None
        path = self.root / relative
        return path if path.is_file() else None

    def require(self, relative: str, what: str) -> Path:
        path = self.get(relative)
        if path is None:
            raise InvalidInput(f"{what} {relative!r} is not a file of the dataset")
        return path

    def read_text(self, relative: str) -> str | None:
        path = self.get(relative)
        return path.read_text() if path is not None else None
