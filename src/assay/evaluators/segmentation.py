"""Semantic segmentation: mIoU, pixel accuracy, mean accuracy, fwIoU, mDice, per-class IoU
and accuracy, with the ignore index honoured; one row per image.

Each shard adds its images into one confusion matrix (integers, so the merge's sum is exact)
and keeps no per-pixel arrays, so memory stays flat however many images there are.
"""

from __future__ import annotations

import heapq
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from numpy.typing import NDArray
from PIL import Image

from assay.adapters import manifest as manifests
from assay.adapters import runtime
from assay.adapters.images import open_image, prefetched, preprocess
from assay.core.errors import InvalidInput
from assay.evaluators import plots
from assay.evaluators.registry import Stage, evaluator
from assay.formats import Files
from assay.formats import segmentation as dataset
from assay.metrics.segmentation import from_confusion, from_counts, image_counts, update

TASK = "semantic-segmentation"
WORST = 8  # images drawn in worst_samples.png


def _png(mask: NDArray[Any]) -> bytes:
    out = io.BytesIO()
    Image.fromarray(mask.astype(np.uint8)).save(out, "PNG", optimize=False, compress_level=6)
    return out.getvalue()


def _resize_nearest(pred: NDArray[Any], shape: tuple[int, int]) -> NDArray[Any]:
    if pred.shape == shape:
        return pred
    img = Image.fromarray(pred.astype(np.uint8))
    return np.asarray(img.resize((shape[1], shape[0]), Image.Resampling.NEAREST))


@evaluator(TASK)
class SemanticSegmentation:
    name = TASK

    def run_shard(self, stage: Stage) -> None:
        data = dataset.load(stage.data_dir)
        files = Files(stage.data_dir)
        manifest = manifests.load(stage.model_dir, TASK)
        n = len(data.classes)
        ignore = int(stage.params.get("ignore_index", 255))
        items = data.shard(stage.shard, stage.shards)
        model, handler = (
            (None, None)
            if manifest.format == "predictions"
            else runtime.load(stage.model_dir, manifest, stage.params)
        )
        pred_dir = (
            stage.model_dir / manifest.predictions if manifest.predictions is not None else None
        )
        if pred_dir is not None:
            if not pred_dir.is_dir():
                raise InvalidInput(
                    f"predictions directory {manifest.predictions} is not in the model commit"
                )
            if stage.shard == 0:
                known = {Path(m).name for _, m in data.samples}
                extra = sorted(p.name for p in pred_dir.glob("*.png") if p.name not in known)
                if extra:
                    raise InvalidInput(
                        f"predicted mask {extra[0]} is for an image not in the dataset"
                    )
        cm = np.zeros((n, n), dtype=np.int64)
        worst: list[tuple[float, int, str, str, NDArray[Any]]] = []
        worst_seen: list[str] = []
        rows: dict[str, list[Any]] = {
            k: []
            for k in (
                "id",
                "mask",
                "pixel_accuracy",
                "IoU",
                "hits",
                "truth_pixels",
                "pred_pixels",
                "pred_mask",
            )
        }

        def decode(item: tuple[str, str]) -> tuple[Any, NDArray[Any]]:
            image_path, mask_path = item
            picture = open_image(files.require(image_path, "image"), image_path)
            size = (picture.height, picture.width)
            truth = dataset.read_mask(files.require(mask_path, "mask"), mask_path, n, ignore, size)
            return picture, truth

        for (image_path, mask_path), (picture, truth) in zip(
            items, prefetched(items, decode), strict=True
        ):
            size = (picture.height, picture.width)
            if pred_dir is not None:
                name = Path(mask_path).name
                if not (pred_dir / name).is_file():
                    raise InvalidInput(f"no predicted mask {name} for image {image_path}")
                pred = dataset.read_mask(pred_dir / name, f"prediction {name}", n, ignore, size)
            elif model is not None:
                assert manifest.onnx is not None
                scores = model.pixel_scores(preprocess([picture], manifest.onnx))
                pred = _resize_nearest(scores.argmax(axis=0), size)
            else:
                assert handler is not None
                pred = np.asarray(runtime.predict(handler, [picture], image_path)[0])
                if pred.shape != size:
                    raise InvalidInput(
                        f"the handler's mask for {image_path} is {pred.shape}, not {size}"
                    )
            if ((pred >= n) | (pred < 0)).any():
                raise InvalidInput(
                    f"the prediction for {image_path} has class indices outside 0..{n - 1}"
                )
            update(cm, truth, pred, ignore)
            hits, truth_pixels, pred_pixels = image_counts(truth, pred, n, ignore)
            image = from_counts(hits, truth_pixels, pred_pixels)
            accuracy, iou = float(image["pixel_accuracy"]), float(image["mIoU"])
            # Keep the predicted masks of the few worst images only: memory stays bounded.
            heapq.heappush(worst, (-iou, len(worst_seen), image_path, mask_path, pred))
            worst_seen.append(image_path)
            if len(worst) > WORST:
                heapq.heappop(worst)
            rows["id"].append(image_path)
            rows["mask"].append(mask_path)
            rows["pixel_accuracy"].append(accuracy)
            rows["IoU"].append(iou)
            # Per-class pixel counts: comparisons bootstrap mIoU & co. over images from them.
            rows["hits"].append(hits.tolist())
            rows["truth_pixels"].append(truth_pixels.tolist())
            rows["pred_pixels"].append(pred_pixels.tolist())
            rows["pred_mask"].append(_png(pred))  # for the console's preview, a few KB each
        kept = stage.output_dir / "worst"
        kept.mkdir(exist_ok=True)
        listed = []
        for k, (neg_iou, _, image_path, mask_path, pred) in enumerate(worst):
            Image.fromarray(pred.astype(np.uint8)).save(kept / f"{k}.png")
            listed.append(
                {"file": f"{k}.png", "image": image_path, "mask": mask_path, "IoU": -neg_iou}
            )
        (kept / "worst.json").write_text(json.dumps(listed))
        np.save(stage.output_dir / "confusion.npy", cm)
        table = pa.table({**rows, "pred_mask": pa.array(rows["pred_mask"], pa.binary())})
        pq.write_table(table, stage.output_dir / "rows.parquet")
        (stage.output_dir / "classes.json").write_text(json.dumps(data.classes))
        print(f"[assay] shard {stage.shard + 1}/{stage.shards}: {len(items)} images", flush=True)

    def _draw_worst(self, stage: Stage, n: int, path: Path) -> None:
        """Image, true mask and predicted mask side by side, for the lowest-IoU images."""
        candidates = []
        for d in stage.shard_dirs:
            for item in json.loads((d / "worst" / "worst.json").read_text()):
                candidates.append((item["IoU"], d / "worst" / item["file"], item))
        files = Files(stage.data_dir)
        palette = (np.array(plots.palette(n)) * 255).astype(np.uint8)
        samples: list[tuple[Any, str, list[plots.Box]]] = []
        for iou, pred_file, item in sorted(candidates, key=lambda c: c[0])[:WORST]:
            image_file, mask_file = files.get(item["image"]), files.get(item["mask"])
            if image_file is None or mask_file is None:
                continue
            picture = np.asarray(open_image(image_file, item["image"]).convert("RGB"))
            truth = np.asarray(Image.open(mask_file))
            pred = np.asarray(Image.open(pred_file))
            shown = [picture, palette[np.where(truth < n, truth, 0)], palette[pred]]
            gap = np.full((picture.shape[0], 2, 3), 255, dtype=np.uint8)
            row = np.concatenate([shown[0], gap, shown[1], gap, shown[2]], axis=1)
            samples.append(
                (
                    Image.fromarray(row),
                    f"{item['image']}  IoU {iou:.2f}\nimage | truth | prediction",
                    [],
                )
            )
        plots.sample_grid(samples, "Lowest-IoU images", path)

    def merge(self, stage: Stage) -> None:
        classes: list[str] = json.loads((stage.shard_dirs[0] / "classes.json").read_text())
        cm = sum(
            (np.load(d / "confusion.npy") for d in stage.shard_dirs),
            np.zeros((len(classes), len(classes)), dtype=np.int64),
        )
        metrics = from_confusion(cm, classes)
        (stage.output_dir / "metrics.json").write_text(json.dumps(metrics, allow_nan=False))
        table = pa.concat_tables([pq.read_table(d / "rows.parquet") for d in stage.shard_dirs])
        pq.write_table(table, stage.output_dir / "samples.parquet")
        artifacts = stage.output_dir / "artifacts"
        artifacts.mkdir(exist_ok=True)
        plots.per_class_bars(
            {k: v["IoU"] for k, v in metrics["per_class"].items()},
            "IoU",
            artifacts / "per_class_iou.png",
        )
        plots.confusion_matrix(cm, classes, artifacts / "confusion_matrix.png")
        self._draw_worst(stage, len(classes), artifacts / "worst_samples.png")
        print(f"[assay] merged {table.num_rows} images: mIoU {metrics['mIoU']:.4f}", flush=True)
