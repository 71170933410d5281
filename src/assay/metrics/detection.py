"""COCO bounding-box evaluation, run by faster-coco-eval (a C++ implementation of
pycocotools' COCOeval); tests prove all twelve numbers equal pycocotools' on the same input.

Keys follow ``COCOeval.stats`` in order. Like pycocotools, a number that is undefined (no
ground truth in that area range) is -1.
"""

from __future__ import annotations

import contextlib
import io
from typing import Any

import numpy as np

STAT_KEYS = ("AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10", "AR100", "ARs", "ARm", "ARl")


def coco_bbox(gt: dict[str, Any], detections: list[dict[str, Any]]) -> dict[str, Any]:
    from faster_coco_eval import COCO, COCOeval_faster

    names = {c["id"]: c["name"] for c in gt["categories"]}
    if not detections:
        return {
            **dict.fromkeys(STAT_KEYS, 0.0),
            "per_class": {n: {"AP": 0.0} for n in names.values()},
        }
    with contextlib.redirect_stdout(io.StringIO()):
        truth = COCO()
        # Shallow copies: the COCO API adds fields to the dicts it is given.
        truth.dataset = {**gt, "annotations": [dict(a) for a in gt["annotations"]]}
        truth.createIndex()
        found = truth.loadRes([dict(d) for d in detections])
        ev = COCOeval_faster(truth, found, "bbox")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    out: dict[str, Any] = {k: float(v) for k, v in zip(STAT_KEYS, ev.stats[:12], strict=True)}
    precision = ev.eval["precision"]  # [iou, recall, class, area, max dets]
    per_class = {}
    for k, cat_id in enumerate(ev.params.catIds):
        p = precision[:, :, k, 0, -1]
        p = p[p > -1]
        per_class[names[cat_id]] = {"AP": float(np.mean(p)) if p.size else -1.0}
    out["per_class"] = per_class
    curves = precision[:, :, :, 0, -1]  # mean PR curve over classes at each IoU
    out["_pr"] = {
        iou: [
            float(np.mean(v[v > -1])) if (v > -1).any() else 0.0
            for v in curves[i].reshape(curves.shape[1], -1)
        ]
        for i, iou in ((0, "0.50"), (5, "0.75"))
    }
    return out
