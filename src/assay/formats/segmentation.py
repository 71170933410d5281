"""Semantic-segmentation datasets: ``images/NAME.png|jpg``, ``masks/NAME.png`` (one class index
per pixel, 8-bit grey) and ``classes.txt`` (one class per line, index = line number). Pixels
equal to the ignore index (default 255) are not scored."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from PIL import Image, UnidentifiedImageError

from assay.core.errors import InvalidInput
from assay.formats import Files

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


@dataclass(frozen=True)
class SegmentationData:
    classes: list[str]
    samples: list[tuple[str, str]]  # (image path, mask path) relative to the root, sorted

    def shard(self, index: int, count: int) -> list[tuple[str, str]]:
        n = len(self.samples)
        return self.samples[index * n // count : (index + 1) * n // count]


def load(root: Path) -> SegmentationData:
    files = Files(root)
    text = files.read_text("classes.txt")
    if text is None:
        raise InvalidInput("the dataset has no classes.txt (one class name per line)")
    classes = [c.strip() for c in text.splitlines() if c.strip()]
    if not classes or len(classes) > 255:
        raise InvalidInput("classes.txt must list 1 to 255 classes")
    samples = []
    for image in files.paths():
        if (
            not image.startswith("images/")
            or image.count("/") != 1
            or Path(image).suffix.lower() not in IMAGE_SUFFIXES
        ):
            continue
        mask = f"masks/{Path(image).stem}.png"
        if files.get(mask) is None:
            raise InvalidInput(f"image {image} has no mask {mask}")
        samples.append((image, mask))
    if not samples:
        raise InvalidInput("the dataset has no images/ with masks/")
    return SegmentationData(classes=classes, samples=samples)


def read_mask(
    path: Path, name: str, n_classes: int, ignore_index: int, size: tuple[int, int] | None = None
) -> NDArray[Any]:
    try:
        with Image.open(path) as img:
            if img.mode not in ("L", "P", "I;16", "I"):
                raise InvalidInput(f"mask {name} is {img.mode}, not a single-channel class map")
            mask = np.asarray(img)
    except (UnidentifiedImageError, OSError) as exc:
        raise InvalidInput(f"mask {name} does not decode: {exc}") from None
    if size is not None and mask.shape != size:
        raise InvalidInput(
            f"mask {name} is {mask.shape[1]}x{mask.shape[0]}, but its image is {size[1]}x{size[0]}"
        )
    bad = (mask >= n_classes) & (mask != ignore_index)
    if bad.any():
        value = int(mask[bad][0])
        raise InvalidInput(
            f"mask {name} has class index {value}, outside classes.txt "
            f"(0..{n_classes - 1}) and not the ignore index {ignore_index}"
        )
    return mask
