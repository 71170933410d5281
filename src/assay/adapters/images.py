"""Decoding and preprocessing images into model input arrays."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from numpy.typing import NDArray
from PIL import Image, UnidentifiedImageError

from assay.adapters.manifest import OnnxSpec
from assay.core.errors import InvalidInput

# Formats worth trying first for a file name's extension: Pillow otherwise asks every
# format it knows whether the file is one (15% of decoding a small PNG). Not Pillow's own
# ``registered_extensions()``: it imports every plugin first (80 ms in each task).
_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".bmp": "BMP", ".webp": "WEBP"}


def open_image(path: Path, name: str) -> Image.Image:
    likely = _FORMATS.get(Path(name).suffix.lower())
    try:
        with open(path, "rb") as f:
            try:
                img = Image.open(f, formats=[likely] if likely else None)
            except UnidentifiedImageError:
                if likely is None:
                    raise
                f.seek(0)  # named for one format, holding another: ask them all
                img = Image.open(f)
            img.load()  # decoded now, so the file may close
            return img
    except (UnidentifiedImageError, OSError) as exc:
        raise InvalidInput(f"image {name} does not decode: {exc}") from None


def preprocess(images: list[Image.Image], spec: OnnxSpec) -> NDArray[Any]:
    """Resize, convert colour, scale and normalise a batch into the model's layout."""
    return normalise(pixels(images, spec), spec)


def pixels(images: list[Image.Image], spec: OnnxSpec) -> NDArray[np.uint8]:
    """A batch resized to the model's input and in its colour mode: uint8, N x H x W x C
    (what a decoded-pixel cache keeps)."""
    h, w = spec.size
    mode = "L" if spec.color == "gray" else "RGB"
    arrays = []
    for img in images:
        if img.mode != mode:
            img = img.convert(mode)
        if img.size != (w, h):
            img = img.resize((w, h), Image.Resampling.BILINEAR)
        arrays.append(np.asarray(img))
    batch = np.stack(arrays)
    return batch[:, :, :, None] if batch.ndim == 3 else batch


def normalise(batch: NDArray[np.uint8], spec: OnnxSpec) -> NDArray[Any]:
    """uint8 pixels (N x H x W x C) into the model's input: colour order, layout, and
    ``(v * scale - mean) / std``.

    Pixels stay uint8 until the end, then go through a per-channel lookup table of
    ``(v * scale - mean) / std`` computed in float64: the numbers of the float64 formula at
    a fraction of its cost (one pass over the batch instead of five)."""
    if spec.color == "bgr":
        batch = batch[:, :, :, ::-1]
    channels = batch.shape[3]
    values = np.arange(256, dtype=np.float64)[None, :] * spec.scale
    mean = np.broadcast_to(np.asarray(spec.mean, dtype=np.float64), (channels,))[:, None]
    std = np.broadcast_to(np.asarray(spec.std, dtype=np.float64), (channels,))[:, None]
    table = ((values - mean) / std).astype(spec.dtype)  # (channels, 256)
    if spec.layout == "NCHW":
        batch = batch.transpose(0, 3, 1, 2)
    if (table == table[0]).all():  # the same table for every channel: one gather, not C
        return np.take(table[0], batch)
    out = np.empty(batch.shape, dtype=spec.dtype)
    for c in range(channels):
        if spec.layout == "NCHW":
            np.take(table[c], batch[:, c], out=out[:, c])
        else:
            np.take(table[c], batch[..., c], out=out[..., c])
    return out


T = TypeVar("T")
R = TypeVar("R")


def prefetched(items: Iterable[T], load: Callable[[T], R], depth: int = 2) -> Iterator[R]:
    """``load(item)`` for each item in order, computed up to ``depth`` items ahead in a
    background thread: decoding the next batch overlaps inference on this one (Pillow's
    decoders, numpy and onnxruntime release the GIL). An error surfaces at its item."""
    pool = ThreadPoolExecutor(1, thread_name_prefix="assay-prefetch")
    pending: deque[Future[R]] = deque()
    try:
        for item in items:
            pending.append(pool.submit(load, item))
            if len(pending) > depth:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
