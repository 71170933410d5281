"""The evaluators' pictures: readable PNGs whose colours say what the numbers say, at a size
a browser can show, whatever the number of classes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from assay.evaluators import plots

DARKEST = tuple(int(v) for v in plots.BLUES[-1])


def _colours(path: Path) -> set[tuple[int, int, int]]:
    image = Image.open(path)
    assert image.format == "PNG"
    return {tuple(c) for c in np.asarray(image.convert("RGB")).reshape(-1, 3)}


def test_blues_runs_from_white_to_dark_blue() -> None:
    scale = plots.blues(np.array([0.0, 0.5, 1.0, -3.0, 7.0]))
    assert scale[0].tolist() == [247, 251, 255]
    assert scale[2].tolist() == list(DARKEST)
    assert scale[3].tolist() == scale[0].tolist() and scale[4].tolist() == scale[2].tolist()
    assert (scale[1] < scale[0]).all() and (scale[1] > scale[2]).all()  # darker as it grows


def test_confusion_matrix_colours_cells_by_share_of_the_true_class(tmp_path: Path) -> None:
    perfect, uniform = tmp_path / "perfect.png", tmp_path / "uniform.png"
    plots.confusion_matrix(np.diag([5, 7, 9]), ["a", "b", "c"], perfect)
    plots.confusion_matrix(np.full((3, 3), 4), ["a", "b", "c"], uniform)
    assert DARKEST in _colours(perfect)  # every true class fully on its diagonal cell
    # A third of each class in each cell: no cell (only the colour bar) reaches the darkest.
    third = tuple(int(v) for v in plots.blues(np.array([1 / 3]))[0])
    assert third in _colours(uniform)


def test_pictures_stay_a_showable_size_with_many_classes(tmp_path: Path) -> None:
    labels = [f"class-{i}" for i in range(1000)]
    cm = np.random.default_rng(0).integers(0, 5, (1000, 1000))
    plots.confusion_matrix(cm, labels, tmp_path / "cm.png")
    plots.per_class_bars(dict.fromkeys(labels, 0.5), "F1", tmp_path / "bars.png")
    for name in ("cm.png", "bars.png"):
        width, height = Image.open(tmp_path / name).size
        assert width <= 4000 and height <= 4000, (name, width, height)


def test_bars_are_as_tall_as_their_value(tmp_path: Path) -> None:
    path = tmp_path / "bars.png"
    plots.per_class_bars({"low": 0.25, "high": 1.0, "none": 0.0}, "IoU", path)
    pixels = np.asarray(Image.open(path).convert("RGB"))
    bar = np.all(pixels == plots.BAR, axis=-1)
    columns = np.flatnonzero(bar.any(axis=0))
    groups = np.split(columns, np.flatnonzero(np.diff(columns) > 1) + 1)
    assert len(groups) == 2  # the zero-height bar draws nothing
    heights = [bar[:, g[len(g) // 2]].sum() for g in groups]
    assert abs(heights[1] / heights[0] - 4) < 0.1


def test_sample_grid_draws_boxes_in_their_colour(tmp_path: Path) -> None:
    grey = Image.new("L", (32, 32), 128)
    with_boxes, without = tmp_path / "boxes.png", tmp_path / "plain.png"
    plots.sample_grid([(grey, "a\nb", [([4, 4, 10, 10], "red")])], "Worst", with_boxes)
    plots.sample_grid([(grey, "a\nb", [])], "Worst", without)
    assert (255, 0, 0) in _colours(with_boxes)
    assert (255, 0, 0) not in _colours(without)
    plots.sample_grid([], "Worst", tmp_path / "none.png")
    assert not (tmp_path / "none.png").exists()


def test_pr_curves_skip_recall_levels_never_reached(tmp_path: Path) -> None:
    path = tmp_path / "pr.png"
    curves = {"0.5": [1.0] * 51 + [-1.0] * 50, "0.75": [-1.0] * 101}
    plots.pr_curves(curves, path)
    first = plots.CURVES[0]
    pixels = np.asarray(Image.open(path).convert("RGB"))
    drawn = np.flatnonzero(np.all(pixels == first, axis=-1).any(axis=0))
    # The first curve spans recall 0..0.5 only (the legend's swatch sits at the far left).
    assert drawn.max() - drawn.min() < Image.open(path).width * 0.6


def test_palette_gives_distinct_colours() -> None:
    colours = plots.palette(20)
    assert len(set(colours)) == 20 and all(0 <= v <= 1 for c in colours for v in c)
