"""End to end: an ONNX image classifier over >= 20,000 PNG images through a whole
image-classification job (2 shards of 1 CPU each on this machine's 2 cores) vs raw onnxruntime
over the same images already decoded into batches of 256 (the limit). Prints Assay's share of
the limit for two models:

- ``cnn``: a convolutional network (3 conv layers, 64/128/256 channels, random weights) on
  64x64 RGB images: about 160 M multiply-adds per image, what a ResNet-18 costs at that
  resolution, so inference costs what real models cost;
- ``logreg``: the demo's logistic regression on 8x8 grey digits: inference is nearly free, so
  this row measures Assay's fixed costs (worker start, decoding, merge, pictures).

The job's time is its version's start to finish: materialising inputs, decoding PNGs,
preprocessing, inference, the merge with metrics, per-sample Parquet and pictures. Each
model is evaluated twice: the first evaluation of the dataset decodes it, the second maps
the pixels the first kept (the decoded-pixel cache), as every later evaluation of the same
dataset commit does.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
BATCH = 256

CNN_MANIFEST = """\
task: image-classification
format: onnx
labels: ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"]
onnx:
  file: model.onnx
  input: image
  layout: NCHW
  size: [64, 64]
  color: rgb
  output: logits
"""


def _digits(work: Path) -> tuple[Path, Path]:
    spec = importlib.util.spec_from_file_location("prep", ROOT / "examples/digits/prepare.py")
    assert spec and spec.loader
    prep = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(prep)
    prep.prepare(work / "logreg", work / "small", test_size=0.95)
    return work / "logreg", work / "small"


def _copies(
    source: Path, target: Path, copies: int, convert: Callable[[Path], Image.Image]
) -> None:
    """The source's test images ``copies`` times over, as new files, converted."""
    for png in sorted(source.glob("*/*.png")):
        image = convert(png)
        for copy in range(copies):
            out = target / png.parent.name / f"{copy}-{png.name}"
            out.parent.mkdir(parents=True, exist_ok=True)
            image.save(out)
    shutil.copyfile(source / "labels.txt", target / "labels.txt")


def _tinted(png: Path) -> Image.Image:
    """An 8x8 digit as a 64x64 colour picture (smooth, so PNG sizes stay realistic)."""
    grey = Image.open(png).resize((64, 64), Image.Resampling.BILINEAR)
    a = np.asarray(grey, dtype=np.float32) / 240
    rgb = np.stack([a * 250, a * 120 + 40, (1 - a) * 200], axis=-1)
    return Image.fromarray(rgb.astype(np.uint8))


def _cnn(model_dir: Path) -> None:
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    nodes, weights, previous, channels = [], [], "image", 3
    for i, width in enumerate((64, 128, 256)):
        w = rng.standard_normal((width, channels, 3, 3)) * (2 / (channels * 9)) ** 0.5
        weights.append(numpy_helper.from_array(w.astype(np.float32), f"w{i}"))
        stride = 1 if i == 0 else 2
        nodes += [
            helper.make_node(
                "Conv", [previous, f"w{i}"], [f"c{i}"], pads=[1] * 4, strides=[stride] * 2
            ),
            helper.make_node("Relu", [f"c{i}"], [f"r{i}"]),
        ]
        previous, channels = f"r{i}", width
    weights.append(
        numpy_helper.from_array(
            (rng.standard_normal((channels, 10)) * 0.1).astype(np.float32), "fc"
        )
    )
    nodes += [
        helper.make_node("GlobalAveragePool", [previous], ["pooled"]),
        helper.make_node("Flatten", ["pooled"], ["flat"]),
        helper.make_node("MatMul", ["flat", "fc"], ["logits"]),
    ]
    graph = helper.make_graph(
        nodes,
        "cnn",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 3, 64, 64])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 10])],
        weights,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 9
    model_dir.mkdir(parents=True)
    onnx.save(model, model_dir / "model.onnx")
    (model_dir / "assay.yaml").write_text(CNN_MANIFEST)


def _limit(model: Path, arrays: Any, output: str) -> float:
    """Seconds onnxruntime alone takes over the decoded batches (default session options),
    the best of two passes: this machine's timings wander by a fifth between runs."""
    session = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    session.run([output], {"image": arrays[:BATCH]})  # warm up
    best = float("inf")
    for _ in range(2):
        t = time.perf_counter()
        for start in range(0, len(arrays), BATCH):
            session.run([output], {"image": arrays[start : start + BATCH]})
        best = min(best, time.perf_counter() - t)
    return best


def _seconds(v: Any) -> float:
    assert v.status == "Completed", v.data["message"]
    start = datetime.fromisoformat(v.data["startedAt"].replace("Z", "+00:00"))
    end = datetime.fromisoformat(v.data["finishedAt"].replace("Z", "+00:00"))
    return (end - start).total_seconds()


def _job(name: str, model_dir: Path, data_dir: Path) -> tuple[float, float]:
    """Seconds of the first evaluation of the dataset (decoding it), then of a second one
    (its pixels from the decoded-pixel cache)."""
    from assay import hub

    hub.create_folder(type_="model", name=name).create_asset(name="m").create_commit(
        message="m", add=[str(model_dir / n) for n in ("model.onnx", "assay.yaml")]
    )
    here = os.getcwd()
    os.chdir(data_dir)
    try:
        hub.create_folder(type_="dataset", name=name).create_asset(name="t").create_commit(
            message="t", add=["."]
        )
    finally:
        os.chdir(here)
    job = hub.create_job(
        name=f"bench-{name}",
        type="image-classification",
        model=f"{name}/m",
        dataset=f"{name}/t",
        params={"batch_size": BATCH, "shards": 2},
        cpu=1,
    )
    cold = _seconds(job.get_version("V0001").wait(timeout=1800))
    warm = _seconds(job.create_version().wait(timeout=1800))
    return cold, warm


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="assay-bench-"))
    os.environ["ASSAY_HOME"] = str(work / "home")
    try:
        logreg, small = _digits(work)
        _cnn(work / "cnn")
        cases = {
            "cnn": (work / "cnn", work / "cnn-data", 12, _tinted, "logits", "64x64 RGB"),
            "logreg": (logreg, work / "digits", 13, Image.open, "probabilities", "8x8 grey"),
        }
        print(f"ONNX image classification through a whole job, batch {BATCH}, 2 shards x 1 CPU")
        for name, (model_dir, data_dir, copies, convert, output, kind) in cases.items():
            _copies(small, data_dir, copies, convert)
            files = sorted(data_dir.glob("*/*.png"))
            n = len(files)
            if name == "cnn":
                arrays = np.stack(
                    [np.asarray(Image.open(f), dtype=np.float32) / 255 for f in files]
                ).transpose(0, 3, 1, 2)
            else:
                arrays = np.stack(
                    [np.asarray(Image.open(f), dtype=np.float32) / 15 for f in files]
                )[:, None]
            raw = _limit(model_dir / "model.onnx", np.ascontiguousarray(arrays), output)
            del arrays
            cold, warm = _job(name, model_dir, data_dir)
            print(f"{name}: {n:,} PNG images of {kind}")
            print(f"  raw onnxruntime (decoded batches) {raw:7.2f} s  {n / raw:10,.0f} img/s")
            for label, job in (("first evaluation (decodes)", cold), ("next (pixel cache)", warm)):
                print(
                    f"  whole Assay job, {label:<26} {job:7.2f} s  {n / job:10,.0f} img/s"
                    f"   share of the limit {raw / job:.1%}"
                )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
