"""Loading whichever runnable form a manifest names, the same way for every task."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from assay.adapters import handler as handlers
from assay.adapters.manifest import ModelManifest
from assay.adapters.onnx import OnnxModel
from assay.core.errors import InvalidInput


def load(
    model_dir: Path, manifest: ModelManifest, params: dict[str, Any]
) -> tuple[OnnxModel | None, Any]:
    """(ONNX model, handler instance): one of them, as the manifest's format says."""
    if manifest.onnx is not None:
        return OnnxModel(model_dir, manifest.onnx, device=str(params.get("device", "cpu"))), None
    if manifest.handler is not None:
        return None, handlers.load(model_dir, manifest.handler)
    raise InvalidInput(f"format {manifest.format} has no model to run")


def predict(handler: Any, batch: list[Any], first: str) -> Any:
    """Call a handler, turning whatever it raises into a clear error naming the sample."""
    try:
        return handler.predict(batch)
    except Exception as exc:
        raise InvalidInput(
            f"the handler raised {exc!r} on a batch starting with {first!r}"
        ) from None
