"""Semantic-segmentation metrics from one streaming confusion matrix.

Pixels whose ground truth is the ignore index are left out. Conventions (documented in
docs/models.md): a class that appears neither in the ground truth nor in the predictions is
left out of every mean; ``mean_accuracy`` averages over classes present in the ground truth;
``fwIoU`` weights each class's IoU by its share of ground-truth pixels. Memory is O(classes²)
whatever the number or size of the images.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray


def update(
    cm: NDArray[np.int64], truth: NDArray[Any], pred: NDArray[Any], ignore_index: int
) -> None:
    """Add one image to ``cm`` (rows: truth, columns: prediction) in place."""
    n = cm.shape[0]
    t = truth.reshape(-1).astype(np.int64)
    p = pred.reshape(-1).astype(np.int64)
    keep = t != ignore_index
    t, p = t[keep], p[keep]
    cm += np.bincount(t * n + p, minlength=n * n).reshape(n, n)


def _safe(num: NDArray[Any], den: NDArray[Any]) -> NDArray[np.float64]:
    out = np.zeros(num.shape, dtype=np.float64)
    nz = den > 0
    out[nz] = num[nz] / den[nz]
    return out


def from_confusion(cm: NDArray[np.int64], classes: Sequence[str]) -> dict[str, Any]:
    tp = np.diag(cm).astype(np.float64)
    truth = cm.sum(axis=1).astype(np.float64)
    pred = cm.sum(axis=0).astype(np.float64)
    union = truth + pred - tp
    iou = _safe(tp, union)
    acc = _safe(tp, truth)
    dice = _safe(2 * tp, truth + pred)
    present = union > 0
    in_truth = truth > 0
    total = truth.sum()
    return {
        "mIoU": float(iou[present].mean()) if present.any() else 0.0,
        "pixel_accuracy": float(tp.sum() / total) if total else 0.0,
        "mean_accuracy": float(acc[in_truth].mean()) if in_truth.any() else 0.0,
        "fwIoU": float((truth / total * iou).sum()) if total else 0.0,
        "mDice": float(dice[present].mean()) if present.any() else 0.0,
        "per_class": {
            name: {"IoU": float(iou[i]), "accuracy": float(acc[i]), "pixels": int(truth[i])}
            for i, name in enumerate(classes)
        },
    }


def image_scores(
    truth: NDArray[Any], pred: NDArray[Any], n: int, ignore_index: int
) -> tuple[float, float]:
    """(pixel accuracy, mean IoU over the classes present) of one image."""
    cm = np.zeros((n, n), dtype=np.int64)
    update(cm, truth, pred, ignore_index)
    m = from_confusion(cm, [str(i) for i in range(n)])
    return m["pixel_accuracy"], m["mIoU"]
