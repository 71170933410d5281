"""The object-detection evaluator through real jobs: all twelve COCO numbers and per-class
AP equal pycocotools' COCOeval on the same input, crowd boxes, empty images and more than
100 detections per image included; shards merge exactly; handler form; bad input."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from assay import hub
from tests.integration.evaluators.helpers import commit_dir, run_job, write_model

PREDICTIONS = "task: object-detection\nformat: predictions\npredictions: results.json\n"
KEYS = ("AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10", "AR100", "ARs", "ARm", "ARl")


def _dataset(root: Path, seed: int = 0, n: int = 24) -> tuple[dict, list[dict]]:
    rng = np.random.default_rng(seed)
    (root / "images").mkdir(parents=True)
    images, anns, dets = [], [], []
    cats = [{"id": c, "name": name} for c, name in ((1, "cat"), (2, "dog"), (7, "bird"))]
    for i in range(1, n + 1):
        w, h = 320, 240
        Image.new("RGB", (16, 12), (i, 0, 0)).save(root / "images" / f"{i:03d}.png")
        images.append({"id": i, "file_name": f"images/{i:03d}.png", "width": w, "height": h})
        count = 0 if i % 7 == 0 else int(rng.integers(1, 6))  # some images have no boxes
        for _ in range(count):
            bw, bh = rng.uniform(4, 120, 2)
            x, y = rng.uniform(0, w - bw), rng.uniform(0, h - bh)
            cat = int(rng.choice([1, 2, 7]))
            anns.append(
                {
                    "id": len(anns) + 1,
                    "image_id": i,
                    "category_id": cat,
                    "bbox": [x, y, bw, bh],
                    "area": bw * bh,
                    "iscrowd": int(rng.random() < 0.1),
                }
            )
            if rng.random() < 0.85:
                jit = rng.normal(0, 4, 4)
                dets.append(
                    {
                        "image_id": i,
                        "category_id": cat,
                        "score": float(rng.random()),
                        "bbox": [x + jit[0], y + jit[1], max(1, bw + jit[2]), max(1, bh + jit[3])],
                    }
                )
        extra = 130 if i == 3 else int(rng.integers(0, 4))  # > 100 detections on one image
        for _ in range(extra):
            bw, bh = rng.uniform(2, 80, 2)
            dets.append(
                {
                    "image_id": i,
                    "category_id": int(rng.choice([1, 2, 7])),
                    "score": float(rng.random()),
                    "bbox": [
                        float(rng.uniform(0, w - bw)),
                        float(rng.uniform(0, h - bh)),
                        float(bw),
                        float(bh),
                    ],
                }
            )
    gt = {"images": images, "annotations": anns, "categories": cats}
    (root / "annotations.json").write_text(json.dumps(gt))
    return gt, dets


def _pycocotools(gt: dict, dets: list[dict]) -> tuple[list[float], dict[str, float]]:
    with contextlib.redirect_stdout(io.StringIO()):
        truth = COCO()
        truth.dataset = json.loads(json.dumps(gt))
        truth.createIndex()
        ev = COCOeval(truth, truth.loadRes(json.loads(json.dumps(dets))), "bbox")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    per_class = {}
    for k, cat in enumerate(ev.params.catIds):
        p = ev.eval["precision"][:, :, k, 0, -1]
        per_class[truth.cats[cat]["name"]] = float(np.mean(p[p > -1])) if (p > -1).any() else -1
    return list(ev.stats), per_class


HANDLER = '''
import json, os
import numpy as np

class FromColour:
    """Finds the image id in the red channel and answers with the stored detections."""
    def __init__(self, model_dir):
        self.by_image = {}
        for d in json.load(open(os.path.join(model_dir, "dets.json"))):
            self.by_image.setdefault(d["image_id"], []).append(
                {"bbox": d["bbox"], "score": d["score"], "label": d["label"]})

    def predict(self, batch):
        return [self.by_image.get(int(np.asarray(im)[0, 0, 0]), []) for im in batch]
'''


def test_detection_equals_pycocotools_across_shards_and_forms(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gt, dets = _dataset(tmp_path / "data")
    commit_dir("dataset", "coco", "toy", tmp_path / "data", monkeypatch)
    preds = write_model(tmp_path / "preds", PREDICTIONS, {"results.json": json.dumps(dets)})
    commit_dir("model", "coco", "preds", preds, monkeypatch)

    stats, per_class = _pycocotools(gt, dets)
    job = hub.create_job(
        name="det",
        type="object-detection",
        model="coco/preds",
        dataset="coco/toy",
        params={"shards": 3},
    )
    v = job.get_version("V0001").wait(timeout=300)
    assert v.status == "Completed", v.data["message"]
    assert v.metrics is not None
    for key, expected in zip(KEYS, stats, strict=True):
        assert v.metrics[key] == pytest.approx(expected, abs=1e-9), key
    for name, ap in per_class.items():
        assert v.metrics["per_class"][name]["AP"] == pytest.approx(ap, abs=1e-9)
    whole = job.create_version(params={"shards": 1}).wait(timeout=300)
    assert whole.metrics == v.metrics

    ev = hub.get_evaluation(v.data["evaluationId"])
    assert ev["samples"] == len(gt["images"])
    empty = hub.list_samples(ev["id"], where="ground_truth = 0", order_by="id", limit=100)
    assert [r["id"] for r in empty] == [i for i in range(1, 25) if i % 7 == 0]
    busy = hub.list_samples(ev["id"], where="detections > 100")
    assert [r["id"] for r in busy] == [3]
    assert {a["name"] for a in ev["artifacts"]} == {
        "pr_curves.png",
        "per_class_ap.png",
        "worst_samples.png",
    }

    handler = tmp_path / "handler"
    handler.mkdir()
    names = {c["id"]: c["name"] for c in gt["categories"]}
    (handler / "dets.json").write_text(
        json.dumps([{**d, "label": names[d["category_id"]]} for d in dets])
    )
    (handler / "fromcolour.py").write_text(HANDLER)
    (handler / "assay.yaml").write_text(
        "task: object-detection\nformat: handler\nhandler: fromcolour:FromColour\n"
    )
    commit_dir("model", "coco", "handler", handler, monkeypatch)
    h = hub.create_job(
        name="det-h",
        type="object-detection",
        model="coco/handler",
        dataset="coco/toy",
        params={"shards": 2},
    ).get_version("V0001")
    h.wait(timeout=300)
    assert h.status == "Completed", h.data["message"]
    assert h.metrics == v.metrics


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (
            lambda gt, dets: gt["annotations"].append(
                {**gt["annotations"][0], "id": 999, "image_id": 12345}
            ),
            "not in 'images'",
        ),
        (
            lambda gt, dets: gt["images"].append(
                {"id": 99, "file_name": "images/missing.png", "width": 4, "height": 4}
            ),
            "not a file of the dataset",
        ),
        (lambda gt, dets: dets.append({**dets[0], "image_id": 4242}), "not in the dataset"),
        (lambda gt, dets: dets.append({**dets[0], "category_id": 3}), "not a category"),
    ],
)
def test_detection_bad_input(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mutate, message: str
) -> None:  # type: ignore[no-untyped-def]
    gt, dets = _dataset(tmp_path / "data", n=8)
    mutate(gt, dets)
    (tmp_path / "data" / "annotations.json").write_text(json.dumps(gt))
    commit_dir("dataset", "coco", "bad", tmp_path / "data", monkeypatch)
    preds = write_model(tmp_path / "preds", PREDICTIONS, {"results.json": json.dumps(dets)})
    commit_dir("model", "coco", "p", preds, monkeypatch)
    v = run_job("object-detection", "coco/p", "coco/bad", "bad")
    assert v.status == "Failed"
    assert message in v.data["message"], v.data["message"]
    assert hub.list_evaluation() == []


def test_onnx_detection_model(home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A graph answering the same two boxes (xyxy, input pixels of 32x32) for every image:
    Assay scales them to each image's size, and the numbers equal pycocotools' on those."""
    import onnx
    from onnx import TensorProto, helper

    gt, _ = _dataset(tmp_path / "data", n=6)
    commit_dir("dataset", "coco", "small", tmp_path / "data", monkeypatch)
    boxes = [[4.0, 4.0, 20.0, 12.0], [8.0, 8.0, 30.0, 30.0]]
    scores, labels = [0.9, 0.4], [2, 7]

    def const(name: str, dtype: int, dims: list[int], values: list) -> onnx.NodeProto:
        return helper.make_node(
            "Constant", [], [name], value=helper.make_tensor(name + "_v", dtype, dims, values)
        )

    graph = helper.make_graph(
        [
            const("boxes", TensorProto.FLOAT, [2, 4], [v for box in boxes for v in box]),
            const("scores", TensorProto.FLOAT, [2], scores),
            const("labels", TensorProto.INT64, [2], labels),
        ],
        "constant-detector",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, 32, 32])],
        [
            helper.make_tensor_value_info("boxes", TensorProto.FLOAT, [2, 4]),
            helper.make_tensor_value_info("scores", TensorProto.FLOAT, [2]),
            helper.make_tensor_value_info("labels", TensorProto.INT64, [2]),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    (tmp_path / "onnx").mkdir()
    onnx.save(model, str(tmp_path / "onnx" / "det.onnx"))
    (tmp_path / "onnx" / "assay.yaml").write_text(
        "task: object-detection\nformat: onnx\nonnx:\n  file: det.onnx\n  input: image\n"
        "  size: [32, 32]\n  output: detections\n  box_format: xyxy\n"
    )
    commit_dir("model", "coco", "onnx", tmp_path / "onnx", monkeypatch)

    expected = []
    for im in gt["images"]:
        sx, sy = im["width"] / 32, im["height"] / 32
        for (x1, y1, x2, y2), s, c in zip(boxes, scores, labels, strict=True):
            expected.append(
                {
                    "image_id": im["id"],
                    "category_id": c,
                    "score": s,
                    "bbox": [x1 * sx, y1 * sy, (x2 - x1) * sx, (y2 - y1) * sy],
                }
            )
    stats, _ = _pycocotools(gt, expected)
    v = (
        hub.create_job(
            name="det-o", type="object-detection", model="coco/onnx", dataset="coco/small"
        )
        .get_version("V0001")
        .wait(timeout=300)
    )
    assert v.status == "Completed", v.data["message"]
    assert v.metrics is not None
    for key, value in zip(KEYS, stats, strict=True):
        assert v.metrics[key] == pytest.approx(value, abs=1e-6), key  # float32 boxes


def test_compare_bootstraps_ap_over_images(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A detector that lost its hits on half the images: compare reports the AP deltas the
    metrics show, a bootstrap interval over images that excludes zero, and which images got
    worse; the gate fails on it, significance required."""
    gt, _ = _dataset(tmp_path / "data", seed=4, n=40)
    commit_dir("dataset", "coco", "toy", tmp_path / "data", monkeypatch)
    rng = np.random.default_rng(0)
    dets, worse = [], []
    for a in gt["annotations"]:
        x, y, w, h = a["bbox"]
        hit = {"image_id": a["image_id"], "category_id": a["category_id"], "score": 0.5}
        hit["score"] += float(rng.random()) / 2
        dets.append({**hit, "bbox": [x + 0.5, y, w, h]})
        # On the first 20 images the worse detector misplaces its box by a whole width.
        worse.append({**hit, "bbox": [x + (w if a["image_id"] <= 20 else 0.5), y, w, h]})
    for i in range(1, 41):  # and both see some clutter
        clutter = {"image_id": i, "category_id": 1, "bbox": [1.0, 1.0, 3.0, 3.0]}
        dets.append({**clutter, "score": float(rng.random()) / 2})
        worse.append(dets[-1])
    for name, found in (("good", dets), ("worse", worse)):
        model = write_model(tmp_path / name, PREDICTIONS, {"results.json": json.dumps(found)})
        commit_dir("model", "coco", name, model, monkeypatch)
    good = run_job("object-detection", "coco/good", "coco/toy", "det-good")
    bad = run_job("object-detection", "coco/worse", "coco/toy", "det-worse")
    assert good.metrics is not None and bad.metrics is not None
    result = hub.compare([bad.ref], baseline=good.ref)
    tests = result["candidates"][0]["samples"]["metrics"]
    assert set(tests) >= {"AP", "AP50", "AP75"}
    for key in ("AP", "AP50", "AP75"):
        t = tests[key]
        assert t["test"] == "bootstrap" and t["n"] == 40
        assert t["delta"] == pytest.approx(bad.metrics[key] - good.metrics[key], abs=1e-12)
        low, high = t["interval"]
        assert low <= t["delta"] <= high < 0 and t["significant"], key
    assert tests["AP50"]["regressed"] > 0 and tests["AP50"]["fixed"] == 0
    assert all(int(i) <= 20 for i in tests["AP50"]["regressedExamples"])
    assert hub.compare([bad.ref], baseline=good.ref) == result  # seeded
    itself = hub.compare([good.ref], baseline=good.ref)["candidates"][0]["samples"]["metrics"]
    assert itself["AP"]["interval"] == [0.0, 0.0] and not itself["AP"]["significant"]
