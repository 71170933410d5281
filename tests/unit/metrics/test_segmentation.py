"""Segmentation metrics equal a slow, obvious reference (per-class boolean masks)."""

from __future__ import annotations

import numpy as np
import pytest

from assay.metrics.segmentation import from_confusion, update


def _reference(pairs: list[tuple[np.ndarray, np.ndarray]], n: int, ignore: int) -> dict[str, float]:
    inter = np.zeros(n)
    union = np.zeros(n)
    truth_px = np.zeros(n)
    pred_px = np.zeros(n)
    for truth, pred in pairs:
        valid = truth != ignore
        for c in range(n):
            t = (truth == c) & valid
            p = (pred == c) & valid
            inter[c] += (t & p).sum()
            union[c] += (t | p).sum()
            truth_px[c] += t.sum()
            pred_px[c] += p.sum()
    present = union > 0
    iou = [inter[c] / union[c] for c in range(n) if present[c]]
    dice = [2 * inter[c] / (truth_px[c] + pred_px[c]) for c in range(n) if present[c]]
    acc = [inter[c] / truth_px[c] for c in range(n) if truth_px[c] > 0]
    total = truth_px.sum()
    fw = sum(truth_px[c] / total * inter[c] / union[c] for c in range(n) if present[c])
    return {
        "mIoU": float(np.mean(iou)),
        "mDice": float(np.mean(dice)),
        "mean_accuracy": float(np.mean(acc)),
        "pixel_accuracy": inter.sum() / total,
        "fwIoU": float(fw),
    }


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_equal_to_the_reference(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, ignore = 6, 255
    pairs = []
    for _ in range(5):
        truth = rng.integers(0, n - 1, (37, 23))  # class n-1 never in the ground truth
        truth[rng.random(truth.shape) < 0.1] = ignore
        pred = np.where(rng.random(truth.shape) < 0.7, truth, rng.integers(0, n - 2, truth.shape))
        pred[pred == ignore] = 0
        pairs.append((truth, pred))
    cm = np.zeros((n, n), dtype=np.int64)
    for truth, pred in pairs:
        update(cm, truth, pred, ignore)
    got = from_confusion(cm, [str(c) for c in range(n)])
    ref = _reference(pairs, n, ignore)
    for key, value in ref.items():
        assert got[key] == pytest.approx(value, abs=1e-12), key
    assert got["per_class"][str(n - 1)]["pixels"] == 0


def test_image_counts_recompute_the_metrics_for_any_weighting() -> None:
    """Per-image pixel counts give the summary numbers of the whole set, and of a bootstrap
    draw (images repeated or left out) the numbers of that set built by hand."""
    from assay.metrics.segmentation import MEANS, ImageCounts, image_counts

    rng = np.random.default_rng(4)
    n = 5
    pairs = [(rng.integers(0, n, (9, 7)), rng.integers(0, n, (9, 7))) for _ in range(12)]
    for truth, _ in pairs:
        truth[rng.random(truth.shape) < 0.1] = 255
    counts = [image_counts(t, p, n, 255) for t, p in pairs]
    stat = ImageCounts(*([c[k].tolist() for c in counts] for k in range(3)))
    weights = np.array([rng.multinomial(12, np.full(12, 1 / 12)), np.ones(12, dtype=int)])
    got = stat(weights)
    for row, w in enumerate(weights):
        cm = np.zeros((n, n), dtype=np.int64)
        for (truth, pred), times in zip(pairs, w, strict=True):
            for _ in range(int(times)):
                update(cm, truth, pred, 255)
        expected = from_confusion(cm, [str(c) for c in range(n)])
        for key in MEANS:
            assert got[key][row] == pytest.approx(expected[key], abs=1e-12), key
