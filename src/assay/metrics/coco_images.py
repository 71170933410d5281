"""COCO AP as a function of how often each image counts: the bootstrap over images.

COCO AP is not a mean of per-image numbers, so comparing two detectors needs more than a
per-sample column. Each image's detections are matched once, by COCOeval's rules, and kept
with the evaluation's per-sample rows (:func:`match_image`); :func:`average_precision` then
recomputes AP, AP50 and AP75 for any multiplicity of the images (a bootstrap resample draws
each image 0, 1, 2… times) without matching again. With every image counted once it equals
pycocotools' ``COCOeval.stats[0:3]`` (tested), because it follows ``evaluateImg`` and
``accumulate`` for the area range ``all`` and 100 detections per image:

- ground truth marked ``iscrowd`` (or outside the area range) is ignored: a detection
  matched to it is neither a hit nor a false positive, and it is never missed;
- each detection, best score first, takes the free ground truth of its category with the
  highest IoU at or above the threshold (the last such one on ties), preferring ground
  truth that is not ignored;
- precision is made monotone from the right and read at the 101 recall thresholds;
  categories with no ground truth to find are left out of the mean.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

IOU_THRESHOLDS = np.linspace(0.5, 0.95, 10)  # as pycocotools' Params
RECALL_THRESHOLDS = np.linspace(0.0, 1.0, 101)
MAX_DETS = 100
AREA_ALL = (0.0, 1e5**2)
# (key, IoU-threshold indices) of the numbers the bootstrap recomputes.
AP_KEYS = {"AP": slice(None), "AP50": slice(0, 1), "AP75": slice(5, 6)}
COLUMNS = ("dt_category", "dt_score", "dt_match", "dt_ignore", "gt_category")
CELLS = 4_000_000  # bounds resamples x thresholds x detections held at once


def match_image(gts: list[dict[str, Any]], dets: list[dict[str, Any]]) -> dict[str, list[int]]:
    """One image's detections matched to its ground truth at every IoU threshold.

    Returns per-sample columns: ``dt_category``, ``dt_score`` (best first within each
    category, at most 100 per category), ``dt_match`` and ``dt_ignore`` (bit ``t`` set: a hit
    / ignored at threshold ``t``), and ``gt_category`` (the categories of the ground truth
    that counts, one entry per box)."""
    from faster_coco_eval.core import mask

    out: dict[str, list[Any]] = defaultdict(list)
    cats = sorted({g["category_id"] for g in gts} | {d["category_id"] for d in dets})
    for cat in cats:
        g = [a for a in gts if a["category_id"] == cat]
        d = [a for a in dets if a["category_id"] == cat]
        ignored = np.array(
            [bool(a.get("iscrowd")) or not AREA_ALL[0] <= a["area"] <= AREA_ALL[1] for a in g],
            dtype=bool,
        )
        order = np.argsort(ignored, kind="mergesort")  # ground truth that counts first
        g = [g[i] for i in order]
        ignored = ignored[order]
        crowd = np.array([bool(a.get("iscrowd")) for a in g], dtype=bool)
        scores = np.array([a["score"] for a in d], dtype=np.float64)
        d = [d[i] for i in np.argsort(-scores, kind="mergesort")[:MAX_DETS]]
        hit, skip = _match(d, g, ignored, crowd, mask)
        out["dt_category"] += [cat] * len(d)
        out["dt_score"] += [float(det["score"]) for det in d]
        out["dt_match"] += _bits(hit)
        out["dt_ignore"] += _bits(skip)
        out["gt_category"] += [cat] * int(np.count_nonzero(~ignored))
    return {k: out.get(k, []) for k in COLUMNS}


def _bits(flags: NDArray[np.bool_]) -> list[int]:
    """Thresholds x detections flags as one integer per detection (bit t: threshold t)."""
    weights = 1 << np.arange(flags.shape[0], dtype=np.int64)
    return (weights @ flags.astype(np.int64)).tolist()  # type: ignore[no-any-return]


def _match(
    d: list[dict[str, Any]],
    g: list[dict[str, Any]],
    ignored: NDArray[np.bool_],
    crowd: NDArray[np.bool_],
    mask: Any,
) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
    """(hit, ignored) flags, thresholds x detections, of COCOeval.evaluateImg."""
    t = len(IOU_THRESHOLDS)
    hit = np.zeros((t, len(d)), dtype=bool)
    skip = np.zeros((t, len(d)), dtype=bool)
    if d and g:
        ious = np.asarray(
            mask.iou([a["bbox"] for a in d], [a["bbox"] for a in g], crowd.astype(int).tolist()),
            dtype=np.float64,
        ).reshape(len(d), len(g))
        taken = np.zeros((t, len(g)), dtype=bool)
        floor = np.minimum(IOU_THRESHOLDS, 1 - 1e-10)[:, None]
        rows = np.arange(t)
        # A detection that overlaps nothing enough matches nothing at any threshold.
        for k in np.flatnonzero(ious.max(axis=1) >= floor[0, 0]):
            free = (~taken | crowd) & (ious[k] >= floor)
            pick = np.full(t, -1)
            for tier in (~ignored, ignored):  # ground truth that counts, else ignored
                cand = free & tier & (pick < 0)[:, None]
                value = np.where(cand, ious[k], -1.0)
                best = value.max(axis=1, keepdims=True)
                last = len(g) - 1 - np.argmax((cand & (value == best))[:, ::-1], axis=1)
                pick = np.where(cand.any(axis=1), last, pick)
            found = pick >= 0
            taken[rows[found], pick[found]] = True
            hit[found, k] = True
            skip[found, k] = ignored[pick[found]]
    area = np.array([a["bbox"][2] * a["bbox"][3] for a in d], dtype=np.float64)
    outside = (area < AREA_ALL[0]) | (area > AREA_ALL[1])
    skip |= ~hit & outside[None, :]
    return hit, skip


class ImageAP:
    """AP, AP50 and AP75 of one evaluation under any weighting of its images.

    Built from the per-sample columns of :func:`match_image`, rows in a fixed image order
    (the weights' columns follow it)."""

    def __init__(
        self,
        dt_category: Sequence[Sequence[int]],
        dt_score: Sequence[Sequence[float]],
        dt_match: Sequence[Sequence[int]],
        dt_ignore: Sequence[Sequence[int]],
        gt_category: Sequence[Sequence[int]],
    ) -> None:
        self.images = len(dt_category)
        lengths = np.array([len(c) for c in dt_category], dtype=np.int64)
        image = np.repeat(np.arange(self.images), lengths)
        cat = _flat(dt_category, np.int64)
        score = _flat(dt_score, np.float64)
        match = _flat(dt_match, np.int64)
        ignore = _flat(dt_ignore, np.int64)
        bits = 1 << np.arange(len(IOU_THRESHOLDS), dtype=np.int64)
        gt_lengths = np.array([len(c) for c in gt_category], dtype=np.int64)
        gt_image = np.repeat(np.arange(self.images), gt_lengths)
        gt_cat = _flat(gt_category, np.int64)
        self.categories: list[tuple[Any, ...]] = []
        for c in np.unique(np.concatenate([cat, gt_cat])):
            mine = np.flatnonzero(cat == c)  # image order, best score first within an image
            mine = mine[np.argsort(-score[mine], kind="mergesort")]  # as accumulate sorts
            skip = (ignore[mine, None] & bits) != 0
            tps = ((match[mine, None] & bits) != 0) & ~skip
            # How much ground truth each image holds for this category.
            truth = np.bincount(gt_image[gt_cat == c], minlength=self.images)
            self.categories.append((image[mine], tps.T.copy(), skip.T.copy(), truth))

    def __call__(self, weights: NDArray[Any]) -> dict[str, NDArray[np.float64]]:
        """AP, AP50 and AP75 for each row of ``weights`` (resamples x images)."""
        w = np.asarray(weights, dtype=np.float64)
        per_cat = []  # resamples x thresholds, NaN where a category has nothing to find
        for image, tps, skip, truth in self.categories:
            per_cat.append(_category_precision(w, image, tps, skip, truth))
        stacked = np.stack(per_cat, axis=1)  # resamples x categories x thresholds
        out = {}
        for key, span in AP_KEYS.items():
            cells = stacked[:, :, span]
            with np.errstate(invalid="ignore"):
                out[key] = np.nanmean(cells.reshape(len(w), -1), axis=1)
        return out


def _flat(lists: Sequence[Sequence[Any]], dtype: Any) -> NDArray[Any]:
    return np.fromiter((v for sub in lists for v in sub), dtype=dtype)


def _category_precision(
    w: NDArray[np.float64],
    image: NDArray[np.int64],
    tps: NDArray[np.bool_],
    skip: NDArray[np.bool_],
    truth: NDArray[np.int64],
) -> NDArray[np.float64]:
    """Mean interpolated precision over the recall thresholds: resamples x IoU thresholds.

    Only the hits matter: recall rises at a hit, and the precision envelope's maximum after
    any point is reached at a hit (where false positives are fewest for that recall). So the
    curve is evaluated at the hits alone, with the weight of false positives before each hit
    taken as everything seen so far less the hits and the ignored detections."""
    b, t, n = len(w), tps.shape[0], tps.shape[1]
    npig = w @ truth.astype(np.float64)  # ground truth to find, per resample
    out = np.full((b, t), np.nan)
    step = max(1, CELLS // max(1, n))
    hits = [np.flatnonzero(tps[k]) for k in range(t)]
    ignored = [np.flatnonzero(skip[k]) for k in range(t)]
    for lo in range(0, b, step):
        rows = slice(lo, min(b, lo + step))
        found = npig[rows] > 0
        if not found.any():
            continue
        wd = w[rows][:, image]  # resamples x detections, best score first
        seen = np.cumsum(wd, axis=1)
        value = np.zeros((wd.shape[0], t))
        for k in range(t):
            pos = hits[k]
            if not len(pos):
                continue
            tp = np.cumsum(wd[:, pos], axis=1)
            fp = seen[:, pos] - tp
            if len(ignored[k]):
                before = np.searchsorted(ignored[k], pos)  # ignored detections ahead of a hit
                skipped = np.cumsum(wd[:, ignored[k]], axis=1)
                fp -= np.where(before > 0, skipped[:, np.maximum(before - 1, 0)], 0.0)
            with np.errstate(invalid="ignore", divide="ignore"):
                rc = tp / npig[rows, None]
            pr = tp / (fp + tp + np.spacing(1))
            pr = np.maximum.accumulate(pr[:, ::-1], axis=1)[:, ::-1]
            at = _search_left(rc, RECALL_THRESHOLDS)
            q = np.where(
                at < len(pos), np.take_along_axis(pr, np.minimum(at, len(pos) - 1), axis=1), 0.0
            )
            value[:, k] = q.mean(axis=1)
        value[~found] = np.nan
        out[rows] = value
    return out


def _search_left(a: NDArray[np.float64], v: NDArray[np.float64]) -> NDArray[np.int64]:
    """``np.searchsorted(row, v, side="left")`` for every row of ``a`` (rows sorted), by a
    vectorised binary search: the same comparisons as numpy's, so the same indices."""
    rows, n = a.shape
    lo = np.zeros((rows, len(v)), dtype=np.int64)
    hi = np.full((rows, len(v)), n, dtype=np.int64)
    for _ in range(int(np.ceil(np.log2(n + 1))) + 1):
        active = lo < hi
        if not active.any():
            break
        mid = (lo + hi) // 2
        below = np.take_along_axis(a, np.minimum(mid, n - 1), axis=1) < v[None, :]
        lo = np.where(active & below, mid + 1, lo)
        hi = np.where(active & ~below, mid, hi)
    return lo
