"""Pictures a person would rather look at than read, drawn headless with matplotlib."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray


def _figure(**kwargs: Any) -> Any:
    """A bare Agg figure: no pyplot (its import and global state cost a second per merge)."""
    from matplotlib.figure import Figure

    return Figure(**kwargs)


def confusion_matrix(cm: NDArray[Any], labels: list[str], path: Path) -> None:
    n = len(labels)
    size = min(4 + n * 0.35, 24)
    fig = _figure(figsize=(size, size * 0.85))
    ax = fig.subplots()
    rows = cm.sum(axis=1, keepdims=True)
    norm = np.divide(cm, rows, out=np.zeros(cm.shape, dtype=float), where=rows > 0)
    image = ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    fig.colorbar(image, ax=ax, fraction=0.046, label="share of the true class")
    if n <= 40:
        ax.set_xticks(range(n), labels, rotation=90)
        ax.set_yticks(range(n), labels)
        if n <= 20:
            for i in range(n):
                for j in range(n):
                    if cm[i, j]:
                        ax.text(
                            j,
                            i,
                            str(cm[i, j]),
                            ha="center",
                            va="center",
                            fontsize=7,
                            color="white" if norm[i, j] > 0.5 else "black",
                        )
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title("Confusion matrix")
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def per_class_bars(values: dict[str, float], what: str, path: Path) -> None:
    names = list(values)
    fig = _figure(figsize=(min(4 + len(names) * 0.3, 24), 4))
    ax = fig.subplots()
    ax.bar(range(len(names)), [values[n] for n in names], color="#4a7ab5")
    if len(names) <= 60:
        ax.set_xticks(range(len(names)), names, rotation=90)
    ax.set_ylim(0, 1)
    ax.set_ylabel(what)
    ax.set_title(f"{what} per class")
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def pr_curves(curves: dict[str, list[float]], path: Path) -> None:
    """Precision against recall (101 COCO recall points), averaged over classes."""
    fig = _figure(figsize=(5, 4))
    ax = fig.subplots()
    recall = np.linspace(0, 1, 101)
    for iou, precision in curves.items():
        ax.plot(recall, precision, label=f"IoU {iou}")
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.legend()
    ax.set_title("Precision-recall (mean over classes)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)


Box = tuple[list[float], str]  # ([x, y, w, h] in image pixels, colour)


def sample_grid(samples: list[tuple[Any, str, list[Box]]], title: str, path: Path) -> None:
    """Images with a caption each (and boxes drawn), e.g. the most confident mistakes."""
    if not samples:
        return
    from matplotlib.patches import Rectangle

    cols = min(4, len(samples))
    rows = (len(samples) + cols - 1) // cols
    fig = _figure(figsize=(3 * cols, 3.2 * rows))
    axes = fig.subplots(rows, cols, squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for ax, (image, caption, boxes) in zip(axes.ravel(), samples, strict=False):
        ax.imshow(image, cmap="gray" if getattr(image, "mode", "") == "L" else None)
        for (x, y, w, h), colour in boxes:
            ax.add_patch(Rectangle((x, y), w, h, fill=False, edgecolor=colour, linewidth=1.5))
        ax.set_title(caption, fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def palette(n: int) -> list[tuple[float, float, float]]:
    """n distinct colours (RGB in 0..1) for class maps."""
    from matplotlib import colormaps

    cmap = colormaps["tab20"]
    colours = [cmap(i % 20) for i in range(n)]
    return [(r, g, b) for r, g, b, _a in colours]
