"""Segmentation metrics on 200 masks of 512x512 x 21 classes: Assay's streaming confusion
matrix vs a straightforward numpy reference (per-class boolean masks), with peak memory of
each measured by tracemalloc. The numbers are checked equal first."""

from __future__ import annotations

import time
import tracemalloc

import numpy as np

from assay.metrics.segmentation import from_confusion, update

N, SIZE, C, IGNORE = 200, 512, 21, 255


def masks(i: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(i)
    truth = rng.integers(0, C, (SIZE, SIZE), dtype=np.uint8)
    truth[:8] = IGNORE
    pred = np.where(rng.random((SIZE, SIZE)) < 0.8, truth, rng.integers(0, C, (SIZE, SIZE)))
    pred[pred == IGNORE] = 0
    return truth, pred.astype(np.uint8)


def assay() -> float:
    cm = np.zeros((C, C), dtype=np.int64)
    for i in range(N):
        update(cm, *masks(i), IGNORE)
    return float(from_confusion(cm, [str(c) for c in range(C)])["mIoU"])


def reference() -> float:
    """What one writes first: keep every mask, then per-class intersections and unions."""
    pairs = [masks(i) for i in range(N)]
    truth = np.stack([t for t, _ in pairs])
    pred = np.stack([p for _, p in pairs])
    valid = truth != IGNORE
    ious = []
    for c in range(C):
        t, p = (truth == c) & valid, (pred == c) & valid
        union = (t | p).sum()
        if union:
            ious.append((t & p).sum() / union)
    return float(np.mean(ious))


def measure(fn):  # type: ignore[no-untyped-def]
    tracemalloc.start()
    t = time.perf_counter()
    value = fn()
    elapsed = time.perf_counter() - t
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return value, elapsed, peak / 2**20


def main() -> None:
    ours, t_ours, m_ours = measure(assay)
    ref, t_ref, m_ref = measure(reference)
    assert abs(ours - ref) <= 1e-12, (ours, ref)
    print(f"segmentation metrics, {N} masks of {SIZE}x{SIZE}, {C} classes (mIoU equal)")
    print(f"  {'assay':<16}{t_ours:7.2f} s  peak {m_ours:8.1f} MiB")
    print(
        f"  {'numpy reference':<16}{t_ref:7.2f} s  peak {m_ref:8.1f} MiB   "
        f"time ratio {t_ref / t_ours:.2f}x, memory ratio {m_ref / m_ours:.1f}x"
    )


if __name__ == "__main__":
    main()
