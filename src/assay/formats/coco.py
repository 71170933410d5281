"""Object-detection datasets: a COCO instances file ``annotations.json`` at the dataset root,
with ``images`` (``id``, ``file_name`` relative to the root, ``width``, ``height``),
``annotations`` (``id``, ``image_id``, ``category_id``, ``bbox`` [x, y, w, h], ``area``,
``iscrowd``) and ``categories`` (``id``, ``name``). Errors name the list, index and field."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assay.core.errors import InvalidInput
from assay.formats import Files

FILE = "annotations.json"


@dataclass(frozen=True)
class CocoData:
    raw: dict[str, Any]
    images: list[dict[str, Any]]  # sorted by id
    categories: dict[int, str]

    def shard(self, index: int, count: int) -> list[dict[str, Any]]:
        n = len(self.images)
        return self.images[index * n // count : (index + 1) * n // count]


def _need(item: Any, key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if (
        not isinstance(item, dict)
        or key not in item
        or not isinstance(item[key], kind)
        or isinstance(item[key], bool)
    ):
        raise InvalidInput(f"{FILE}: {where} needs {key!r} ({getattr(kind, '__name__', kind)})")
    return item[key]


def load(root: Path, *, check_files: bool = True) -> CocoData:
    files = Files(root)
    text = files.read_text(FILE)
    if text is None:
        raise InvalidInput(f"the dataset has no {FILE} (COCO instances format)")
    try:
        raw = json.loads(text)
    except ValueError as exc:
        raise InvalidInput(f"{FILE} is not valid JSON: {exc}") from None
    if not isinstance(raw, dict):
        raise InvalidInput(f"{FILE} must be a JSON object")
    for key in ("images", "annotations", "categories"):
        if not isinstance(raw.get(key), list):
            raise InvalidInput(f"{FILE} needs a list {key!r}")
    categories = {}
    for i, cat in enumerate(raw["categories"]):
        categories[_need(cat, "id", int, f"categories[{i}]")] = str(
            _need(cat, "name", str, f"categories[{i}]")
        )
    images = {}
    for i, img in enumerate(raw["images"]):
        where = f"images[{i}]"
        image_id = _need(img, "id", int, where)
        name = _need(img, "file_name", str, where)
        _need(img, "width", int, where)
        _need(img, "height", int, where)
        if image_id in images:
            raise InvalidInput(f"{FILE}: {where} repeats image id {image_id}")
        if check_files and files.get(name) is None:
            raise InvalidInput(f"{FILE}: {where} names {name!r}, not a file of the dataset")
        images[image_id] = img
    for i, ann in enumerate(raw["annotations"]):
        where = f"annotations[{i}]"
        _need(ann, "id", int, where)
        if _need(ann, "image_id", int, where) not in images:
            raise InvalidInput(
                f"{FILE}: {where} points at image {ann['image_id']}, which is not in 'images'"
            )
        if _need(ann, "category_id", int, where) not in categories:
            raise InvalidInput(
                f"{FILE}: {where} has category {ann['category_id']}, which is not in 'categories'"
            )
        box = _need(ann, "bbox", list, where)
        if (
            len(box) != 4
            or not all(isinstance(v, int | float) for v in box)
            or box[2] < 0
            or box[3] < 0
        ):
            raise InvalidInput(
                f"{FILE}: {where} bbox must be [x, y, width, height] with non-negative size"
            )
        _need(ann, "area", (int, float), where)
        if ann.get("iscrowd", 0) not in (0, 1):
            raise InvalidInput(f"{FILE}: {where} iscrowd must be 0 or 1")
    return CocoData(
        raw=raw, images=sorted(images.values(), key=lambda im: im["id"]), categories=categories
    )
