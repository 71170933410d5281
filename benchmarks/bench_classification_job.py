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
    """Seconds onnxruntime alone takes over the decoded batches (default session options:
    all cores), after a warm-up batch."""
    session = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    session.run([output], {"image": arrays[:BATCH]})
    t = time.perf_counter()
    for start in range(0, len(arrays), BATCH):
        session.run([output], {"image": arrays[start : start + BATCH]})
    return time.perf_counter() - t


def _seconds(v: Any) -> float:
    assert v.status == "Completed", v.data["message"]
    start = datetime.fromisoformat(v.data["startedAt"].replace("Z", "+00:00"))
    end = datetime.fromisoformat(v.data["finishedAt"].replace("Z", "+00:00"))
    return (end - start).total_seconds()


def _register(name: str, model_dir: Path, data_dir: Path) -> None:
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


# The job settings compared: (label, shards, CPUs per task). On two cores, either two
# one-CPU shards (then a merge task) or one two-CPU task that scores and merges.
SETTINGS = (("2 shards x 1 CPU", 2, 1), ("1 task x 2 CPUs", 1, 2))


def _version(name: str, shards: int, cpu: int, cache: bool) -> float:
    """Seconds of one version of ``name``'s job with these settings; ``cache`` False makes it
    decode every image (as the first evaluation of a dataset does)."""
    from assay import hub
    from assay.errors import NotFound

    params = {"batch_size": BATCH, "shards": shards, "decode_cache": cache}
    job_name = f"bench-{name}"
    try:
        job = hub.get_job(job_name)
    except NotFound:
        job = hub.create_job(
            name=job_name,
            type="image-classification",
            model=f"{name}/m",
            dataset=f"{name}/t",
            params=params,
            cpu=cpu,
        )
        return _seconds(job.get_version("V0001").wait(timeout=1800))
    return _seconds(job.create_version(params=params, cpu=cpu).wait(timeout=1800))


def _rounds(
    name: str, limit: Callable[[], float], rounds: int
) -> tuple[list[float], dict[str, list[float]], dict[str, list[float]]]:
    """Each job setting ``rounds`` times, with raw onnxruntime measured before and after
    every version: this machine's speed drifts by a fifth over minutes, so a version's share
    is taken against the mean of the two raw passes around it. Returns the raw times, and
    the job times and shares by setting."""
    _version(name, 1, 2, cache=True)  # fills the decoded-pixel cache for both settings
    _version(name, 2, 1, cache=True)
    raws = [limit()]
    times: dict[str, list[float]] = {}
    shares: dict[str, list[float]] = {}
    for _ in range(rounds):
        for label, shards, cpu in SETTINGS:
            for cache in (False, True):
                key = f"{label}, {'pixel cache' if cache else 'decoding'}"
                job = _version(name, shards, cpu, cache)
                raws.append(limit())
                times.setdefault(key, []).append(job)
                shares.setdefault(key, []).append((raws[-2] + raws[-1]) / 2 / job)
    return raws, times, shares


def main() -> None:
    rounds = int(os.environ.get("ASSAY_BENCH_ROUNDS", "2"))
    only = os.environ.get("ASSAY_BENCH_MODELS", "cnn,logreg").split(",")
    work = Path(tempfile.mkdtemp(prefix="assay-bench-"))
    os.environ["ASSAY_HOME"] = str(work / "home")
    try:
        logreg, small = _digits(work)
        _cnn(work / "cnn")
        cases = {
            "cnn": (work / "cnn", work / "cnn-data", 12, _tinted, "logits", "64x64 RGB"),
            "logreg": (logreg, work / "digits", 13, Image.open, "probabilities", "8x8 grey"),
        }
        print(
            f"ONNX image classification through a whole job vs raw onnxruntime, batch {BATCH};"
            f" {rounds} rounds; share = raw / job, raw the mean of the passes just before and"
            " after the version; medians shown"
        )
        for name, (model_dir, data_dir, copies, convert, output, kind) in cases.items():
            if name not in only:
                continue
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
            arrays = np.ascontiguousarray(arrays)
            _register(name, model_dir, data_dir)
            raws, times, shares = _rounds(
                name, lambda m=model_dir, a=arrays, o=output: _limit(m / "model.onnx", a, o), rounds
            )
            del arrays
            print(f"{name}: {n:,} PNG images of {kind}")
            print(
                f"  raw onnxruntime (decoded batches)            {np.median(raws):7.2f} s"
                f"  {n / np.median(raws):8,.0f} img/s   passes: "
                + ", ".join(f"{t:.1f}" for t in raws)
            )
            for key, job in times.items():
                print(
                    f"  job, {key:<40} {np.median(job):7.2f} s  {n / np.median(job):8,.0f} img/s"
                    f"   share {np.median(shares[key]):6.1%}  (each: "
                    + ", ".join(f"{x:.0%}" for x in shares[key])
                    + ")"
                )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
