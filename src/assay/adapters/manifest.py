"""``assay.yaml``: how Assay runs (or reads the outputs of) a model commit. See docs/models.md."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from assay.core.errors import InvalidInput


class OnnxSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    file: str
    input: str | None = None  # the input's name; default the model's first input
    layout: Literal["NCHW", "NHWC"] = "NCHW"
    size: tuple[int, int]  # (height, width) images are resized to
    color: Literal["rgb", "bgr", "gray"] = "rgb"
    scale: float = 1.0 / 255.0  # applied to 0..255 pixel values first
    mean: list[float] = Field(default_factory=lambda: [0.0])
    std: list[float] = Field(default_factory=lambda: [1.0])
    output: Literal["probabilities", "logits", "detections", "pixel_scores"] = "probabilities"
    output_name: str | None = None  # default the model's first output
    dtype: Literal["float32", "float64"] = "float32"
    # detection: three outputs per image (batch 1): boxes (N, 4), scores (N), labels (N)
    boxes_output: str = "boxes"
    scores_output: str = "scores"
    labels_output: str = "labels"
    box_format: Literal["xyxy", "xywh"] = "xyxy"
    boxes_normalized: bool = False  # boxes in 0..1 of the input rather than input pixels


class ModelManifest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    task: str
    format: Literal["onnx", "handler", "predictions"]
    labels: list[str] | None = None  # the model's class order; default the dataset's
    onnx: OnnxSpec | None = None
    handler: str | None = None  # package.module:Class, importable from the model commit
    predictions: str | None = None  # path in the model commit

    @model_validator(mode="after")
    def _form_fields(self) -> ModelManifest:
        needed = {"onnx": self.onnx, "handler": self.handler, "predictions": self.predictions}
        if needed[self.format] is None:
            raise ValueError(f"format {self.format} needs the field '{self.format}'")
        return self


def load(model_dir: Path, task: str) -> ModelManifest:
    path = model_dir / "assay.yaml"
    if not path.exists():
        raise InvalidInput(
            "the model commit has no assay.yaml saying how to run it (see docs/models.md)"
        )
    try:
        raw = yaml.safe_load(path.read_text())
        manifest = ModelManifest.model_validate(raw)
    except yaml.YAMLError as exc:
        raise InvalidInput(f"assay.yaml is not valid YAML: {exc}") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise InvalidInput(f"assay.yaml: {where}: {first['msg']}") from None
    if manifest.task != task:
        raise InvalidInput(f"assay.yaml says task {manifest.task!r}, but the job is {task!r}")
    return manifest
