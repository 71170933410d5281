"""Preprocessing gives exactly the numbers of the plain float64 formula, in every layout."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from assay.adapters.images import open_image, prefetched, preprocess
from assay.adapters.manifest import OnnxSpec
from assay.core.errors import InvalidInput


def _reference(images: list[Image.Image], spec: OnnxSpec) -> Any:
    h, w = spec.size
    mode = "L" if spec.color == "gray" else "RGB"
    arrays = []
    for img in images:
        a = np.asarray(img.convert(mode).resize((w, h), Image.Resampling.BILINEAR), np.float64)
        a = a[:, :, None] if a.ndim == 2 else a
        arrays.append(a[:, :, ::-1] if spec.color == "bgr" else a)
    batch = (np.stack(arrays) * spec.scale - np.asarray(spec.mean)) / np.asarray(spec.std)
    if spec.layout == "NCHW":
        batch = batch.transpose(0, 3, 1, 2)
    return batch.astype(spec.dtype)


@pytest.mark.parametrize(
    "spec",
    [
        OnnxSpec(
            file="m",
            size=[24, 24],
            color="rgb",
            mean=[0.485, 0.456, 0.406],
            std=[0.229, 0.224, 0.225],
        ),
        OnnxSpec(
            file="m",
            size=[16, 20],
            color="bgr",
            layout="NHWC",
            scale=1 / 15,
            dtype="float64",
            mean=[1.0, 2.0, 3.0],
        ),
        OnnxSpec(file="m", size=[8, 8], color="gray", scale=0.06666666666666667),
        # one table for all channels (scalar mean and std): a single gather
        OnnxSpec(file="m", size=[12, 10], color="rgb", scale=1 / 255),
        OnnxSpec(file="m", size=[10, 12], color="bgr", layout="NHWC", mean=[0.5], std=[0.25]),
    ],
)
def test_preprocess_equals_the_float64_formula(spec: OnnxSpec) -> None:
    rng = np.random.default_rng(0)
    images = [
        Image.fromarray(rng.integers(0, 256, (24, 24, 3), dtype=np.uint8)),
        Image.fromarray(rng.integers(0, 256, (30, 17), dtype=np.uint8)),  # grey, other size
        Image.fromarray(rng.integers(0, 256, (24, 24, 4), dtype=np.uint8)),  # RGBA
    ]
    got = preprocess(images, spec)
    want = _reference(images, spec)
    assert got.dtype == want.dtype and got.shape == want.shape
    assert np.array_equal(got, want)


def test_open_image_names_the_file_that_does_not_decode(tmp_path: Path) -> None:
    bad = tmp_path / "x.png"
    bad.write_bytes(b"\x89PNG not really")
    with pytest.raises(InvalidInput, match=r"image cats/x\.png does not decode"):
        open_image(bad, "cats/x.png")


def test_open_image_reads_a_file_whose_extension_names_another_format(tmp_path: Path) -> None:
    picture = Image.fromarray(np.full((8, 8, 3), 200, dtype=np.uint8))
    misnamed = tmp_path / "really-a-jpeg.png"
    picture.save(misnamed, format="JPEG")
    opened = open_image(misnamed, "cats/really-a-jpeg.png")
    assert opened.format == "JPEG" and opened.size == (8, 8)


def test_prefetched_keeps_order_and_raises_at_the_failing_item() -> None:
    def load(i: int) -> int:
        if i == 7:
            raise ValueError("seven")
        return i * i

    got = []
    with pytest.raises(ValueError, match="seven"):
        for value in prefetched(range(10), load):
            got.append(value)
    assert got == [i * i for i in range(7)]
