"""Decoding and preprocessing images into model input arrays."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from PIL import Image, UnidentifiedImageError

from assay.adapters.manifest import OnnxSpec
from assay.core.errors import InvalidInput


def open_image(path: Path, name: str) -> Image.Image:
    try:
        with Image.open(path) as img:
            img.load()
            return img.copy()
    except (UnidentifiedImageError, OSError) as exc:
        raise InvalidInput(f"image {name} does not decode: {exc}") from None


def preprocess(images: list[Image.Image], spec: OnnxSpec) -> NDArray[Any]:
    """Resize, convert colour, scale and normalise a batch into the model's layout."""
    h, w = spec.size
    mode = "L" if spec.color == "gray" else "RGB"
    arrays = []
    for img in images:
        a = np.asarray(
            img.convert(mode).resize((w, h), Image.Resampling.BILINEAR), dtype=np.float64
        )
        if a.ndim == 2:
            a = a[:, :, None]
        if spec.color == "bgr":
            a = a[:, :, ::-1]
        arrays.append(a)
    batch = np.stack(arrays) * spec.scale
    batch = (batch - np.asarray(spec.mean)) / np.asarray(spec.std)
    if spec.layout == "NCHW":
        batch = batch.transpose(0, 3, 1, 2)
    return np.ascontiguousarray(batch, dtype=spec.dtype)
