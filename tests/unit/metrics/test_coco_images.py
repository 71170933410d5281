"""COCO AP under any weighting of the images (the bootstrap over images) equals pycocotools:
with each image once, and with images repeated or left out (a dataset built that way)."""

from __future__ import annotations

import contextlib
import io
import json
from collections import defaultdict
from typing import Any

import numpy as np
import pytest
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from assay.metrics.coco_images import ImageAP, match_image


def _data(seed: int, n: int = 30) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Crowd boxes, images without boxes, one image with > 100 detections, a category with
    detections but no ground truth (4) and one with ground truth but no detections (3)."""
    rng = np.random.default_rng(seed)
    images = [{"id": i, "file_name": f"{i}.png", "width": 320, "height": 240} for i in range(n)]
    anns: list[dict[str, Any]] = []
    dets: list[dict[str, Any]] = []
    for im in images:
        for _ in range(0 if im["id"] % 6 == 0 else int(rng.integers(1, 7))):
            w, h = rng.uniform(4, 100, 2)
            x, y = rng.uniform(0, 200, 2)
            cat = int(rng.choice([1, 2, 3]))
            anns.append(
                {
                    "id": len(anns) + 1,
                    "image_id": im["id"],
                    "category_id": cat,
                    "bbox": [x, y, w, h],
                    "area": w * h,
                    "iscrowd": int(rng.random() < 0.15),
                }
            )
            if cat != 3 and rng.random() < 0.8:
                j = rng.normal(0, 5, 4)
                box = [x + j[0], y + j[1], max(1.0, w + j[2]), max(1.0, h + j[3])]
                dets.append({"image_id": im["id"], "category_id": cat, "bbox": box})
        for _ in range(120 if im["id"] == 1 else int(rng.integers(0, 5))):
            w, h = rng.uniform(2, 80, 2)
            box = [*rng.uniform(0, 200, 2).tolist(), float(w), float(h)]
            dets.append(
                {"image_id": im["id"], "category_id": int(rng.choice([1, 2, 4])), "bbox": box}
            )
    for d in dets:
        d["score"] = float(rng.random())
    cats = [{"id": c, "name": f"c{c}"} for c in (1, 2, 3, 4)]
    return {"images": images, "annotations": anns, "categories": cats}, dets


def _pycocotools(gt: dict[str, Any], dets: list[dict[str, Any]]) -> COCOeval:
    with contextlib.redirect_stdout(io.StringIO()):
        truth = COCO()
        truth.dataset = json.loads(json.dumps(gt))
        truth.createIndex()
        ev = COCOeval(truth, truth.loadRes(json.loads(json.dumps(dets))), "bbox")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return ev


def _columns(gt: dict[str, Any], dets: list[dict[str, Any]]) -> dict[str, list[Any]]:
    by_gt, by_dt = defaultdict(list), defaultdict(list)
    for a in gt["annotations"]:
        by_gt[a["image_id"]].append(a)
    for d in dets:
        by_dt[d["image_id"]].append(d)
    cols: dict[str, list[Any]] = defaultdict(list)
    for im in sorted(gt["images"], key=lambda im: im["id"]):
        for k, v in match_image(by_gt[im["id"]], by_dt[im["id"]]).items():
            cols[k].append(v)
    return cols


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_each_image_once_equals_pycocotools(seed: int) -> None:
    gt, dets = _data(seed)
    ev = _pycocotools(gt, dets)
    got = ImageAP(**_columns(gt, dets))(np.ones((1, len(gt["images"]))))
    assert [got[k][0] for k in ("AP", "AP50", "AP75")] == pytest.approx(ev.stats[:3], abs=1e-12)


def test_matches_equal_pycocotools_per_image() -> None:
    gt, dets = _data(5)
    ev = _pycocotools(gt, dets)
    cols = _columns(gt, dets)
    bits = 1 << np.arange(10)
    checked = 0
    for e in ev.evalImgs:
        if e is None or e["aRng"] != [0, 1e10] or e["maxDet"] != 100:
            continue
        row = sorted(im["id"] for im in gt["images"]).index(e["image_id"])
        mine = [k for k, c in enumerate(cols["dt_category"][row]) if c == e["category_id"]]
        match = np.array([cols["dt_match"][row][k] for k in mine], dtype=np.int64)
        ignore = np.array([cols["dt_ignore"][row][k] for k in mine], dtype=np.int64)
        assert np.array_equal((match[None, :] & bits[:, None]) != 0, e["dtMatches"] > 0)
        assert np.array_equal((ignore[None, :] & bits[:, None]) != 0, e["dtIgnore"])
        counted = cols["gt_category"][row].count(e["category_id"])
        assert counted == int(np.count_nonzero(~np.asarray(e["gtIgnore"], dtype=bool)))
        checked += 1
    assert checked > 50


def test_repeated_and_dropped_images_equal_pycocotools_on_that_dataset() -> None:
    gt, dets = _data(3)
    rng = np.random.default_rng(7)
    weights = rng.multinomial(len(gt["images"]), np.full(len(gt["images"]), 1 / len(gt["images"])))
    # The same draw as a dataset: each image copied as often as it was drawn.
    images, anns, found = [], [], []
    for im, times in zip(sorted(gt["images"], key=lambda im: im["id"]), weights, strict=True):
        for copy in range(int(times)):
            new = 1000 * copy + im["id"]
            images.append({**im, "id": new})
            anns += [
                {**a, "id": len(anns) + k + 1, "image_id": new}
                for k, a in enumerate(a for a in gt["annotations"] if a["image_id"] == im["id"])
            ]
            found += [{**d, "image_id": new} for d in dets if d["image_id"] == im["id"]]
    ev = _pycocotools({**gt, "images": images, "annotations": anns}, found)
    got = ImageAP(**_columns(gt, dets))(np.stack([weights, np.ones_like(weights)]))
    assert [got[k][0] for k in ("AP", "AP50", "AP75")] == pytest.approx(ev.stats[:3], abs=1e-12)
