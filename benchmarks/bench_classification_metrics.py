"""Classification metrics on 1,000,000 samples x 1,000 classes: Assay vs scikit-learn.

Both compute accuracy, macro and weighted precision/recall/F1, per-class values and the
confusion matrix from the same generated labels; the numbers are checked equal, then timed.
"""

from __future__ import annotations

import time

import numpy as np
from sklearn import metrics as skm

from assay.metrics.classification import confusion_matrix, from_confusion

N, C, REPEAT = 1_000_000, 1_000, 3


def best(fn, repeat: int = REPEAT) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    rng = np.random.default_rng(0)
    y_true = rng.integers(0, C, N)
    y_pred = np.where(rng.random(N) < 0.7, y_true, rng.integers(0, C, N))
    labels = [str(i) for i in range(C)]

    def assay() -> dict[str, object]:
        return from_confusion(confusion_matrix(y_true, y_pred, C), labels)

    def sklearn() -> dict[str, object]:
        out: dict[str, object] = {"accuracy": skm.accuracy_score(y_true, y_pred)}
        for avg in ("macro", "weighted"):
            p, r, f, _ = skm.precision_recall_fscore_support(
                y_true, y_pred, average=avg, zero_division=0
            )
            out |= {f"precision_{avg}": p, f"recall_{avg}": r, f"f1_{avg}": f}
        out["per_class"] = skm.precision_recall_fscore_support(
            y_true, y_pred, labels=list(range(C)), zero_division=0
        )
        out["confusion_matrix"] = skm.confusion_matrix(y_true, y_pred, labels=list(range(C)))
        return out

    a, s = assay(), sklearn()
    for key in (
        "accuracy",
        "precision_macro",
        "recall_macro",
        "f1_macro",
        "precision_weighted",
        "recall_weighted",
        "f1_weighted",
    ):
        assert abs(a[key] - s[key]) <= 1e-12, key  # type: ignore[operator]
    assert a["confusion_matrix"] == s["confusion_matrix"].tolist()  # type: ignore[union-attr]
    t_assay, t_sklearn = best(assay), best(sklearn, repeat=1)
    print(f"classification metrics, {N:,} samples x {C:,} classes (numbers equal)")
    print(f"  {'assay':<14}{t_assay * 1000:10.1f} ms")
    print(
        f"  {'scikit-learn':<14}{t_sklearn * 1000:10.1f} ms   ratio sklearn/assay = "
        f"{t_sklearn / t_assay:.1f}x"
    )


if __name__ == "__main__":
    main()
