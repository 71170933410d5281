"""Object detection: the twelve COCO bbox numbers and per-class AP, one row per image.

Each shard writes its images' detections in COCO results form; the merge evaluates all of
them at once against the whole ground truth, so sharding never changes a number.
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from assay.adapters import manifest as manifests
from assay.adapters import runtime
from assay.adapters.images import open_image, prefetched, preprocess
from assay.core.errors import InvalidInput
from assay.evaluators import plots
from assay.evaluators.registry import Stage, evaluator
from assay.formats import Files, coco
from assay.metrics.coco_images import MAX_DETS, match_image
from assay.metrics.detection import coco_bbox

TASK = "object-detection"
WORST = 8  # images drawn in worst_samples.png
SHOWN_SCORE = 0.3


def _check_detection(d: Any, where: str, image_ids: set[int], categories: set[int]) -> None:
    if not isinstance(d, dict):
        raise InvalidInput(f"{where} is not an object")
    if d.get("image_id") not in image_ids:
        raise InvalidInput(
            f"{where} is for image {d.get('image_id')!r}, which is not in the dataset"
        )
    if d.get("category_id") not in categories:
        raise InvalidInput(
            f"{where} has category {d.get('category_id')!r}, not a category of the dataset"
        )
    box = d.get("bbox")
    if (
        not isinstance(box, list)
        or len(box) != 4
        or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in box)
    ):
        raise InvalidInput(f"{where} bbox must be [x, y, width, height]")
    if not isinstance(d.get("score"), int | float) or isinstance(d.get("score"), bool):
        raise InvalidInput(f"{where} needs a numeric score")


def _dt_boxes(dets: list[dict[str, Any]], categories: list[int]) -> list[list[float]]:
    """One image's detection boxes [x, y, w, h] in ``match_image``'s order: by category,
    then by score (stable), at most ``MAX_DETS`` per category."""
    boxes: list[list[float]] = []
    for cat in sorted(set(categories)):
        mine = [d for d in dets if d["category_id"] == cat]
        mine.sort(key=lambda d: -float(d["score"]))  # stable, like argsort(kind="mergesort")
        boxes += [[float(v) for v in d["bbox"]] for d in mine[:MAX_DETS]]
    return boxes


@evaluator(TASK)
class ObjectDetection:
    name = TASK

    def run_shard(self, stage: Stage) -> None:
        data = coco.load(stage.data_dir)
        files = Files(stage.data_dir)
        manifest = manifests.load(stage.model_dir, TASK)
        images = data.shard(stage.shard, stage.shards)
        ids = {im["id"] for im in images}
        all_ids = {im["id"] for im in data.images}
        cats = set(data.categories)
        by_name = {name: cid for cid, name in data.categories.items()}
        detections: list[dict[str, Any]] = []
        if manifest.format == "predictions":
            assert manifest.predictions is not None
            path = stage.model_dir / manifest.predictions
            try:
                given = json.loads(path.read_text())
            except (OSError, ValueError) as exc:
                raise InvalidInput(
                    f"predictions file {manifest.predictions} is not readable "
                    f"COCO results JSON: {exc}"
                ) from None
            if not isinstance(given, list):
                raise InvalidInput(f"{manifest.predictions} must be a JSON list of detections")
            for i, d in enumerate(given):
                _check_detection(d, f"{manifest.predictions}[{i}]", all_ids, cats)
                if d["image_id"] in ids:
                    detections.append(
                        {k: d[k] for k in ("image_id", "category_id", "bbox", "score")}
                    )
        else:
            model, handler = runtime.load(stage.model_dir, manifest, stage.params)
            labels = manifest.labels

            def decode(im: dict[str, Any]) -> Any:
                return open_image(files.require(im["file_name"], "image"), im["file_name"])

            for im, picture in zip(images, prefetched(images, decode), strict=True):
                if model is not None:
                    assert manifest.onnx is not None
                    found = model.detect(
                        preprocess([picture], manifest.onnx), im["width"], im["height"]
                    )
                    raw = [
                        {
                            "bbox": b,
                            "score": s,
                            "category_id": by_name.get(labels[c]) if labels else c,
                        }
                        for b, s, c in found
                    ]
                else:
                    assert handler is not None
                    raw = runtime.predict(handler, [picture], im["file_name"])[0]
                for j, d in enumerate(raw):
                    if isinstance(d, dict) and "label" in d and "category_id" not in d:
                        d = {**d, "category_id": by_name.get(d["label"])}
                    d = {**d, "image_id": im["id"]}
                    _check_detection(d, f"detection {j} of {im['file_name']}", all_ids, cats)
                    detections.append(
                        {k: d[k] for k in ("image_id", "category_id", "bbox", "score")}
                    )
        (stage.output_dir / "detections.json").write_text(json.dumps(detections))
        if stage.shard == 0:  # the merge reads the ground truth from here, not the images
            (stage.output_dir / "ground_truth.json").write_text(json.dumps(data.raw))
        print(
            f"[assay] shard {stage.shard + 1}/{stage.shards}: {len(images)} images, "
            f"{len(detections)} detections",
            flush=True,
        )

    def merge(self, stage: Stage) -> None:
        raw = json.loads((stage.shard_dirs[0] / "ground_truth.json").read_text())
        images = sorted(raw["images"], key=lambda im: im["id"])
        detections: list[dict[str, Any]] = []
        for d in stage.shard_dirs:
            detections += json.loads((d / "detections.json").read_text())
        metrics = coco_bbox(raw, detections)
        curves = metrics.pop("_pr", {})
        (stage.output_dir / "metrics.json").write_text(json.dumps(metrics, allow_nan=False))
        gts: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for ann in raw["annotations"]:
            gts[ann["image_id"]].append(ann)
        dets: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for det in detections:
            dets[det["image_id"]].append(det)
        rows: dict[str, list[Any]] = defaultdict(list)
        for im in images:
            matched = match_image(gts[im["id"]], dets[im["id"]])
            # At IoU 0.5 (bit 0), by COCO's rules: detections on crowd regions count neither way.
            kept = [not ig & 1 for ig in matched["dt_ignore"]]
            tp = sum(1 for m, k in zip(matched["dt_match"], kept, strict=True) if k and m & 1)
            fp = sum(kept) - tp
            missed = len(matched["gt_category"]) - tp
            rows["id"].append(im["id"])
            rows["file"].append(im["file_name"])
            rows["ground_truth"].append(len(gts[im["id"]]))
            rows["detections"].append(len(dets[im["id"]]))
            rows["tp50"].append(tp)
            rows["fp50"].append(fp)
            rows["missed50"].append(missed)
            rows["max_score"].append(max((d["score"] for d in dets[im["id"]]), default=None))
            rows["correct"].append(fp == 0 and missed == 0)
            for key, values in matched.items():  # for the bootstrap of AP over images
                rows[key].append(values)
            # The predicted boxes, aligned with dt_category / dt_score (for previews).
            rows["dt_bbox"].append(_dt_boxes(dets[im["id"]], matched["dt_category"]))
        pq.write_table(pa.table(dict(rows)), stage.output_dir / "samples.parquet")
        artifacts = stage.output_dir / "artifacts"
        artifacts.mkdir(exist_ok=True)
        if curves:
            plots.pr_curves(curves, artifacts / "pr_curves.png")
        plots.per_class_bars(
            {k: max(v["AP"], 0.0) for k, v in metrics["per_class"].items()},
            "AP",
            artifacts / "per_class_ap.png",
        )
        files = Files(stage.data_dir)
        errors = [fp + missed for fp, missed in zip(rows["fp50"], rows["missed50"], strict=True)]
        worst: list[tuple[Any, str, list[plots.Box]]] = []
        for k in sorted(range(len(images)), key=lambda k: -errors[k])[:WORST]:
            im = images[k]
            found = files.get(im["file_name"]) if errors[k] else None
            if found is None:
                continue
            picture = open_image(found, im["file_name"])
            sx, sy = picture.width / im["width"], picture.height / im["height"]
            boxes = [
                ([b[0] * sx, b[1] * sy, b[2] * sx, b[3] * sy], colour)
                for group, colour in (
                    (gts[im["id"]], "lime"),
                    ([d for d in dets[im["id"]] if d["score"] >= SHOWN_SCORE], "red"),
                )
                for b in (g["bbox"] for g in group)
            ]
            caption = f"{im['file_name']}\n{rows['fp50'][k]} false, {rows['missed50'][k]} missed"
            worst.append((picture, caption, boxes))
        plots.sample_grid(
            worst,
            f"Most errors at IoU 0.5 (green: truth, red: score >= {SHOWN_SCORE})",
            artifacts / "worst_samples.png",
        )
        print(f"[assay] merged {len(images)} images: AP {metrics['AP']:.4f}", flush=True)
