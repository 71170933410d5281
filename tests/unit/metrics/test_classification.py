"""Classification metrics equal scikit-learn's on the same input, edge cases included."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as skm

from assay.metrics.classification import classification_metrics, confusion_matrix, top_k_accuracy


def _case(
    seed: int, n: int, classes: int, skip_true: int | None = None, skip_pred: int | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    scores = rng.random((n, classes)) ** 3
    y_true = rng.integers(0, classes, n)
    scores[np.arange(n), y_true] += rng.random(n)  # informative but imperfect
    if skip_true is not None:  # a class never present
        y_true[y_true == skip_true] = (skip_true + 1) % classes
    y_pred = scores.argmax(axis=1)
    if skip_pred is not None:  # a class never predicted
        y_pred[y_pred == skip_pred] = (skip_pred + 2) % classes
    return y_true, y_pred, scores


CASES = [
    {"seed": 0, "n": 500, "classes": 7},
    {"seed": 1, "n": 300, "classes": 10, "skip_true": 3},
    {"seed": 2, "n": 300, "classes": 10, "skip_pred": 4},
    {"seed": 3, "n": 200, "classes": 6, "skip_true": 1, "skip_pred": 1},
    {"seed": 4, "n": 50, "classes": 2},
    {"seed": 5, "n": 1, "classes": 3},
]


@pytest.mark.parametrize("case", CASES)
def test_equal_to_scikit_learn(case: dict[str, int]) -> None:
    y_true, y_pred, scores = _case(**case)
    classes = case["classes"]
    labels = [f"c{i}" for i in range(classes)]
    got = classification_metrics(y_true, y_pred, labels, scores)
    assert got["accuracy"] == skm.accuracy_score(y_true, y_pred)
    for avg in ("macro", "weighted"):
        p, r, f, _ = skm.precision_recall_fscore_support(
            y_true, y_pred, average=avg, zero_division=0
        )
        assert got[f"precision_{avg}"] == pytest.approx(p, abs=1e-15)
        assert got[f"recall_{avg}"] == pytest.approx(r, abs=1e-15)
        assert got[f"f1_{avg}"] == pytest.approx(f, abs=1e-15)
    p, r, f, s = skm.precision_recall_fscore_support(
        y_true, y_pred, labels=list(range(classes)), zero_division=0
    )
    for i, name in enumerate(labels):
        row = got["per_class"][name]
        assert (row["precision"], row["recall"], row["f1"], row["support"]) == (
            p[i],
            r[i],
            f[i],
            s[i],
        )
    assert (
        got["confusion_matrix"]
        == skm.confusion_matrix(y_true, y_pred, labels=list(range(classes))).tolist()
    )
    probs = scores / scores.sum(axis=1, keepdims=True)
    top5 = (
        skm.top_k_accuracy_score(y_true, scores, k=5, labels=list(range(classes)))
        if classes > 5
        else 1.0
    )
    assert got["top5_accuracy"] == top5
    assert got["log_loss"] == pytest.approx(
        skm.log_loss(y_true, probs, labels=list(range(classes))), abs=1e-12
    )
    if "roc_auc_macro" in got:
        expected = (
            skm.roc_auc_score(y_true, probs[:, 1])
            if classes == 2
            else skm.roc_auc_score(
                y_true, probs, multi_class="ovr", average="macro", labels=list(range(classes))
            )
        )
        assert got["roc_auc_macro"] == pytest.approx(expected, abs=1e-12)


def test_top_k_breaks_ties_like_scikit_learn() -> None:
    scores = np.array([[0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5], [1, 1, 0, 0, 0, 0, 1.0]])
    for true in range(7):
        y = np.array([true, true])
        assert top_k_accuracy(y, scores, 5) == skm.top_k_accuracy_score(
            y, scores, k=5, labels=list(range(7))
        )


def test_bad_labels_are_refused() -> None:
    with pytest.raises(ValueError, match="lie in"):
        confusion_matrix(np.array([0, 3]), np.array([0, 1]), 3)
    with pytest.raises(ValueError, match="same length"):
        confusion_matrix(np.array([0, 1]), np.array([0]), 3)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_roc_auc_and_log_loss_equal_scikit_learn_with_ties_and_extremes(seed: int) -> None:
    from assay.metrics.classification import log_loss, roc_auc

    rng = np.random.default_rng(seed)
    n = 5000
    positive = rng.random(n) < 0.3
    score = np.round(rng.random(n) + positive * 0.3, 1)  # a few distinct values: many ties
    assert roc_auc(positive, score) == pytest.approx(skm.roc_auc_score(positive, score), abs=1e-12)
    probs = rng.dirichlet(np.ones(4), size=n)
    probs[:10] = [1.0, 0.0, 0.0, 0.0]  # log(0) is clipped, as scikit-learn clips it
    y = rng.integers(0, 4, n)
    assert log_loss(y, probs) == pytest.approx(skm.log_loss(y, probs, labels=range(4)), abs=1e-12)
