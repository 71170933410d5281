"""The semantic-segmentation evaluator through real jobs: ONNX, handler and predicted masks,
the ignore index, shards merged exactly, and bad masks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper
from PIL import Image

from assay import hub
from assay.metrics.segmentation import from_confusion, update
from tests.integration.evaluators.helpers import commit_dir, run_job, write_model

CLASSES = ["red", "green", "blue"]
HANDLER_MANIFEST = "task: semantic-segmentation\nformat: handler\nhandler: dom:Dominant\n"


def _dataset(
    root: Path, n: int = 9, seed: int = 0, square: bool = False
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Images whose pixels are pure red/green/blue; masks hold the colour's class, with some
    pixels mislabelled and some set to the ignore index."""
    rng = np.random.default_rng(seed)
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    (root / "classes.txt").write_text("\n".join(CLASSES) + "\n")
    pairs = []
    for i in range(n):
        h, w = (8, 8) if square else (12 + i, 16)
        colour = rng.integers(0, 3, (h, w))
        rgb = np.zeros((h, w, 3), dtype=np.uint8)
        for c in range(3):
            rgb[..., c] = np.where(colour == c, 220, 10)
        truth = colour.copy()
        truth[rng.random((h, w)) < 0.1] = rng.integers(0, 3)
        truth[rng.random((h, w)) < 0.05] = 255
        Image.fromarray(rgb).save(root / "images" / f"{i:02d}.png")
        Image.fromarray(truth.astype(np.uint8)).save(root / "masks" / f"{i:02d}.png")
        pairs.append((truth, colour))
    return pairs


def _expected(pairs: list[tuple[np.ndarray, np.ndarray]]) -> dict:
    cm = np.zeros((3, 3), dtype=np.int64)
    for truth, pred in pairs:
        update(cm, truth, pred, 255)
    return from_confusion(cm, CLASSES)


def _onnx_model(path: Path) -> None:
    """A 1x1 convolution whose class scores are the colour channels themselves."""
    weight = helper.make_tensor(
        "w", TensorProto.FLOAT, [3, 3, 1, 1], np.eye(3, dtype=np.float32).reshape(-1).tolist()
    )
    graph = helper.make_graph(
        [helper.make_node("Conv", ["image", "w"], ["scores"])],
        "colours",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, 8, 8])],
        [helper.make_tensor_value_info("scores", TensorProto.FLOAT, [1, 3, 8, 8])],
        [weight],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path / "model.onnx"))
    (path / "assay.yaml").write_text(
        "task: semantic-segmentation\nformat: onnx\nonnx:\n  file: model.onnx\n"
        "  input: image\n  size: [8, 8]\n  output: pixel_scores\n"
    )


HANDLER = """
import numpy as np
class Dominant:
    def __init__(self, model_dir): pass
    def predict(self, batch):
        return [np.asarray(im.convert("RGB")).argmax(axis=2) for im in batch]
"""


def test_segmentation_forms_and_shards(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pairs = _dataset(tmp_path / "data")
    commit_dir("dataset", "seg", "colours", tmp_path / "data", monkeypatch)
    expected = _expected(pairs)

    preds = tmp_path / "preds"
    (preds / "masks").mkdir(parents=True)
    for i, (_, pred) in enumerate(pairs):
        Image.fromarray(pred.astype(np.uint8)).save(preds / "masks" / f"{i:02d}.png")
    (preds / "assay.yaml").write_text(
        "task: semantic-segmentation\nformat: predictions\npredictions: masks\n"
    )
    commit_dir("model", "seg", "preds", preds, monkeypatch)
    job = hub.create_job(
        name="seg",
        type="semantic-segmentation",
        model="seg/preds",
        dataset="seg/colours",
        params={"shards": 3},
    )
    v = job.get_version("V0001").wait(timeout=300)
    assert v.status == "Completed", v.data["message"]
    assert v.metrics is not None
    assert v.metrics["per_class"] == expected["per_class"]
    for key in ("mIoU", "pixel_accuracy", "mean_accuracy", "fwIoU", "mDice"):
        assert v.metrics[key] == pytest.approx(expected[key], abs=1e-12), key
    whole = job.create_version(params={"shards": 1}).wait(timeout=300)
    assert whole.metrics == v.metrics
    ev = hub.get_evaluation(v.data["evaluationId"])
    assert ev["samples"] == len(pairs)
    worst = hub.list_samples(ev["id"], order_by="IoU ASC", limit=1)[0]
    assert 0 < worst["IoU"] < 1
    assert {a["name"] for a in ev["artifacts"]} == {
        "per_class_iou.png",
        "confusion_matrix.png",
        "worst_samples.png",
    }
    png = hub.download_artifact(ev["id"], "worst_samples.png", tmp_path / "worst.png")
    assert png.read_bytes()[:4] == b"\x89PNG"

    handler = write_model(tmp_path / "handler", HANDLER_MANIFEST, {"dom.py": HANDLER})
    commit_dir("model", "seg", "handler", handler, monkeypatch)
    h = (
        hub.create_job(
            name="seg-h", type="semantic-segmentation", model="seg/handler", dataset="seg/colours"
        )
        .get_version("V0001")
        .wait(timeout=300)
    )
    assert h.status == "Completed", h.data["message"]
    assert h.metrics == v.metrics

    # ONNX on images of the model's input size (no resizing): the same answers as the
    # handler, so the same numbers as computing them here.
    square = _dataset(tmp_path / "square", n=4, square=True)
    commit_dir("dataset", "seg", "square", tmp_path / "square", monkeypatch)
    model = tmp_path / "onnx"
    model.mkdir()
    _onnx_model(model)
    commit_dir("model", "seg", "onnx", model, monkeypatch)
    o = (
        hub.create_job(
            name="seg-o", type="semantic-segmentation", model="seg/onnx", dataset="seg/square"
        )
        .get_version("V0001")
        .wait(timeout=300)
    )
    assert o.status == "Completed", o.data["message"]
    assert o.metrics is not None
    assert o.metrics["mIoU"] == pytest.approx(_expected(square)["mIoU"], abs=1e-12)


@pytest.mark.parametrize(
    ("break_it", "message"),
    [("size", "but its image is"), ("range", "outside classes.txt"), ("missing", "has no mask")],
)
def test_bad_masks_fail_with_the_file_named(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, break_it: str, message: str
) -> None:
    _dataset(tmp_path / "data", n=3)
    mask = tmp_path / "data" / "masks" / "01.png"
    if break_it == "size":
        Image.fromarray(np.zeros((5, 5), dtype=np.uint8)).save(mask)
    elif break_it == "range":
        Image.fromarray(np.full((13, 16), 7, dtype=np.uint8)).save(mask)
    else:
        mask.unlink()
    commit_dir("dataset", "seg", "bad", tmp_path / "data", monkeypatch)
    handler = write_model(tmp_path / "handler", HANDLER_MANIFEST, {"dom.py": HANDLER})
    commit_dir("model", "seg", "h", handler, monkeypatch)
    v = run_job("semantic-segmentation", "seg/h", "seg/bad", "bad")
    assert v.status == "Failed"
    assert message in v.data["message"], v.data["message"]
    assert "01.png" in v.data["message"]


def test_compare_bootstraps_miou_over_images(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two sets of predicted masks: compare recomputes mIoU & co. per bootstrap draw of the
    images from per-image pixel counts; the deltas equal the metrics' own."""
    pairs = _dataset(tmp_path / "data", n=16)
    commit_dir("dataset", "seg", "colours", tmp_path / "data", monkeypatch)
    rng = np.random.default_rng(1)
    for name, noise in (("clean", 0.0), ("noisy", 0.3)):
        preds = tmp_path / name
        (preds / "masks").mkdir(parents=True)
        for i, (_, pred) in enumerate(pairs):
            mask = np.where(rng.random(pred.shape) < noise, (pred + 1) % 3, pred)
            Image.fromarray(mask.astype(np.uint8)).save(preds / "masks" / f"{i:02d}.png")
        (preds / "assay.yaml").write_text(
            "task: semantic-segmentation\nformat: predictions\npredictions: masks\n"
        )
        commit_dir("model", "seg", name, preds, monkeypatch)
    clean = run_job("semantic-segmentation", "seg/clean", "seg/colours", "seg-clean")
    noisy = run_job("semantic-segmentation", "seg/noisy", "seg/colours", "seg-noisy", shards=2)
    assert clean.metrics is not None and noisy.metrics is not None
    tests = hub.compare([noisy.ref], baseline=clean.ref)["candidates"][0]["samples"]["metrics"]
    for key in ("mIoU", "pixel_accuracy", "mean_accuracy", "fwIoU", "mDice"):
        t = tests[key]
        assert t["test"] == "bootstrap" and t["n"] == 16
        assert t["delta"] == pytest.approx(noisy.metrics[key] - clean.metrics[key], abs=1e-12)
        low, high = t["interval"]
        assert low <= t["delta"] <= high < 0 and t["significant"], key
    assert tests["mIoU"]["regressed"] == 16
