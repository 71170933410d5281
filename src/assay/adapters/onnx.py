"""Running an ONNX model with onnxruntime: CUDA when asked for and present, else CPU."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from assay.adapters.manifest import OnnxSpec
from assay.core.errors import InvalidInput


class OnnxModel:
    def __init__(self, model_dir: Path, spec: OnnxSpec, *, device: str = "cpu") -> None:
        import onnxruntime as ort

        path = model_dir / spec.file
        if not path.is_file():
            raise InvalidInput(
                f"assay.yaml names ONNX file {spec.file!r}, which the model commit does not hold"
            )
        providers = ["CPUExecutionProvider"]
        if device == "cuda" and "CUDAExecutionProvider" in ort.get_available_providers():
            providers.insert(0, "CUDAExecutionProvider")
        options = ort.SessionOptions()
        options.log_severity_level = 3
        # A task's CPU request caps the threads (the worker sets ASSAY_CPUS); outside a task,
        # onnxruntime picks.
        options.intra_op_num_threads = int(os.environ.get("ASSAY_CPUS", "0"))
        try:
            self.session = ort.InferenceSession(str(path), options, providers=providers)
        except Exception as exc:  # onnxruntime raises its own untyped errors
            raise InvalidInput(f"{spec.file} is not a loadable ONNX model: {exc}") from None
        inputs = {i.name: i for i in self.session.get_inputs()}
        self.input = spec.input or next(iter(inputs))
        if self.input not in inputs:
            raise InvalidInput(
                f"assay.yaml names input {self.input!r}, but {spec.file} has "
                f"inputs {', '.join(inputs)}"
            )
        shape = inputs[self.input].shape
        h, w = spec.size
        c = 1 if spec.color == "gray" else 3
        expected = (c, h, w) if spec.layout == "NCHW" else (h, w, c)
        declared = tuple(shape[1:]) if len(shape) == 4 else None
        if declared is None or any(
            isinstance(d, int) and d != e for d, e in zip(declared, expected, strict=True)
        ):
            raise InvalidInput(
                f"{spec.file} input {self.input!r} has shape {shape}, which does "
                f"not match the manifest's {spec.layout} {expected}"
            )
        outputs = [o.name for o in self.session.get_outputs()]
        self.spec = spec
        if spec.output == "detections":
            missing = [
                n
                for n in (spec.boxes_output, spec.scores_output, spec.labels_output)
                if n not in outputs
            ]
            if missing:
                raise InvalidInput(
                    f"{spec.file} has no output(s) {missing}; it has {', '.join(outputs)}"
                )
        self.output = spec.output_name or outputs[0]
        if self.output not in outputs:
            raise InvalidInput(
                f"assay.yaml names output {self.output!r}; {spec.file} has {', '.join(outputs)}"
            )
        self.logits = spec.output == "logits"

    def detect(
        self, image: NDArray[Any], width: int, height: int
    ) -> list[tuple[list[float], float, int]]:
        """(box [x, y, w, h] in original image pixels, score, label) of one image."""
        spec = self.spec
        boxes, scores, labels = self.session.run(
            [spec.boxes_output, spec.scores_output, spec.labels_output], {self.input: image}
        )
        boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
        scores = np.asarray(scores, dtype=np.float64).reshape(-1)
        labels = np.asarray(labels).reshape(-1)
        if not len(boxes) == len(scores) == len(labels):
            raise InvalidInput("the model's boxes, scores and labels differ in length")
        in_h, in_w = spec.size
        sx, sy = (width, height) if spec.boxes_normalized else (width / in_w, height / in_h)
        out = []
        for (a, b, c, d), score, label in zip(boxes, scores, labels, strict=True):
            w, h = (c - a, d - b) if spec.box_format == "xyxy" else (c, d)
            out.append(([a * sx, b * sy, w * sx, h * sy], float(score), int(label)))
        return out

    def pixel_scores(self, image: NDArray[Any]) -> NDArray[np.float64]:
        """Per-pixel class scores (classes, height, width) of one image."""
        out = np.asarray(self.session.run([self.output], {self.input: image})[0])
        if out.ndim != 4 or out.shape[0] != 1:
            raise InvalidInput(
                f"the model's output has shape {out.shape}, not (1, classes, height, width)"
            )
        result: NDArray[np.float64] = out[0].astype(np.float64)
        return result

    def scores(self, batch: NDArray[Any]) -> NDArray[np.float64]:
        out = np.asarray(self.session.run([self.output], {self.input: batch})[0], dtype=np.float64)
        if out.ndim != 2:
            raise InvalidInput(f"the model's output has shape {out.shape}, not (batch, classes)")
        if self.logits:
            out = np.exp(out - out.max(axis=1, keepdims=True))
            out /= out.sum(axis=1, keepdims=True)
        return out
