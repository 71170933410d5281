"""End to end: an ONNX digits classifier over 22,204 PNG images through a whole
image-classification job (2 shards on this machine's 2 cores) vs raw onnxruntime over the same
images already decoded into batches (the limit). Prints Assay's share of the limit.

The job's time is its version's start to finish: materialising inputs, decoding PNGs,
preprocessing, inference, the merge with metrics, per-sample Parquet and pictures.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import numpy as np
import onnxruntime as ort
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
COPIES = 13  # x 1,708 test digits


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="assay-bench-"))
    os.environ["ASSAY_HOME"] = str(work / "home")
    try:
        spec = importlib.util.spec_from_file_location("prep", ROOT / "examples/digits/prepare.py")
        assert spec and spec.loader
        prep = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(prep)
        prep.prepare(work / "model", work / "small", test_size=0.95)
        data = work / "data"
        for copy in range(COPIES):  # the same test images, many times, as new files
            for png in (work / "small").glob("*/*.png"):
                target = data / png.parent.name / f"{copy}-{png.name}"
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(png, target)
        shutil.copyfile(work / "small" / "labels.txt", data / "labels.txt")
        files = sorted(data.glob("*/*.png"))

        # The limit: onnxruntime alone on decoded, preprocessed batches of 256.
        session = ort.InferenceSession(str(work / "model" / "model.onnx"))
        arrays = np.stack([np.asarray(Image.open(f), dtype=np.float32) / 15 for f in files])
        arrays = arrays[:, None]
        t = time.perf_counter()
        for start in range(0, len(arrays), 256):
            session.run(["probabilities"], {"image": arrays[start : start + 256]})
        raw = time.perf_counter() - t

        # A hand-written script: decode, preprocess and infer in one process.
        t = time.perf_counter()
        for start in range(0, len(files), 256):
            batch = np.stack(
                [
                    np.asarray(Image.open(f), dtype=np.float32) / 15
                    for f in files[start : start + 256]
                ]
            )[:, None]
            session.run(["probabilities"], {"image": batch})
        loop = time.perf_counter() - t

        from assay import hub

        hub.create_folder(type_="model", name="d").create_asset(name="m").create_commit(
            message="m", add=[str(work / "model" / n) for n in ("model.onnx", "assay.yaml")]
        )
        os.chdir(data)
        hub.create_folder(type_="dataset", name="d").create_asset(name="t").create_commit(
            message="t", add=["."]
        )
        v = (
            hub.create_job(
                name="bench",
                type="image-classification",
                model="d/m",
                dataset="d/t",
                params={"batch_size": 256, "shards": 2},
                cpu=1,
            )
            .get_version("V0001")
            .wait(timeout=1800)
        )
        assert v.status == "Completed", v.data["message"]
        start = datetime.fromisoformat(v.data["startedAt"].replace("Z", "+00:00"))
        end = datetime.fromisoformat(v.data["finishedAt"].replace("Z", "+00:00"))
        job = (end - start).total_seconds()
        n = len(files)
        print(f"ONNX image classification, {n:,} PNG images of 8x8, batch 256")
        print(f"  raw onnxruntime (decoded batches)  {raw:7.2f} s  {n / raw:10,.0f} img/s")
        print(f"  decode + infer loop, one process   {loop:7.2f} s  {n / loop:10,.0f} img/s")
        print(
            f"  whole Assay job (2 shards + merge) {job:7.2f} s  {n / job:10,.0f} img/s   "
            f"share of the limit {raw / job:.1%}, of the loop {loop / job:.0%}"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
