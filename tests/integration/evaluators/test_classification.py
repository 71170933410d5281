"""The image-classification evaluator through real jobs: each model form, sharding, numbers
equal to scikit-learn, per-sample rows, artifacts, and bad input."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
from PIL import Image
from sklearn import metrics as skm

from assay import errors, hub
from tests.integration.evaluators.helpers import commit_dir, digits_prepare, run_job

pytest.importorskip("skl2onnx")


def _run(model: str, dataset: str, name: str, **params: object) -> hub.Version:
    return run_job("image-classification", model, dataset, name, **params)


@pytest.fixture
def digits(home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    digits_prepare().prepare(tmp_path / "model", tmp_path / "data", test_size=0.3)
    commit_dir("model", "digits", "logreg", tmp_path / "model", monkeypatch)
    commit_dir("dataset", "digits", "test", tmp_path / "data", monkeypatch)
    return tmp_path


def test_onnx_model_metrics_equal_scikit_learn_and_shards_merge_exactly(
    digits: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sharded = _run("digits/logreg", "digits/test", "d3", shards=3, batch_size=50)
    assert sharded.status == "Completed", sharded.data["message"]
    whole = hub.get_job("d3").create_version(params={"shards": 1}).wait(timeout=300)
    assert whole.status == "Completed", whole.data["message"]
    assert sharded.metrics == whole.metrics  # no averaging of averages
    assert len(sharded.tasks()) == 4  # three shards and the merge

    # Reference: decode the same PNGs, run the same ONNX file directly, score with sklearn.
    paths = sorted(
        p.relative_to(digits / "data").as_posix() for p in (digits / "data").glob("*/*.png")
    )
    images = np.stack(
        [np.asarray(Image.open(digits / "data" / p), dtype=np.float64) for p in paths]
    ) * (1 / 15)
    session = ort.InferenceSession(str(digits / "model" / "model.onnx"))
    scores = session.run(["probabilities"], {"image": images[:, None].astype(np.float32)})[0]
    scores = scores.astype(np.float64)
    y_true = np.array([int(p.split("/")[0]) for p in paths])
    y_pred = scores.argmax(axis=1)
    m = sharded.metrics
    assert m is not None
    assert m["accuracy"] == skm.accuracy_score(y_true, y_pred)
    p, r, f, _ = skm.precision_recall_fscore_support(
        y_true, y_pred, average="macro", zero_division=0
    )
    assert (m["precision_macro"], m["recall_macro"]) == pytest.approx((p, r), abs=1e-12)
    assert m["f1_macro"] == pytest.approx(f, abs=1e-12)
    assert m["confusion_matrix"] == skm.confusion_matrix(y_true, y_pred).tolist()
    probs = scores / scores.sum(axis=1, keepdims=True)
    assert m["log_loss"] == pytest.approx(skm.log_loss(y_true, probs, labels=range(10)), abs=1e-9)
    assert m["roc_auc_macro"] == pytest.approx(
        skm.roc_auc_score(y_true, probs, multi_class="ovr", labels=range(10)), abs=1e-12
    )
    assert m["top5_accuracy"] == skm.top_k_accuracy_score(y_true, scores, k=5)

    # Per-sample rows and pictures.
    ev = hub.get_evaluation(sharded.data["evaluationId"])
    assert ev["samples"] == len(paths)
    wrong = hub.list_samples(ev["id"], where="correct = false", order_by="id", limit=1000)
    assert [row["id"] for row in wrong] == [
        p for p, t, q in zip(paths, y_true, y_pred, strict=True) if t != q
    ]
    assert {a["name"] for a in ev["artifacts"]} == {
        "confusion_matrix.png",
        "per_class_f1.png",
        "worst_samples.png",
    }
    png = hub.download_artifact(ev["id"], "confusion_matrix.png", digits / "cm.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(errors.InvalidInput, match="file system operations are disabled"):
        hub.list_samples(ev["id"], where="id IN (SELECT content FROM read_text('/etc/hosts'))")
    import assay.services.samples as samples_service

    monkeypatch.setattr(samples_service, "QUERY_SECONDS", 0.5)  # the server is in-process
    with pytest.raises(errors.InvalidInput, match="ran longer than"):
        hub.list_samples(ev["id"], where="(SELECT sum(i) FROM range(1000000000000) t(i)) > 0")
    with pytest.raises(errors.InvalidInput, match="without ';'"):
        hub.list_samples(ev["id"], where="true; DROP TABLE samples")


def test_decoded_pixels_are_cached_for_the_next_evaluation_of_the_dataset(
    digits: Path, home: Path
) -> None:
    """A second evaluation of the same dataset commit maps the pixels the first decoded:
    same numbers, no decoding; a damaged cache file is decoded again; decode_cache=false
    opts out."""
    cache = home / "cache" / "decoded"
    first = _run("digits/logreg", "digits/test", "c", shards=2, batch_size=64)
    assert first.status == "Completed", first.data["message"]
    files = sorted(cache.glob("*.npy"))
    assert len(files) == 2  # one per shard
    shapes = [np.load(f, mmap_mode="r").shape for f in files]
    assert sum(s[0] for s in shapes) == hub.get_evaluation(first.data["evaluationId"])["samples"]
    assert all(s[1:] == (8, 8, 1) for s in shapes)
    assert not any("from the cache" in first.logs(t) for t in (0, 1))

    second = hub.get_job("c").create_version().wait(timeout=300)
    assert second.status == "Completed" and second.metrics == first.metrics
    assert all("from the cache" in second.logs(t) for t in (0, 1))

    files[0].write_bytes(files[0].read_bytes()[:100])  # damaged: read as not cached
    third = hub.get_job("c").create_version().wait(timeout=300)
    assert third.status == "Completed" and third.metrics == first.metrics
    assert sum("from the cache" in third.logs(t) for t in (0, 1)) == 1
    assert np.load(files[0], mmap_mode="r").shape == shapes[0]  # written again, whole

    off = hub.get_job("c").create_version(params={"decode_cache": False}).wait(timeout=300)
    assert off.metrics == first.metrics
    assert not any("from the cache" in off.logs(t) for t in (0, 1))


def _colour_dataset(root: Path) -> list[tuple[str, str]]:
    """12 tiny images in annotations.csv form; the class is the dominant colour."""
    colours = {"red": (200, 10, 10), "green": (10, 200, 10), "blue": (10, 10, 200)}
    (root / "img").mkdir(parents=True)
    rows = []
    for i in range(12):
        label = list(colours)[i % 3]
        Image.new("RGB", (4, 4), colours[label]).save(root / "img" / f"{i:02d}.png")
        rows.append((f"img/{i:02d}.png", label))
    (root / "labels.txt").write_text("red\ngreen\nblue\n")
    (root / "annotations.csv").write_text("path,label\n" + "".join(f"{p},{q}\n" for p, q in rows))
    return rows


HANDLER = """
import numpy as np

class Dominant:
    def __init__(self, model_dir):
        self.model_dir = model_dir

    def predict(self, batch):
        names = ["red", "green", "blue"]
        out = []
        for image in batch:
            channel = int(np.asarray(image).reshape(-1, 3).mean(axis=0).argmax())
            out.append("red" if channel == 2 else names[channel])  # blue looks red to it
        return out
"""


def test_handler_and_predictions_file_forms(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = _colour_dataset(tmp_path / "data")
    commit_dir("dataset", "colours", "set", tmp_path / "data", monkeypatch)
    handler_dir = tmp_path / "handler"
    (handler_dir / "colourpkg").mkdir(parents=True)
    (handler_dir / "colourpkg" / "__init__.py").write_text("")
    (handler_dir / "colourpkg" / "model.py").write_text(HANDLER)
    (handler_dir / "assay.yaml").write_text(
        "task: image-classification\nformat: handler\nhandler: colourpkg.model:Dominant\n"
    )
    commit_dir("model", "colours", "handler", handler_dir, monkeypatch)
    v = _run("colours/handler", "colours/set", "h", batch_size=5)
    assert v.status == "Completed", v.data["message"]
    y_true = [["red", "green", "blue"].index(label) for _, label in rows]
    y_pred = [0 if t == 2 else t for t in y_true]  # blue taken for red
    assert v.metrics is not None
    assert v.metrics["accuracy"] == skm.accuracy_score(y_true, y_pred)
    assert v.metrics["per_class"]["blue"]["recall"] == 0.0
    assert "log_loss" not in v.metrics  # labels only: no scores

    rng = np.random.default_rng(1)
    preds_dir = tmp_path / "preds"
    preds_dir.mkdir()
    scores = rng.random((len(rows), 3))
    with open(preds_dir / "preds.jsonl", "w") as f:
        for (path, _), s in zip(rows, scores, strict=True):
            label = ["red", "green", "blue"][int(s.argmax())]
            f.write(
                json.dumps(
                    {
                        "id": path,
                        "label": label,
                        "scores": dict(zip(["red", "green", "blue"], s.tolist(), strict=True)),
                    }
                )
                + "\n"
            )
    (preds_dir / "assay.yaml").write_text(
        "task: image-classification\nformat: predictions\npredictions: preds.jsonl\n"
    )
    commit_dir("model", "colours", "preds", preds_dir, monkeypatch)
    v = _run("colours/preds", "colours/set", "p", shards=2)
    assert v.status == "Completed", v.data["message"]
    assert v.metrics is not None
    assert v.metrics["accuracy"] == skm.accuracy_score(y_true, scores.argmax(axis=1))
    assert v.metrics["log_loss"] == pytest.approx(
        skm.log_loss(y_true, scores / scores.sum(axis=1, keepdims=True)), abs=1e-12
    )


@pytest.mark.parametrize(
    ("break_it", "message"),
    [
        ("no-manifest", "has no assay.yaml"),
        ("bad-size", "does not match the manifest"),
        ("bad-image", "does not decode"),
        ("bad-label", "is not in labels.txt"),
        ("extra-prediction", "not in the dataset"),
        ("handler-raises", "the handler raised"),
    ],
)
def test_bad_input_fails_the_version_with_the_reason(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, break_it: str, message: str
) -> None:
    data, model = tmp_path / "data", tmp_path / "model"
    rows = _colour_dataset(data)
    model.mkdir()
    manifest = "task: image-classification\nformat: handler\nhandler: h:H\n"
    handler = (
        "class H:\n    def __init__(self, d): pass\n    def predict(self, b): "
        "return ['red'] * len(b)\n"
    )
    if break_it == "bad-size":
        digits_prepare().prepare(model, tmp_path / "digits-data", test_size=0.05)
        manifest = (model / "assay.yaml").read_text().replace("size: [8, 8]", "size: [9, 9]")
        manifest = manifest.replace(
            'labels: ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"]',
            "labels: [red, green, blue]",
        )
        handler = ""
    elif break_it == "bad-image":
        (data / rows[3][0]).write_bytes(b"not a png at all")
    elif break_it == "bad-label":
        with open(data / "annotations.csv", "a") as f:
            f.write("img/00.png,purple\n")
    elif break_it == "extra-prediction":
        lines = [json.dumps({"id": p, "label": q}) for p, q in rows]
        lines.append(json.dumps({"id": "img/99.png", "label": "red"}))
        (model / "preds.jsonl").write_text("\n".join(lines) + "\n")
        manifest = "task: image-classification\nformat: predictions\npredictions: preds.jsonl\n"
    elif break_it == "handler-raises":
        handler = (
            "class H:\n    def __init__(self, d): pass\n    def predict(self, b): "
            "raise RuntimeError('boom')\n"
        )
    if break_it != "no-manifest":
        (model / "assay.yaml").write_text(manifest)
    if handler:
        (model / "h.py").write_text(handler)
    commit_dir("dataset", "c", "d", data, monkeypatch)
    commit_dir("model", "c", "m", model, monkeypatch)
    v = _run("c/m", "c/d", "bad")
    assert v.status == "Failed"
    assert message in v.data["message"], v.data["message"]
    assert v.data["evaluationId"] is None and hub.list_evaluation() == []
    assert os.environ.get("ASSAY_API_KEY") is None


def test_built_in_jobs_refuse_code_and_bad_shards(home: Path) -> None:
    hub.create_folder(type_="model", name="x").create_asset(name="m")
    hub.create_folder(type_="dataset", name="x").create_asset(name="d")
    with pytest.raises(errors.InvalidInput, match="takes no --code"):
        hub.create_job(
            name="j",
            type="image-classification",
            model="x/m",
            dataset="x/d",
            code="x/m",
            launch="a.py",
        )
    for shards in (0, 65, "two"):
        with pytest.raises(errors.InvalidInput, match="shards must be"):
            hub.create_job(
                name="j",
                type="image-classification",
                model="x/m",
                dataset="x/d",
                params={"shards": shards},
            )
    with pytest.raises(errors.InvalidInput, match="unknown evaluation type"):
        hub.create_job(name="j", type="speech", model="x/m", dataset="x/d")
    assert hub.list_jobs() == []
