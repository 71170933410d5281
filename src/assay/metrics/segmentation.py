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


def _masked_mean(values: NDArray[Any], keep: NDArray[np.bool_]) -> NDArray[np.float64]:
    count = keep.sum(axis=-1)
    total = np.where(keep, values, 0.0).sum(axis=-1)
    return np.where(count > 0, total / np.maximum(count, 1), 0.0)


MEANS = ("mIoU", "pixel_accuracy", "mean_accuracy", "fwIoU", "mDice")
COLUMNS = ("hits", "truth_pixels", "pred_pixels")  # per-image columns of ImageCounts


def from_counts(
    tp: NDArray[Any], truth: NDArray[Any], pred: NDArray[Any]
) -> dict[str, NDArray[np.float64]]:
    """The five summary numbers from per-class hits, ground-truth and predicted pixels; any
    leading axes (e.g. bootstrap resamples) are kept."""
    tp, truth, pred = (np.asarray(x, dtype=np.float64) for x in (tp, truth, pred))
    union = truth + pred - tp
    iou = _safe(tp, union)
    total = truth.sum(axis=-1)
    share = _safe(truth, np.broadcast_to(total[..., None], truth.shape))
    return {
        "mIoU": _masked_mean(iou, union > 0),
        "pixel_accuracy": _safe(tp.sum(axis=-1), total),
        "mean_accuracy": _masked_mean(_safe(tp, truth), truth > 0),
        "fwIoU": (share * iou).sum(axis=-1),
        "mDice": _masked_mean(_safe(2 * tp, truth + pred), union > 0),
    }


def from_confusion(cm: NDArray[np.int64], classes: Sequence[str]) -> dict[str, Any]:
    tp = np.diag(cm).astype(np.float64)
    truth = cm.sum(axis=1).astype(np.float64)
    pred = cm.sum(axis=0).astype(np.float64)
    iou = _safe(tp, truth + pred - tp)
    acc = _safe(tp, truth)
    return {
        **{k: float(v) for k, v in from_counts(tp, truth, pred).items()},
        "per_class": {
            name: {"IoU": float(iou[i]), "accuracy": float(acc[i]), "pixels": int(truth[i])}
            for i, name in enumerate(classes)
        },
    }


def image_counts(
    truth: NDArray[Any], pred: NDArray[Any], n: int, ignore_index: int
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
    """One image's per-class (hits, ground-truth pixels, predicted pixels), ignored pixels
    left out: enough to recompute every summary number over any set of images."""
    t = truth.reshape(-1).astype(np.int64)
    p = pred.reshape(-1).astype(np.int64)
    keep = t != ignore_index
    t, p = t[keep], p[keep]
    return (
        np.bincount(t[t == p], minlength=n),
        np.bincount(t, minlength=n),
        np.bincount(p, minlength=n),
    )


class ImageCounts:
    """The summary numbers of one evaluation under any weighting of its images (the
    bootstrap over images), from the per-sample columns ``hits``, ``truth_pixels`` and
    ``pred_pixels``; with every image counted once they equal the evaluation's own."""

    def __init__(
        self,
        hits: Sequence[Sequence[int]],
        truth_pixels: Sequence[Sequence[int]],
        pred_pixels: Sequence[Sequence[int]],
    ) -> None:
        self.tp, self.truth, self.pred = (
            np.asarray(x, dtype=np.float64) for x in (hits, truth_pixels, pred_pixels)
        )

    def __call__(self, weights: NDArray[Any]) -> dict[str, NDArray[np.float64]]:
        w = np.asarray(weights, dtype=np.float64)
        return from_counts(w @ self.tp, w @ self.truth, w @ self.pred)
