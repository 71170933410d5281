"""Pictures a person would rather look at than read, drawn with Pillow.

Why not matplotlib: a merge draws two or three of these, and matplotlib's import, layout and
text rendering cost 2-3 s of a merge that otherwise takes under a second; a whole job's
share of raw inference is that merge's cost (docs/performance.md). The charts here are few
and simple (a heatmap, bars, curves on a unit square, an image grid), so they are drawn
directly: milliseconds each, same colours as before (matplotlib's ``Blues`` and ``tab10``).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageDraw, ImageFont

Box = tuple[list[float], str]  # ([x, y, w, h] in image pixels, colour)
Font = ImageFont.FreeTypeFont | ImageFont.ImageFont

WHITE, INK, GRID, BAR = (255, 255, 255), (34, 34, 34), (225, 225, 225), (74, 122, 181)
# matplotlib's "Blues" at 0, 1/8, ..., 1 (ColorBrewer), interpolated linearly between.
BLUES = np.array(
    [
        (247, 251, 255),
        (222, 235, 247),
        (198, 219, 239),
        (158, 202, 225),
        (107, 174, 214),
        (66, 146, 198),
        (33, 113, 181),
        (8, 81, 156),
        (8, 48, 107),
    ],
    dtype=np.float64,
)
# matplotlib's "tab20": distinct colours for classes and curves.
TAB20 = [
    (31, 119, 180), (174, 199, 232), (255, 127, 14), (255, 187, 120), (44, 160, 44),
    (152, 223, 138), (214, 39, 40), (255, 152, 150), (148, 103, 189), (197, 176, 213),
    (140, 86, 75), (196, 156, 148), (227, 119, 194), (247, 182, 210), (127, 127, 127),
    (199, 199, 199), (188, 189, 34), (219, 219, 141), (23, 190, 207), (158, 218, 229),
]  # fmt: skip
CURVES = TAB20[::2]  # tab10
MAX_SIDE = 1200  # pixels of a heatmap or a row of bars, whatever the number of classes


@cache
def _font(size: int) -> Font:
    """Pillow's bundled TrueType font (a bitmap font where Pillow lacks FreeType)."""
    return ImageFont.load_default(size=size)


def blues(values: NDArray[np.float64]) -> NDArray[np.uint8]:
    """RGB of each value in [0, 1] on the Blues scale."""
    x = np.clip(values, 0, 1) * (len(BLUES) - 1)
    low = np.minimum(x.astype(np.int64), len(BLUES) - 2)
    t = (x - low)[..., None]
    rgb = BLUES[low] * (1 - t) + BLUES[low + 1] * t
    out: NDArray[np.uint8] = np.rint(rgb).astype(np.uint8)
    return out


class _Canvas:
    """A white picture with text helpers; positions in pixels from the top left."""

    def __init__(self, width: int, height: int) -> None:
        self.image = Image.new("RGB", (max(width, 1), max(height, 1)), WHITE)
        self.draw = ImageDraw.Draw(self.image)

    def text(
        self,
        xy: tuple[float, float],
        text: str,
        size: int = 12,
        anchor: str = "la",
        fill: tuple[int, int, int] = INK,
    ) -> None:
        self.draw.text(xy, text, fill=fill, font=_font(size), anchor=anchor, align="center")

    def vertical(
        self, xy: tuple[float, float], text: str, size: int = 12, top: bool = True
    ) -> None:
        """Text turned 90 degrees (read bottom to top), centred on x; its top (``top``) or its
        middle at y."""
        font = _font(size)
        left, upper, right, lower = font.getbbox(text)
        size_px = (int(max(right - left, 1)) + 2, int(max(lower - upper, 1)) + 2)
        label = Image.new("RGB", size_px, WHITE)
        ImageDraw.Draw(label).text((1 - left, 1 - upper), text, fill=INK, font=font)
        turned = label.rotate(90, expand=True)
        x = int(xy[0] - turned.width / 2)
        y = int(xy[1] if top else xy[1] - turned.height / 2)
        self.image.paste(turned, (x, y))

    def save(self, path: Path) -> None:
        self.image.save(path, optimize=False)


def _width(text: str, size: int) -> float:
    return _font(size).getlength(text)


def confusion_matrix(cm: NDArray[Any], labels: list[str], path: Path) -> None:
    """Rows are true classes, columns predicted; colour is the share of the true class and
    the counts are written in the cells when there are at most 20 classes."""
    n = len(labels)
    cell = int(np.clip(560 // max(n, 1), 1, 56))
    ticks = n <= 40
    tick_size = 11 if n <= 20 else 9
    label_room = int(max((_width(label, tick_size) for label in labels), default=0)) + 8
    left = 40 + (label_room if ticks else 0)
    top, side = 36, min(cell * n, MAX_SIDE)  # past MAX_SIDE classes, blocks are averaged
    bottom = 34 + (label_room if ticks else 0)
    canvas = _Canvas(left + side + 110, top + side + bottom)
    rows = cm.sum(axis=1, keepdims=True)
    norm = np.divide(cm, rows, out=np.zeros(cm.shape, dtype=float), where=rows > 0)
    shrink = Image.Resampling.NEAREST if side >= n else Image.Resampling.BOX
    heat = Image.fromarray(blues(norm)).resize((side, side), shrink)
    canvas.image.paste(heat, (left, top))
    canvas.draw.rectangle([left - 1, top - 1, left + side, top + side], outline=INK)
    canvas.text((left + side / 2, 10), "Confusion matrix", 15, "ma")
    if ticks:
        for i, label in enumerate(labels):
            middle = i * cell + cell / 2
            canvas.text((left - 6, top + middle), label, tick_size, "rm")
            canvas.vertical((left + middle, top + side + 6), label, tick_size)
    if n <= 20:
        size = max(8, min(12, cell // 4))
        for i, j in zip(*np.nonzero(cm), strict=True):
            colour = WHITE if norm[i, j] > 0.5 else INK
            at = (left + j * cell + cell / 2, top + i * cell + cell / 2)
            canvas.text(at, str(cm[i, j]), size, "mm", colour)
    canvas.text((left + side / 2, top + side + bottom - 6), "predicted", 12, "md")
    canvas.vertical((12, top + side / 2), "true", 12, top=False)
    # The colour bar: share of the true class, 0 at the bottom.
    bar_x, bar_w = left + side + 20, 16
    scale = blues(np.linspace(1, 0, max(side, 2)))[:, None, :].repeat(bar_w, axis=1)
    canvas.image.paste(Image.fromarray(scale), (bar_x, top))
    canvas.draw.rectangle([bar_x - 1, top - 1, bar_x + bar_w, top + side], outline=INK)
    for value in (0.0, 0.5, 1.0):
        y = top + (1 - value) * (side - 1)
        canvas.draw.line([bar_x + bar_w, y, bar_x + bar_w + 4, y], fill=INK)
        canvas.text((bar_x + bar_w + 7, y), f"{value:.1f}", 10, "lm")
    canvas.vertical((bar_x + bar_w + 40, top + side / 2), "share of the true class", 10, False)
    canvas.save(path)


class _UnitAxes:
    """A plot area whose y axis runs from 0 to ``y_max``, with a grid every 0.2."""

    def __init__(self, canvas: _Canvas, box: tuple[int, int, int, int], y_max: float) -> None:
        self.canvas, self.box, self.y_max = canvas, box, y_max
        left, top, right, bottom = box
        for k in range(6):
            y = self.y(k / 5)
            canvas.draw.line([left, y, right, y], fill=GRID)
            canvas.text((left - 5, y), f"{k / 5:.1f}", 10, "rm")
        canvas.draw.rectangle([left, top, right, bottom], outline=INK)

    def y(self, value: float) -> float:
        top, bottom = self.box[1], self.box[3]
        return bottom - (bottom - top) * value / self.y_max

    def x(self, fraction: float) -> float:
        left, right = self.box[0], self.box[2]
        return left + (right - left) * fraction


def per_class_bars(values: dict[str, float], what: str, path: Path) -> None:
    """One bar per class (or turn, or score) on a 0-1 scale."""
    names = list(values)
    bar = int(np.clip(720 // max(len(names), 1), 1, 40))
    labelled = len(names) <= 60
    label_room = int(max((_width(n, 10) for n in names), default=0)) + 10 if labelled else 10
    left, top = 56, 36
    width = min(bar * len(names), MAX_SIDE)
    step = width / max(len(names), 1)  # under a pixel a bar past MAX_SIDE bars: they overlap
    gap = step // 8 if step >= 4 else 0
    canvas = _Canvas(left + width + 20, top + 240 + label_room + 10)
    axes = _UnitAxes(canvas, (left, top, left + width, top + 240), 1.0)
    for i, name in enumerate(names):
        value = float(np.clip(values[name], 0, 1))
        if value > 0:
            x0, x1 = left + i * step + gap, left + (i + 1) * step - gap - (1 if step >= 2 else 0)
            canvas.draw.rectangle([x0, axes.y(value), x1, axes.y(0) - 1], fill=BAR)
        if labelled:
            canvas.vertical((left + i * step + step / 2, top + 246), name, 10)
    canvas.text((left + width / 2, 10), f"{what} per class", 15, "ma")
    canvas.vertical((12, top + 120), what, 12, top=False)
    canvas.save(path)


def pr_curves(curves: dict[str, list[float]], path: Path) -> None:
    """Precision against recall (101 COCO recall points), averaged over classes."""
    left, top, side = 56, 36, 360
    canvas = _Canvas(left + side + 20, top + side + 50)
    axes = _UnitAxes(canvas, (left, top, left + side, top + side), 1.02)
    for k in range(6):
        x = axes.x(k / 5)
        canvas.text((x, top + side + 5), f"{k / 5:.1f}", 10, "ma")
    for n, (iou, precision) in enumerate(curves.items()):
        colour = CURVES[n % len(CURVES)]
        points = [
            (axes.x(i / 100), axes.y(float(np.clip(p, 0, 1))))
            for i, p in enumerate(precision)
            if p >= 0  # COCO marks recall levels never reached with -1
        ]
        if len(points) > 1:
            canvas.draw.line(points, fill=colour, width=2)
        y = top + side - 14 - 16 * (len(curves) - 1 - n)  # legend, bottom left
        canvas.draw.line([left + 10, y, left + 30, y], fill=colour, width=2)
        canvas.text((left + 36, y), f"IoU {iou}", 10, "lm")
    canvas.text((left + side / 2, 10), "Precision-recall (mean over classes)", 14, "ma")
    canvas.text((left + side / 2, top + side + 44), "recall", 12, "md")
    canvas.vertical((12, top + side / 2), "precision", 12, top=False)
    canvas.save(path)


def sample_grid(samples: Sequence[tuple[Any, str, list[Box]]], title: str, path: Path) -> None:
    """Images with a caption each (and boxes drawn), e.g. the most confident mistakes, four
    to a row, each fitted into a 240-pixel square; small images are enlarged without
    smoothing so their pixels stay visible."""
    if not samples:
        return
    cols, tile, caption_h = min(4, len(samples)), 240, 34
    shown: list[Image.Image] = []
    for image, _caption, boxes in samples:
        picture = image.convert("RGB") if image.mode != "RGB" else image
        factor = min(tile / picture.width, tile / picture.height)
        size = (max(1, round(picture.width * factor)), max(1, round(picture.height * factor)))
        resample = Image.Resampling.NEAREST if factor >= 2 else Image.Resampling.BILINEAR
        fitted = picture.resize(size, resample)
        draw = ImageDraw.Draw(fitted)
        for (x, y, w, h), colour in boxes:
            x0, y0 = x * factor, y * factor
            draw.rectangle([x0, y0, x0 + w * factor, y0 + h * factor], outline=colour, width=2)
        shown.append(fitted)
    rows = [shown[i : i + cols] for i in range(0, len(shown), cols)]
    heights = [caption_h + max(p.height for p in row) + 12 for row in rows]
    canvas = _Canvas(cols * (tile + 16) + 16, 40 + sum(heights))
    canvas.text((canvas.image.width / 2, 12), title, 15, "ma")
    y = 40
    for r, row in enumerate(rows):
        for c, fitted in enumerate(row):
            x = 16 + c * (tile + 16)
            canvas.text((x + tile / 2, y + caption_h - 4), samples[r * cols + c][1], 10, "md")
            canvas.image.paste(fitted, (x + (tile - fitted.width) // 2, y + caption_h))
        y += heights[r]
    canvas.save(path)


def palette(n: int) -> list[tuple[float, float, float]]:
    """n distinct colours (RGB in 0..1) for class maps."""
    return [tuple(c / 255 for c in TAB20[i % 20]) for i in range(n)]  # type: ignore[misc]
