"""COCO bbox evaluation: Assay vs pycocotools vs faster-coco-eval on the same generated input.

Two cases: 5,000 images x 100 detections, and a dense one (50 images x 1,000 detections).
All twelve stats are checked equal to pycocotools' before anything is timed.
"""

from __future__ import annotations

import contextlib
import copy
import io
import time
from typing import Any

import numpy as np

from assay.metrics.detection import STAT_KEYS, coco_bbox


def make(images: int, dets_per_image: int, seed: int = 0) -> tuple[dict[str, Any], list[Any]]:
    rng = np.random.default_rng(seed)
    imgs = [
        {"id": i, "file_name": f"{i}.jpg", "width": 640, "height": 480}
        for i in range(1, images + 1)
    ]
    cats = [{"id": c, "name": f"c{c}"} for c in range(1, 11)]
    anns: list[dict[str, Any]] = []
    dets: list[dict[str, Any]] = []
    for im in imgs:
        n = int(rng.integers(1, max(2, dets_per_image // 4)))
        wh = rng.uniform(4, 200, (n, 2))
        xy = rng.uniform(0, 400, (n, 2))
        cat = rng.integers(1, 11, n)
        for k in range(n):
            anns.append(
                {
                    "id": len(anns) + 1,
                    "image_id": im["id"],
                    "category_id": int(cat[k]),
                    "bbox": [*xy[k].tolist(), *wh[k].tolist()],
                    "area": float(wh[k].prod()),
                    "iscrowd": int(rng.random() < 0.02),
                }
            )
        boxes = np.concatenate(
            [
                np.concatenate([xy, wh], 1) + rng.normal(0, 6, (n, 4)),
                rng.uniform(0, 300, (dets_per_image - n, 4)),
            ]
        )[:dets_per_image]
        boxes[:, 2:] = np.abs(boxes[:, 2:]) + 1
        labels = np.concatenate([cat, rng.integers(1, 11, dets_per_image)])[:dets_per_image]
        scores = rng.random(dets_per_image)
        for b, c, s in zip(boxes.tolist(), labels.tolist(), scores.tolist(), strict=True):
            dets.append({"image_id": im["id"], "category_id": c, "bbox": b, "score": s})
    return {"images": imgs, "annotations": anns, "categories": cats}, dets


def peer_stats(coco: type, cocoeval: type, gt: dict[str, Any], dets: list[Any]) -> list[float]:
    """The twelve stats of a pycocotools-style COCO / COCOeval pair."""
    with contextlib.redirect_stdout(io.StringIO()):
        truth = coco()
        truth.dataset = copy.deepcopy(gt)
        truth.createIndex()
        ev = cocoeval(truth, truth.loadRes(copy.deepcopy(dets)), "bbox")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return [float(x) for x in ev.stats[:12]]


def timed(fn, *args):  # type: ignore[no-untyped-def]
    t = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - t


def main() -> None:
    from faster_coco_eval import COCO as FasterCOCO  # imported before any timing
    from faster_coco_eval import COCOeval_faster
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    for images, per in ((5000, 100), (50, 1000)):
        gt, dets = make(images, per)
        ours, t_ours = timed(coco_bbox, gt, dets)
        ref, t_ref = timed(peer_stats, COCO, COCOeval, gt, dets)
        fast, t_fast = timed(peer_stats, FasterCOCO, COCOeval_faster, gt, dets)
        assert max(abs(ours[k] - r) for k, r in zip(STAT_KEYS, ref, strict=True)) <= 1e-9
        assert max(abs(a - b) for a, b in zip(fast, ref, strict=True)) <= 1e-9
        print(
            f"COCO bbox, {images:,} images x {per:,} detections "
            f"({len(gt['annotations']):,} boxes), all 12 stats equal to pycocotools"
        )
        print(f"  {'assay':<18}{t_ours:8.2f} s")
        print(f"  {'faster-coco-eval':<18}{t_fast:8.2f} s   ratio {t_fast / t_ours:.2f}x")
        print(f"  {'pycocotools':<18}{t_ref:8.2f} s   ratio {t_ref / t_ours:.2f}x")


if __name__ == "__main__":
    main()
