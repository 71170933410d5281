"""A picture of one sample of an evaluation, drawn on the server with Pillow.

The sample is looked up in the evaluation's per-sample rows (by ``id``, or by ``file`` for
detection rows); its image is then looked up by that row's path in the dataset commit's
manifest and read from the blob store by hash. No filesystem path is ever built from the
client's string: an id that is not a row, or a row whose path is not a file of the commit, is
"not found".

What is drawn depends on the rows' columns:
- detection (``dt_bbox``/``dt_score``; ground truth from the commit's ``annotations.json``):
  the true boxes in green and the predicted boxes scoring at least ``min_score`` in red;
- segmentation (``mask``): the true mask over the image, and beside it the predicted mask
  the evaluation kept in its rows (``pred_mask``, a PNG; older evaluations have none);
- classification (``label``/``prediction``): the image with ``label → prediction`` below;
- anything else whose id or file is an image of the commit: the image alone.
"""

from __future__ import annotations

import io
import json
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from assay.core.errors import InvalidInput, NotFound
from assay.db.models import Commit
from assay.services import evaluations, history, hub
from assay.services.context import Ctx
from assay.services.samples import read_table

GREEN = (0, 220, 0)
RED = (255, 0, 0)
MAX_SOURCE_PIXELS = 50_000_000  # a larger picture is refused rather than decoded
MIN_SIZE, MAX_SIZE = 16, 1024
COCO_FILE = "annotations.json"
_IMAGE_EXT = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")


class _Cache:
    """A few recent immutable things by content hash (tables, manifests, COCO indexes), so a
    page of 50 thumbnails reads each once."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.items: OrderedDict[str, Any] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: str, make: Any) -> Any:
        with self.lock:
            if key in self.items:
                self.items.move_to_end(key)
                return self.items[key]
        value = make()
        with self.lock:
            self.items[key] = value
            while len(self.items) > self.size:
                self.items.popitem(last=False)
        return value


_rows = _Cache(4)
_manifests = _Cache(4)
_coco = _Cache(2)


@dataclass(frozen=True)
class _Rows:
    columns: list[str]
    by_key: dict[str, int]  # str(id) and file -> row number (first wins)
    table: Any


def _index_rows(ctx: Ctx, sha256: str) -> _Rows:
    table = read_table(ctx, sha256)
    by_key: dict[str, int] = {}
    for column in ("id", "file"):
        if column in table.column_names:
            for i, value in enumerate(table.column(column).to_pylist()):
                if value is not None:
                    by_key.setdefault(str(value), i)
    return _Rows(table.column_names, by_key, table)


def _coco_index(ctx: Ctx, sha256: str) -> dict[str, Any]:
    raw = json.loads(ctx.store.read_bytes(sha256))
    images = {im.get("id"): im for im in raw.get("images", []) if isinstance(im, dict)}
    boxes: dict[Any, list[list[float]]] = {}
    for ann in raw.get("annotations", []):
        if isinstance(ann, dict) and isinstance(ann.get("bbox"), list):
            boxes.setdefault(ann.get("image_id"), []).append(ann["bbox"])
    return {"images": images, "boxes": boxes}


def _open(ctx: Ctx, sha256: str, path: str) -> Any:
    from PIL import Image

    try:
        with ctx.store.open(sha256) as f:
            picture = Image.open(io.BytesIO(f.read()))
            if picture.width * picture.height > MAX_SOURCE_PIXELS:
                raise InvalidInput(f"{path} is too large to preview")
            picture.load()
    except InvalidInput:
        raise
    except Exception as exc:  # not an image Pillow reads, or a decompression bomb
        raise InvalidInput(f"cannot read {path} as an image: {exc}") from None
    return picture


def _overlay(picture: Any, labels: Any) -> Any:
    """Class colours blended over the picture; background (0) and ignored (255) left clear."""
    import numpy as np
    from PIL import Image

    mask = Image.fromarray(labels.astype(np.uint8)).resize(picture.size, Image.Resampling.NEAREST)
    classes = np.asarray(mask)
    shown = (classes > 0) & (classes < 255)
    palette = np.array(
        [[(37 * k) % 256, (97 * k + 80) % 256, (173 * k + 160) % 256] for k in range(256)],
        dtype=np.uint8,
    )
    base = np.asarray(picture.convert("RGB")).copy()
    base[shown] = (base[shown] // 2 + palette[classes[shown]] // 2).astype(np.uint8)
    return Image.fromarray(base)


def _fit(picture: Any, size: int) -> tuple[Any, float]:
    """The picture as RGB with its longer side ``size`` (small ones enlarged without
    smoothing); the scale applied."""
    from PIL import Image

    rgb = picture.convert("RGB")
    scale = size / max(rgb.width, rgb.height)
    shape = (max(1, round(rgb.width * scale)), max(1, round(rgb.height * scale)))
    smooth = Image.Resampling.NEAREST if scale >= 1 else Image.Resampling.BILINEAR
    return rgb.resize(shape, smooth), scale


def _caption(picture: Any, text: str, colour: tuple[int, int, int]) -> Any:
    from PIL import Image, ImageDraw

    band = 14
    out = Image.new("RGB", (max(picture.width, 8), picture.height + band), (255, 255, 255))
    out.paste(picture, (0, 0))
    ImageDraw.Draw(out).text((2, picture.height + 1), text, fill=colour)
    return out


def render(
    ctx: Ctx, evaluation_id: str, sample: str, *, size: int = 256, min_score: float = 0.5
) -> bytes:
    """The PNG preview of one sample (see the module's docstring)."""
    from PIL import Image, ImageDraw

    if not MIN_SIZE <= size <= MAX_SIZE:
        raise InvalidInput(f"size must be between {MIN_SIZE} and {MAX_SIZE}")
    ev = evaluations.get(ctx, evaluation_id)
    missing = NotFound(f"evaluation {evaluation_id} has no sample {sample!r} with an image")
    if ev.samples_sha256 is None:
        raise missing
    rows: _Rows = _rows.get(ev.samples_sha256, lambda: _index_rows(ctx, ev.samples_sha256))
    i = rows.by_key.get(sample)
    if i is None:
        raise missing
    row = {c: rows.table.column(c)[i].as_py() for c in rows.columns}
    commit = ctx.session.get(Commit, ev.dataset_commit_id)
    if commit is None:
        raise missing
    hub.get_asset(ctx, commit.asset_id)  # the dataset must be visible to the caller too
    manifest = _manifests.get(commit.manifest_sha256, lambda: history.read_manifest(ctx, commit))
    path = next(
        (
            p
            for p in (row.get("file"), row.get("id"))
            if isinstance(p, str) and p in manifest and p.lower().endswith(_IMAGE_EXT)
        ),
        None,
    )
    if path is None:
        raise missing
    picture, scale = _fit(_open(ctx, manifest[path].sha256, path), size)
    width = max(1, size // 128)

    if "dt_bbox" in row and COCO_FILE in manifest:
        coco = _coco.get(
            manifest[COCO_FILE].sha256, lambda: _coco_index(ctx, manifest[COCO_FILE].sha256)
        )
        image = coco["images"].get(row.get("id"), {})
        sx = picture.width / float(image.get("width") or picture.width / scale)
        sy = picture.height / float(image.get("height") or picture.height / scale)
        draw = ImageDraw.Draw(picture)
        predicted = [
            b
            for b, s in zip(row.get("dt_bbox") or [], row.get("dt_score") or [], strict=False)
            if s is not None and s >= min_score
        ]
        for boxes, colour in ((coco["boxes"].get(row.get("id"), []), GREEN), (predicted, RED)):
            for x, y, w, h in (b[:4] for b in boxes if len(b) >= 4):
                draw.rectangle(
                    [x * sx, y * sy, (x + w) * sx - 1, (y + h) * sy - 1],
                    outline=colour,
                    width=width,
                )
    elif isinstance(row.get("mask"), str) and row["mask"] in manifest:
        import numpy as np

        truth = np.asarray(_open(ctx, manifest[row["mask"]].sha256, row["mask"]))
        if truth.ndim == 2:
            true_view = _overlay(picture, truth)
            kept = row.get("pred_mask")
            if isinstance(kept, bytes):  # kept by evaluations since 2026-11-23
                with Image.open(io.BytesIO(kept)) as found:
                    pred_view = _overlay(picture, np.asarray(found))
                both = Image.new("RGB", (picture.width * 2 + 4, picture.height), (255, 255, 255))
                both.paste(true_view, (0, 0))
                both.paste(pred_view, (picture.width + 4, 0))
                picture = _caption(both, "true mask | predicted mask", (0, 0, 0))
            else:
                picture = _caption(true_view, "true mask", (0, 0, 0))
    elif "label" in row and "prediction" in row:
        right = row["label"] == row["prediction"]
        picture = _caption(
            picture, f"{row['label']} -> {row['prediction']}", GREEN if right else RED
        )
    out = io.BytesIO()
    picture.save(out, "PNG")
    return out.getvalue()
