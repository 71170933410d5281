"""Decoded pixels kept between evaluations of the same dataset.

A dataset commit never changes, so the pixels an ONNX classifier's shard decodes from it
(resized to the model's input, in its colour mode, still uint8) are the same for every model
that takes the same input size and colour. The first evaluation writes them to one ``.npy``
file per shard; later ones map that file and skip decoding, which on a CPU-bound machine is
the largest cost Assay adds to inference (docs/performance.md).

The cache is a directory of such files under a byte budget, least recently used first out.
A file appears under its final name only once complete; one that cannot be read is deleted
and decoded again. The key holds everything the pixels depend on, the Pillow version
included (its resampling could change).
"""

from __future__ import annotations

import hashlib
import os
import uuid
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from assay.adapters.manifest import OnnxSpec

FORMAT = 1  # bump when what a file holds changes


def key(dataset: str, spec: OnnxSpec, shard: int, shards: int) -> str:
    import PIL

    mode = "L" if spec.color == "gray" else "RGB"
    size = f"{spec.size[0]}x{spec.size[1]}"
    text = f"{FORMAT}|{dataset}|{size}|{mode}|{shard}/{shards}|{PIL.__version__}"
    return hashlib.sha256(text.encode()).hexdigest()


class DecodedCache:
    def __init__(self, root: Path, budget: int) -> None:
        self.root = root
        self.budget = budget

    def _path(self, key: str) -> Path:
        return self.root / f"{key}.npy"

    def get(self, key: str, count: int) -> NDArray[np.uint8] | None:
        """The shard's pixels (memory-mapped), or None when not cached (or unreadable)."""
        path = self._path(key)
        if not path.is_file():
            return None
        try:
            found: NDArray[np.uint8] = np.load(path, mmap_mode="r")
        except (OSError, ValueError):
            path.unlink(missing_ok=True)
            return None
        if found.shape[0] != count or found.dtype != np.uint8:
            path.unlink(missing_ok=True)
            return None
        os.utime(path)  # recently used
        return found

    def writer(self, key: str, shape: tuple[int, ...]) -> Writer | None:
        """Somewhere to put the shard's pixels as they are decoded, if they fit the budget."""
        if int(np.prod(shape)) > self.budget:
            return None
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        return Writer(self, key, shape)

    def _trim(self, keep: Path) -> None:
        files = []
        for p in self.root.glob("*.npy"):
            try:
                files.append((p.stat().st_mtime, p.stat().st_size, p))
            except FileNotFoundError:
                continue
        total = sum(size for _, size, _ in files)
        for _, size, p in sorted(files, key=lambda f: f[0]):
            if total <= self.budget:
                break
            if p != keep:
                p.unlink(missing_ok=True)
                total -= size


class Writer:
    def __init__(self, cache: DecodedCache, key: str, shape: tuple[int, ...]) -> None:
        self.cache = cache
        self.final = cache._path(key)
        self.tmp = cache.root / f".{key}.{uuid.uuid4().hex}.tmp.npy"
        self.array: Any = np.lib.format.open_memmap(
            self.tmp, mode="w+", dtype=np.uint8, shape=shape
        )

    def put(self, start: int, pixels: NDArray[np.uint8]) -> None:
        self.array[start : start + len(pixels)] = pixels

    def commit(self) -> None:
        self.array.flush()
        del self.array
        os.replace(self.tmp, self.final)  # complete, or not there at all
        self.cache._trim(keep=self.final)

    def abandon(self) -> None:
        self.array = None
        self.tmp.unlink(missing_ok=True)
